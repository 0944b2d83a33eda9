"""Time in one place, so rules about deadlines and lockouts can be tested with a fixed clock."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
