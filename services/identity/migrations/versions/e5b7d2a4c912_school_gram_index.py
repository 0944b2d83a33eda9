"""schools: a gram index for the school search (servicekit.grams), back-filled from the schools there are

Revision ID: e5b7d2a4c912
Revises: 7ace483c3ba5
Create Date: 2026-12-06 23:45:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicekit.grams import folded, text_grams

revision: str = 'e5b7d2a4c912'
down_revision: str | Sequence[str] | None = '7ace483c3ba5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPE = "schools"  # services/identity/adapters/orm.py SCHOOLS_SCOPE


def upgrade() -> None:
    grams = op.create_table(
        'school_grams',
        sa.Column('scope', sa.String(length=36), nullable=False),
        sa.Column('gram', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('rank', sa.String(length=20), nullable=False),
        sa.Column('owner_id', sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'gram', 'rank', 'owner_id'),
        sqlite_with_rowid=False,
    )
    # Fields 0, 1 and 2: the folded name, the folded code and the name's pinyin, as the ORM's index has them.
    schools = sa.table('schools', sa.column('id', sa.String), sa.column('code', sa.String),
                       sa.column('name', sa.String), sa.column('name_pinyin', sa.Text))
    bind = op.get_bind()
    rows = [{"scope": SCOPE, "gram": gram, "rank": school.code, "owner_id": school.id}
            for school in bind.execute(sa.select(schools.c.id, schools.c.code, schools.c.name,
                                                 schools.c.name_pinyin))
            for gram in text_grams(folded(school.name), 0) | text_grams(folded(school.code), 1)
            | text_grams(school.name_pinyin or "", 2)]
    if rows:
        bind.execute(grams.insert(), rows)


def downgrade() -> None:
    op.drop_table('school_grams')
