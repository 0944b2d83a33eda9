"""Alembic environment of the review service."""

from servicekit.migrations import run_migrations
from services.review.adapters.orm import Base

run_migrations(Base.metadata)
