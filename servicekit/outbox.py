"""The transactional outbox: events are rows written with the change, then relayed to JetStream.

A row is published with `Nats-Msg-Id` = its event id, so a relay that publishes a row
twice (it crashed between publishing and marking) is de-duplicated by the stream.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime

from google.protobuf.message import Message
from nats.js import JetStreamContext
from sqlalchemy import (
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    String,
    Table,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit import tracing
from servicekit.clock import utcnow
from servicekit.db import Database, UTCDateTime
from servicekit.messaging import EVENT_ID_HEADER, EVENT_TYPE_HEADER
from servicekit.metrics import OUTBOX_DEPTH, OUTBOX_OLDEST_AGE, Every

log = logging.getLogger(__name__)


def messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and the processed-events inbox, in a service's own metadata."""
    outbox = Table(
        "outbox_events",
        metadata,
        Column("position", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("published_at", UTCDateTime, nullable=True),
        # The W3C traceparent of the transaction that wrote the event: its consumers' spans are children of it.
        Column("traceparent", String(55), nullable=True),
        Index("ix_outbox_events_unpublished", "published_at", "position"),
    )
    inbox = Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("processed_at", UTCDateTime, nullable=False),
    )
    return outbox, inbox


async def emit(session: AsyncSession, outbox: Table, subject: str, message: Message) -> str:
    """Write an event in the caller's transaction; it goes out after the commit."""
    event_id = str(uuid.uuid4())
    await session.execute(
        outbox.insert().values(
            event_id=event_id,
            subject=subject,
            event_type=message.DESCRIPTOR.full_name,
            payload=message.SerializeToString(),
            created_at=utcnow(),
            traceparent=tracing.current_traceparent(),
        )
    )
    session.info["outbox_written"] = True
    return event_id


async def emit_many(session: AsyncSession, outbox: Table, subject: str, messages: list[Message]) -> list[str]:
    """`emit` for many events at once (a bulk import's): one multi-row insert instead of one per event."""
    if not messages:
        return []
    now = utcnow()
    traceparent = tracing.current_traceparent()
    rows = [{"event_id": str(uuid.uuid4()), "subject": subject, "event_type": message.DESCRIPTOR.full_name,
             "payload": message.SerializeToString(), "created_at": now, "traceparent": traceparent}
            for message in messages]
    await session.execute(outbox.insert(), rows)
    session.info["outbox_written"] = True
    return [row["event_id"] for row in rows]


def _headers(row: Row) -> dict[str, str]:
    headers = {EVENT_ID_HEADER: row.event_id, EVENT_TYPE_HEADER: row.event_type}
    if row.traceparent:
        headers[tracing.TRACEPARENT] = row.traceparent
    return headers


class OutboxRelay:
    """Publishes unpublished rows in order; waits and retries while NATS is away."""

    def __init__(
        self,
        db: Database,
        outbox: Table,
        js: JetStreamContext,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        publish_timeout: float = 2.0,
        service: str = "",
        gauge_interval: float = 10.0,
    ) -> None:
        self.db = db
        self.service = service
        self._gauges_due = Every(gauge_interval)
        self.outbox = outbox
        self.js = js
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.publish_timeout = publish_timeout

    async def run(self) -> None:
        backoff = 0.2
        while True:
            await self._refresh_gauges()
            try:
                published = await self.publish_pending()
                backoff = 0.2
            except Exception as error:  # NATS away or the database busy: wait, then retry
                log.warning("outbox relay: %s; retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if published < self.batch_size:
                self.db.outbox_written.clear()
                try:
                    await asyncio.wait_for(self.db.outbox_written.wait(), self.poll_interval)
                except TimeoutError:
                    pass

    async def _refresh_gauges(self) -> None:
        """The outbox's depth and its oldest row's age, every `gauge_interval` seconds (not per event): a count
        and a lookup on the unpublished-rows index."""
        if not self.service or not self._gauges_due():
            return
        try:
            depth, oldest = await self.backlog()
        except Exception as error:  # noqa: BLE001 - the relay's own loop reports a database that is away
            log.debug("outbox gauges: %s", error)
            return
        OUTBOX_DEPTH.labels(service=self.service).set(depth)
        OUTBOX_OLDEST_AGE.labels(service=self.service).set(
            max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0)

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many rows wait to be published, and when the oldest of them was written."""
        unpublished = self.outbox.c.published_at.is_(None)
        async with self.db.sessions() as session:
            depth = await session.scalar(select(func.count()).select_from(self.outbox).where(unpublished))
            oldest = await session.scalar(select(self.outbox.c.created_at).where(unpublished)
                                          .order_by(self.outbox.c.position).limit(1))
        return int(depth or 0), oldest

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows went out. Raises when publishing fails."""
        async with self.db.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        self.outbox.c.position,
                        self.outbox.c.event_id,
                        self.outbox.c.subject,
                        self.outbox.c.event_type,
                        self.outbox.c.payload,
                        self.outbox.c.traceparent,
                    )
                    .where(self.outbox.c.published_at.is_(None))
                    .order_by(self.outbox.c.position)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            return 0
        done: list[int] = []
        try:
            # Pipelined: the batch goes out in order without waiting for each acknowledgement in turn (one round
            # trip per event held a burst back); a row counts as published once the stream acknowledged it and
            # every row before it. Whatever is left goes again (the stream drops the duplicates by event id).
            acks = [
                await self.js.publish_async(row.subject, row.payload, headers=_headers(row)) for row in rows
            ]
            results = await asyncio.wait_for(asyncio.gather(*acks, return_exceptions=True), self.publish_timeout)
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, BaseException):
                    raise result
                done.append(row.position)
        finally:
            if done:
                async with self.db.transaction() as session:
                    await session.execute(
                        update(self.outbox)
                        .where(self.outbox.c.position.in_(done))
                        .values(published_at=utcnow())
                    )
        return len(done)
