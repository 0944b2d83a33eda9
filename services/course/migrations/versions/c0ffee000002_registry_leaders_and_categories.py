"""registry leaders picked from the school's teachers; the provincial center's course categories

Revision ID: c0ffee000002
Revises: c0ffee000001
Create Date: 2026-11-23 18:30:00

A registry entry and a change request name their leader's account (leader_id; entries filed before keep
"" and are matched by the leader's name). Each province's category list starts from the seeds' seven
the first time it is read (services.course.service_layer.categories).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekit.db

revision: str = 'c0ffee000002'
down_revision: str | Sequence[str] | None = 'c0ffee000001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('registry_entries', 'registry_changes'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('leader_id', sa.String(length=36), nullable=False, server_default=''))
    op.create_table(
        'categories',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('province_code', sa.String(length=6), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('retired', sa.Boolean(), nullable=False),
        sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('province_code', 'name', name='uq_categories_province_name'),
    )
    op.create_index('ix_categories_province_code', 'categories', ['province_code'])


def downgrade() -> None:
    op.drop_index('ix_categories_province_code', table_name='categories')
    op.drop_table('categories')
    for table in ('registry_changes', 'registry_entries'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('leader_id')
