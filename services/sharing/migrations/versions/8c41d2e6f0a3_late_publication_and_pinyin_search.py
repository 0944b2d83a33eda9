"""late publication reasons; pinyin search keys for entries (back-filled)

Revision ID: 8c41d2e6f0a3
Revises: 52e8fa1a8fc1
Create Date: 2026-11-23 18:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicekit.pinyin import search_key

revision: str = '8c41d2e6f0a3'
down_revision: str | Sequence[str] | None = '52e8fa1a8fc1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sharing_lists') as batch:
        batch.add_column(sa.Column('late_reason', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('entries') as batch:
        batch.add_column(sa.Column('search_pinyin', sa.Text(), nullable=False, server_default=''))
    entries = sa.table('entries', sa.column('id', sa.String), sa.column('course_name', sa.String),
                       sa.column('leader_name', sa.String), sa.column('school_name', sa.String),
                       sa.column('search_pinyin', sa.Text))
    bind = op.get_bind()
    rows = [{"row_id": row.id, "key": search_key(row.course_name, row.leader_name, row.school_name)}
            for row in bind.execute(sa.select(entries.c.id, entries.c.course_name, entries.c.leader_name,
                                              entries.c.school_name))]
    if rows:
        bind.execute(entries.update().where(entries.c.id == sa.bindparam("row_id"))
                     .values(search_pinyin=sa.bindparam("key")), rows)


def downgrade() -> None:
    with op.batch_alter_table('entries') as batch:
        batch.drop_column('search_pinyin')
    with op.batch_alter_table('sharing_lists') as batch:
        batch.drop_column('late_reason')
