"""outbox events keep the traceparent of the transaction that wrote them

Revision ID: 7ace5073f03a
Revises: 7c1e2a9d4b10
Create Date: 2026-12-06 23:30:00

Expand only: a nullable column, which rows written before (and processes of the previous release) leave empty;
the relay sends it as the event's traceparent header when present (servicekit.tracing).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7ace5073f03a'
down_revision: str | Sequence[str] | None = '7c1e2a9d4b10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_events') as batch:
        batch.add_column(sa.Column('traceparent', sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_events') as batch:
        batch.drop_column('traceparent')
