"""a class's students keep their own school and its province; students are found by account

Revision ID: c0ffee000005
Revises: c0ffee000004
Create Date: 2026-11-23 20:30:00

A public class takes students of every school (and public learners of none), so the class's school is not the
student's: the student's school's policy sets how many online courses they take at once (seed 002 五(二)).
Rows written before keep "" (the class's school is shown for them).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c0ffee000005'
down_revision: str | Sequence[str] | None = 'c0ffee000004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('class_students') as batch:
        batch.add_column(sa.Column('school_id', sa.String(length=36), nullable=False, server_default=''))
        batch.add_column(sa.Column('province_code', sa.String(length=6), nullable=False, server_default=''))
    op.create_index('ix_class_students_user_id', 'class_students', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_class_students_user_id', table_name='class_students')
    with op.batch_alter_table('class_students') as batch:
        batch.drop_column('province_code')
        batch.drop_column('school_id')
