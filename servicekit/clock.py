"""Time in one place, so rules about deadlines and lockouts can be tested with a fixed clock.

A test mesh can move one process's clock forward (`MESH_CLOCK_SKEW_FILE`: a file holding seconds to add, read
when it changes), so that a rule spanning days — a question unanswered for two working days, a week without
activity — is exercised through the real services. Production never sets it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

SKEW_FILE_ENV = "MESH_CLOCK_SKEW_FILE"
_skew: tuple[tuple[int, int], timedelta] = ((-1, -1), timedelta())  # (the file's identity when read, its skew)


def _skewed(now: datetime, path: str) -> datetime:
    global _skew
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return now
    version = (stat.st_ino, stat.st_mtime_ns)  # the file is replaced whole (a rename) when the skew changes
    if version != _skew[0]:
        with open(path) as file:
            text = file.read().strip()
        _skew = (version, timedelta(seconds=float(text or 0)))
    return now + _skew[1]


def utcnow() -> datetime:
    now = datetime.now(UTC)
    path = os.environ.get(SKEW_FILE_ENV)
    return _skewed(now, path) if path else now


def timestamp(when: datetime | None):  # type: ignore[no-untyped-def]
    """A protobuf Timestamp of `when` (None stays None: the field stays unset)."""
    from google.protobuf.timestamp_pb2 import Timestamp

    if when is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp
