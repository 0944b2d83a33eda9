"""Alembic environment of the course service."""

from servicekit.migrations import run_migrations
from services.course.adapters.orm import Base

run_migrations(Base.metadata)
