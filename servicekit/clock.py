"""Time in one place, so rules about deadlines and lockouts can be tested with a fixed clock."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp(when: datetime | None):  # type: ignore[no-untyped-def]
    """A protobuf Timestamp of `when` (None stays None: the field stays unset)."""
    from google.protobuf.timestamp_pb2 import Timestamp

    if when is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp
