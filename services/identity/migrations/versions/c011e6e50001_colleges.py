"""colleges, and the teachers' and college admins' college

Revision ID: c011e6e50001
Revises: 342baf056256
Create Date: 2026-12-06 07:30:00

A school's colleges (学院/教学单位); a teacher may belong to one, a college admin (the college's teaching
secretary) always does. Existing users belong to none.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekit.db  # noqa: F401  (custom column types)

revision: str = 'c011e6e50001'
down_revision: str | Sequence[str] | None = '342baf056256'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'colleges',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('school_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('school_id', 'name', name='uq_colleges_school_name'),
    )
    with op.batch_alter_table('colleges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_colleges_school_id'), ['school_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('college_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_college_id'), ['college_id'], unique=False)
        batch_op.create_foreign_key('fk_users_college_id_colleges', 'colleges', ['college_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('fk_users_college_id_colleges', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_college_id'))
        batch_op.drop_column('college_id')

    with op.batch_alter_table('colleges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_colleges_school_id'))

    op.drop_table('colleges')
