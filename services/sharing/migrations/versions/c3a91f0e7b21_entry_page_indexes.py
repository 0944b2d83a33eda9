"""entries: indexes that give a list's pages in order and count a category without reading the rows

Revision ID: c3a91f0e7b21
Revises: 8c41d2e6f0a3
Create Date: 2026-12-06 21:50:00

"""
from collections.abc import Sequence

from alembic import op

revision: str = 'c3a91f0e7b21'
down_revision: str | Sequence[str] | None = '8c41d2e6f0a3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('entries') as batch:
        batch.create_index('ix_entries_list_state_name', ['list_id', 'state', 'course_name', 'id'], unique=False)
        batch.create_index('ix_entries_list_state_category', ['list_id', 'state', 'category'], unique=False)
        batch.drop_index('ix_entries_list_state')  # the first of the new ones begins with it


def downgrade() -> None:
    with op.batch_alter_table('entries') as batch:
        batch.create_index('ix_entries_list_state', ['list_id', 'state'], unique=False)
        batch.drop_index('ix_entries_list_state_category')
        batch.drop_index('ix_entries_list_state_name')
