"""roster grants per adopted run

Revision ID: 9d3e1a7c5b20
Revises: 5b0c2f9e7a41
Create Date: 2026-11-23 18:10:00

A grant used to cover every run of the leader; it now names the adopted run. The grants made
before cannot say which run they were for, so they are dropped: the leader asks the adopting
school to adopt again (the sharing service's event makes the new, scoped grant).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekit.db  # noqa: F401  (custom column types)

revision: str = '9d3e1a7c5b20'
down_revision: str | Sequence[str] | None = '5b0c2f9e7a41'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _grants(*key: str) -> None:
    op.create_table(
        'roster_grants',
        sa.Column('leader_id', sa.String(length=36), nullable=False),
        sa.Column('school_id', sa.String(length=36), nullable=False),
        *([sa.Column('run_id', sa.String(length=36), nullable=False)] if 'run_id' in key else []),
        sa.Column('adoption_id', sa.String(length=36), nullable=False),
        sa.Column('granted_at', servicekit.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ),
        sa.PrimaryKeyConstraint(*key),
    )


def upgrade() -> None:
    op.drop_table('roster_grants')
    _grants('leader_id', 'school_id', 'run_id')


def downgrade() -> None:
    op.drop_table('roster_grants')
    _grants('leader_id', 'school_id')
