"""course stop after student evaluation

Revision ID: 1f6d55ac3983
Revises: c0ffee000005
Create Date: 2026-12-06 03:18:29.261618

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import servicekit.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision: str = '1f6d55ac3983'
down_revision: Union[str, Sequence[str], None] = 'c0ffee000005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A course's stop on opening new runs (student evaluation below good, seed 002 四(七))."""
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stopped_at', servicekit.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('stop_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('stopped_by', sa.String(length=36), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('stopped_by')
        batch_op.drop_column('stop_reason')
        batch_op.drop_column('stopped_at')
