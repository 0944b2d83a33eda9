"""Alembic environment of the identity service."""

from servicekit.migrations import run_migrations
from services.identity.adapters.orm import Base

run_migrations(Base.metadata)
