"""unit progress by run

Revision ID: 1e0a00000004
Revises: 1e0a00000003
Create Date: 2026-11-23 22:15:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '1e0a00000004'
down_revision: Union[str, Sequence[str], None] = '1e0a00000003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('unit_progress', schema=None) as batch_op:
        batch_op.create_index('ix_unit_progress_run', ['run_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('unit_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_unit_progress_run')
