"""courses and registry entries: gram indexes for their searches (servicekit.grams), back-filled

Revision ID: e5b7d2a4c913
Revises: 7aced5083b5d
Create Date: 2026-12-06 23:50:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicekit.grams import folded, text_grams

revision: str = 'e5b7d2a4c913'
down_revision: str | Sequence[str] | None = '7aced5083b5d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def _gram_table(name: str) -> sa.Table:
    return op.create_table(
        name,
        sa.Column('scope', sa.String(length=36), nullable=False),
        sa.Column('gram', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('rank', sa.String(length=1), nullable=False),
        sa.Column('owner_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'gram', 'rank', 'owner_id'),
        sqlite_with_rowid=False,
    )


def _backfill(grams: sa.Table, scope: str, owners) -> None:  # type: ignore[no-untyped-def]
    """owners: (id, texts) of every row there is; field i is the i-th text."""
    bind = op.get_bind()
    rows: list[dict] = []
    for owner_id, texts in owners:
        found: set[int] = set()
        for number, text in enumerate(texts):
            found |= text_grams(text or "", number)
        rows += [{"scope": scope, "gram": gram, "rank": "", "owner_id": owner_id} for gram in found]
        if len(rows) >= BATCH:
            bind.execute(grams.insert(), rows)
            rows = []
    if rows:
        bind.execute(grams.insert(), rows)


def upgrade() -> None:
    bind = op.get_bind()
    # As services/course/adapters/orm.py indexes them: courses by folded name (0) and pinyin (1), registry
    # entries by folded name (0) and leader's name (1), each kind in one scope.
    courses = sa.table('courses', sa.column('id', sa.String), sa.column('name', sa.String),
                       sa.column('name_pinyin', sa.Text))
    _backfill(_gram_table('course_grams'), "courses", [
        (row.id, (folded(row.name), row.name_pinyin))
        for row in bind.execute(sa.select(courses.c.id, courses.c.name, courses.c.name_pinyin))])
    entries = sa.table('registry_entries', sa.column('id', sa.String), sa.column('name', sa.String),
                       sa.column('leader_name', sa.String))
    _backfill(_gram_table('registry_grams'), "registry", [
        (row.id, (folded(row.name), folded(row.leader_name)))
        for row in bind.execute(sa.select(entries.c.id, entries.c.name, entries.c.leader_name))])


def downgrade() -> None:
    op.drop_table('registry_grams')
    op.drop_table('course_grams')
