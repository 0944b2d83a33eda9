"""Media rules: kinds, states, upload sizes, who may see and change an asset."""

from __future__ import annotations

import math
import re

from servicekit.auth import Caller
from servicekit.errors import InvalidArgument, NotFound, PermissionDenied

# The seeds' kinds of course resources.
KINDS = ("course_video", "material", "extended_material")

MIB = 1024 * 1024
MB = 1000 * 1000  # the seeds' "200 MB" in decimal megabytes, as the spec check reads it (the maximum passes both)
MIN_PART_SIZE = 5 * MIB      # S3's minimum for every part but the last
MAX_PART_SIZE = 100 * MIB
DEFAULT_PART_SIZE = 16 * MIB
MAX_PARTS = 10_000
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class State:
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    PROBING = "probing"
    TRANSCODING = "transcoding"
    PACKAGING = "packaging"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"


PROCESSING_STATES = (State.UPLOADED, State.PROBING, State.TRANSCODING, State.PACKAGING)


def chunk_step_given_up(starts: int, max_deliver: int, requeues: int) -> bool:
    """Whether a stalled step of a chunked transcode (a chunk, the sound, the join) fails rather than being queued
    again: its job is re-queued `requeues` times after JetStream's `max_deliver` deliveries, so a step that stopped
    its workers this often stops every worker (a poison chunk), not one that lost a node."""
    return starts >= max_deliver * (requeues + 1)


class Review:
    UNREVIEWED = "unreviewed"
    APPROVED = "approved"
    REJECTED = "rejected"


def check_upload_request(kind: str, size_bytes: int, sha256: str, max_bytes: int) -> None:
    if kind not in KINDS:
        raise InvalidArgument(f"kind is one of {', '.join(KINDS)}")
    if size_bytes <= 0:
        raise InvalidArgument("the file is empty (0 bytes)")
    if size_bytes > max_bytes:
        size, limit = megabytes_apart(size_bytes, max_bytes)
        raise InvalidArgument(
            f"the file is {size} MB; one file may be at most {limit} MB",
            reason="FILE_TOO_LARGE",
        )
    if sha256 and not SHA256_PATTERN.match(sha256):
        raise InvalidArgument("sha256 is the file's SHA-256 as 64 lowercase hex digits")


def megabytes_apart(size_bytes: int, limit_bytes: int) -> tuple[str, str]:
    """Size and limit in decimal megabytes, the size with as many decimals as it takes to read above the limit
    (200,000,001 bytes against 200 MB: "200.000001" and "200"). The size is cut, never rounded up, so it never
    overstates; six decimals are single bytes, so it always gets there."""
    limit = _decimal(limit_bytes, 6)
    for decimals in range(7):
        scale = 10**decimals
        if size_bytes * scale // MB > limit_bytes * scale / MB or decimals == 6:
            return _decimal(size_bytes, decimals), limit
    raise AssertionError("unreachable")


def _decimal(byte_count: int, decimals: int) -> str:
    """Bytes as megabytes cut to `decimals` decimals, without trailing zeros."""
    scale = 10**decimals
    whole, rest = divmod(byte_count * scale // MB, scale)
    return f"{whole}.{rest:0{decimals}d}".rstrip("0").rstrip(".") if decimals else str(whole)


def part_plan(size_bytes: int, requested_part_size: int) -> tuple[int, int]:
    """(part size, number of parts) within S3's limits."""
    part_size = requested_part_size or DEFAULT_PART_SIZE
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise InvalidArgument(f"part_size is between {MIN_PART_SIZE // MIB} and {MAX_PART_SIZE // MIB} MiB")
    part_size = max(part_size, math.ceil(size_bytes / MAX_PARTS))
    return part_size, max(1, math.ceil(size_bytes / part_size))


def clean_filename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in (".", ".."):
        raise InvalidArgument("a file name is required")
    return name[:255]


def require_uploader(caller: Caller) -> None:
    if caller.role != "teacher" or not caller.school_id:
        raise PermissionDenied("only teachers upload course media")


def require_viewer(caller: Caller, owner_id: str, school_id: str) -> None:
    """The owner and their school's admins see an asset; to anyone else it does not exist."""
    if caller.user_id == owner_id:
        return
    if caller.role == "school_admin" and caller.school_id == school_id:
        return
    raise NotFound("no such asset")


def require_referencer(caller: Caller, owner_id: str, school_id: str) -> None:
    """Who may ask whether an asset can be referenced (and so learn its kind and duration): its owner and the
    teachers and admins of its school, who build that school's courses. To anyone else it does not exist."""
    if caller.user_id == owner_id:
        return
    if caller.role in ("teacher", "school_admin") and school_id and caller.school_id == school_id:
        return
    raise NotFound("no such asset")


def require_owner(caller: Caller, owner_id: str, school_id: str) -> None:
    require_viewer(caller, owner_id, school_id)
    if caller.user_id != owner_id:
        raise PermissionDenied("only the teacher who uploaded it may do this")
