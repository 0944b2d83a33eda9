"""at risk learners

Revision ID: 1e0a00000009
Revises: 1e0a00000008
Create Date: 2026-12-06 03:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import servicekit.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision: str = '1e0a00000009'
down_revision: Union[str, Sequence[str], None] = '1e0a00000008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('at_risk_sweeps',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('swept_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('flagged', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'day')
    )
    op.create_table('at_risk_flags',
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('class_id', sa.String(length=36), nullable=False),
    sa.Column('class_name', sa.String(length=100), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('reasons_json', sa.Text(), nullable=False),
    sa.Column('completion', sa.Float(), nullable=False),
    sa.Column('last_activity_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.Column('reminded', sa.Boolean(), nullable=False),
    sa.Column('flagged_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'student_id', 'day')
    )
    op.create_index('ix_at_risk_flags_run_day', 'at_risk_flags', ['run_id', 'day'], unique=False)
    op.create_table('at_risk_follow_ups',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('student_id', sa.String(length=36), nullable=False),
    sa.Column('teacher_id', sa.String(length=36), nullable=False),
    sa.Column('teacher_name', sa.String(length=100), nullable=False),
    sa.Column('contacted_on', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_at_risk_follow_ups_run_student', 'at_risk_follow_ups', ['run_id', 'student_id'],
                    unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_at_risk_follow_ups_run_student', table_name='at_risk_follow_ups')
    op.drop_table('at_risk_follow_ups')
    op.drop_index('ix_at_risk_flags_run_day', table_name='at_risk_flags')
    op.drop_table('at_risk_flags')
    op.drop_table('at_risk_sweeps')
