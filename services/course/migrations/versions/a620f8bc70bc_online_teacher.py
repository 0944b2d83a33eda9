"""a run's teacher in charge of the online teaching

Revision ID: a620f8bc70bc
Revises: 1f6d55ac3983
Create Date: 2026-12-06 04:13:28.206817

Seed 004 四(三)4: the course leader names the teacher of the run's team in charge of the online teaching, who
earns the run's workload. Existing runs keep "" (the leader).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a620f8bc70bc'
down_revision: str | Sequence[str] | None = '1f6d55ac3983'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('online_teacher_id', sa.String(length=36), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('online_teacher_id')
