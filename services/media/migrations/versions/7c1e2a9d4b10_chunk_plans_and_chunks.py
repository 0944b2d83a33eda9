"""chunk plans and chunks of long sources

Revision ID: 7c1e2a9d4b10
Revises: 392f2fb78584
Create Date: 2026-12-06 23:20:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import servicekit.db  # noqa: F401  (custom column types)


revision: str = '7c1e2a9d4b10'
down_revision: Union[str, Sequence[str], None] = '392f2fb78584'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('chunk_plans',
    sa.Column('asset_id', sa.String(length=36), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=300), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('encoding_json', sa.Text(), nullable=False),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('join_starts', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ),
    sa.PrimaryKeyConstraint('asset_id', 'attempt')
    )
    op.create_table('asset_chunks',
    sa.Column('asset_id', sa.String(length=36), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('start_seconds', sa.Float(), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('updated_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('asset_id', 'attempt', 'index')
    )


def downgrade() -> None:
    op.drop_table('asset_chunks')
    op.drop_table('chunk_plans')
