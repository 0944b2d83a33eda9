"""pinyin search keys for user and school names (back-filled)

Revision ID: 3f6a9b1c7d42
Revises: 9d3e1a7c5b20
Create Date: 2026-11-23 18:30:00

"sjjg" and "shujujiegou" find 数据结构: each searchable name keeps its pinyin and initials
(servicekit.pinyin.name_key) next to it, written with the name from now on.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicekit.pinyin import name_key

revision: str = '3f6a9b1c7d42'
down_revision: str | Sequence[str] | None = '9d3e1a7c5b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "schools")


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column('name_pinyin', sa.Text(), nullable=False, server_default=''))
        table = sa.table(name, sa.column('id', sa.String), sa.column('name', sa.String),
                         sa.column('name_pinyin', sa.Text))
        rows = [{"row_id": row.id, "key": name_key(row.name)}
                for row in bind.execute(sa.select(table.c.id, table.c.name))]
        if rows:
            bind.execute(table.update().where(table.c.id == sa.bindparam("row_id"))
                         .values(name_pinyin=sa.bindparam("key")), rows)


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_column('name_pinyin')
