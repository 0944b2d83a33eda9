"""entries: a gram index for the search (servicekit.grams), back-filled from the entries there are

Revision ID: e5b7d2a4c911
Revises: c3a91f0e7b21
Create Date: 2026-12-06 23:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicekit.grams import text_grams

revision: str = 'e5b7d2a4c911'
down_revision: str | Sequence[str] | None = 'c3a91f0e7b21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    grams = op.create_table(
        'entry_grams',
        sa.Column('scope', sa.String(length=36), nullable=False),
        sa.Column('gram', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('rank', sa.String(length=100), nullable=False),
        sa.Column('owner_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'gram', 'rank', 'owner_id'),
        sqlite_with_rowid=False,
    )
    scopes = op.create_table(
        'entry_grams_scopes',
        sa.Column('scope', sa.String(length=36), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope'),
    )
    # The entries written before the index: scoped by list, ranked by course name; fields 0 and 1 are search_text
    # and search_pinyin, as services/sharing/adapters/orm.py has them.
    entries = sa.table('entries', sa.column('id', sa.String), sa.column('list_id', sa.String),
                       sa.column('course_name', sa.String), sa.column('search_text', sa.String),
                       sa.column('search_pinyin', sa.Text))
    bind = op.get_bind()
    lists: set[str] = set()
    rows: list[dict] = []
    for entry in bind.execute(sa.select(entries.c.id, entries.c.list_id, entries.c.course_name,
                                        entries.c.search_text, entries.c.search_pinyin)):
        lists.add(entry.list_id)
        rows += [{"scope": entry.list_id, "gram": gram, "rank": entry.course_name, "owner_id": entry.id}
                 for gram in text_grams(entry.search_text or "", 0) | text_grams(entry.search_pinyin or "", 1)]
        if len(rows) >= BATCH:
            bind.execute(grams.insert(), rows)
            rows = []
    if rows:
        bind.execute(grams.insert(), rows)
    if lists:
        bind.execute(scopes.insert(), [{"scope": scope, "revision": 1} for scope in sorted(lists)])


def downgrade() -> None:
    op.drop_table('entry_grams_scopes')
    op.drop_table('entry_grams')
