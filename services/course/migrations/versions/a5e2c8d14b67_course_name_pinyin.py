"""pinyin search key for course names (back-filled)

Revision ID: a5e2c8d14b67
Revises: d7ea2a3ebcf3
Create Date: 2026-11-23 18:40:00

"sjjg" and "shujujiegou" find 数据结构: a course keeps its name's pinyin and initials
(servicekit.pinyin.name_key) next to the name, written with it from now on.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicekit.pinyin import name_key

revision: str = 'a5e2c8d14b67'
down_revision: str | Sequence[str] | None = 'd7ea2a3ebcf3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('courses') as batch:
        batch.add_column(sa.Column('name_pinyin', sa.Text(), nullable=False, server_default=''))
    courses = sa.table('courses', sa.column('id', sa.String), sa.column('name', sa.String),
                       sa.column('name_pinyin', sa.Text))
    bind = op.get_bind()
    rows = [{"row_id": row.id, "key": name_key(row.name)} for row in bind.execute(sa.select(courses.c.id, courses.c.name))]
    if rows:
        bind.execute(courses.update().where(courses.c.id == sa.bindparam("row_id"))
                     .values(name_pinyin=sa.bindparam("key")), rows)


def downgrade() -> None:
    with op.batch_alter_table('courses') as batch:
        batch.drop_column('name_pinyin')
