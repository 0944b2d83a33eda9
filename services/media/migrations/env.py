"""Alembic environment of the media service."""

from servicekit.migrations import run_migrations
from services.media.adapters.orm import Base

run_migrations(Base.metadata)
