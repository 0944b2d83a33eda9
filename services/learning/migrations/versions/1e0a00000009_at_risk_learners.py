"""at risk learners

Revision ID: 1e0a00000009
Revises: 1e0a00000008
Create Date: 2026-12-06 03:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import servicekit.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision: str = '1e0a00000009'
down_revision: Union[str, Sequence[str], None] = '1e0a00000008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    pass


def downgrade() -> None:
    """Downgrade schema."""
    pass
