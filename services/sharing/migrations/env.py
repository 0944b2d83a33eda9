"""Alembic environment of the sharing service."""

from servicekit.migrations import run_migrations
from services.sharing.adapters.orm import Base

run_migrations(Base.metadata)
