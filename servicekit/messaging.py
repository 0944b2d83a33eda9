"""NATS JetStream: connecting, the mesh's streams, and how events travel (subject, id, type)."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

log = logging.getLogger(__name__)

# One stream per producing service; subjects read as facts: "<service>.<thing>.<happened>".
STREAMS: dict[str, str] = {
    "IDENTITY": "identity.>",
    "REVIEW": "review.>",
    "COURSE": "course.>",
    "MEDIA": "media.>",
    "SHARING": "sharing.>",
}
DUPLICATE_WINDOW_SECONDS = 600.0

EVENT_ID_HEADER = "Nats-Msg-Id"
EVENT_TYPE_HEADER = "Event-Type"


async def connect(url: str, name: str, attempts: int = 60) -> NATS:
    """Connect, retrying while the server comes up; reconnect forever afterwards."""
    for attempt in range(attempts):
        try:
            return await nats.connect(
                servers=[url],
                name=name,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
            )
        except (OSError, nats.errors.NoServersError, TimeoutError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def ensure_stream(js: JetStreamContext, name: str) -> None:
    """Create the stream, or bring its configuration up to date; both sides call this."""
    config = StreamConfig(
        name=name,
        subjects=[STREAMS[name]],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
