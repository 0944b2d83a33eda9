"""Alembic environment of the learning service."""

from servicekit.migrations import run_migrations
from services.learning.adapters.orm import Base

run_migrations(Base.metadata)
