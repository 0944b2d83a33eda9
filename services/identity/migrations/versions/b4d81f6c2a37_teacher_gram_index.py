"""users: a gram index for the teacher search (servicekit.grams), back-filled from the active teachers there are

Revision ID: b4d81f6c2a37
Revises: e5b7d2a4c912
Create Date: 2026-12-07 00:15:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicekit.grams import folded, text_grams

revision: str = 'b4d81f6c2a37'
down_revision: str | Sequence[str] | None = 'e5b7d2a4c912'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPE = "teachers"  # services/identity/adapters/orm.py TEACHERS_SCOPE
CHUNK = 5000


def upgrade() -> None:
    grams = op.create_table(
        'user_grams',
        sa.Column('scope', sa.String(length=36), nullable=False),
        sa.Column('gram', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('rank', sa.String(length=100), nullable=False),
        sa.Column('owner_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'gram', 'rank', 'owner_id'),
        sqlite_with_rowid=False,
    )
    # Active teachers only, ranked by name; fields 0 and 1: the folded name and its pinyin, as the ORM's index has.
    users = sa.table('users', sa.column('id', sa.String), sa.column('name', sa.String),
                     sa.column('name_pinyin', sa.Text), sa.column('role', sa.String), sa.column('status', sa.String))
    bind = op.get_bind()
    rows = []
    for user in bind.execute(sa.select(users.c.id, users.c.name, users.c.name_pinyin).where(
            users.c.role == 'teacher', users.c.status == 'active')).all():
        rows += [{"scope": SCOPE, "gram": gram, "rank": user.name, "owner_id": user.id}
                 for gram in text_grams(folded(user.name), 0) | text_grams(user.name_pinyin or "", 1)]
        if len(rows) >= CHUNK:
            bind.execute(grams.insert(), rows)
            rows = []
    if rows:
        bind.execute(grams.insert(), rows)


def downgrade() -> None:
    op.drop_table('user_grams')
