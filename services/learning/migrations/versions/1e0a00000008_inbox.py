"""inbox

Revision ID: 1e0a00000008
Revises: 1e0a00000007
Create Date: 2026-12-06 03:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import servicekit.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision: str = '1e0a00000008'
down_revision: Union[str, Sequence[str], None] = '1e0a00000007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('inbox_items',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.Column('read_at', servicekit.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'key', name='uq_inbox_items_user_key')
    )
    op.create_index('ix_inbox_items_user_created', 'inbox_items', ['user_id', 'created_at'], unique=False)
    op.create_table('inbox_reads',
    sa.Column('item_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('read_at', servicekit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('item_id', 'user_id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('inbox_reads')
    op.drop_index('ix_inbox_items_user_created', table_name='inbox_items')
    op.drop_table('inbox_items')
