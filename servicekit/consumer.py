"""Idempotent event consumers on durable JetStream pull subscriptions.

A message is acked only after its handler's transaction committed, and the event id
is recorded in that same transaction, so a redelivered event is applied once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats.errors
from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit import tracing
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.messaging import (
    CONSUMERS,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    STREAMS,
    NatsCredentials,
    Reads,
    producer_of,
    wait_for_stream,
)
from servicekit.metrics import CONSUMER_EVENTS, CONSUMER_LAG, CONSUMER_REDELIVERIES, Every

log = logging.getLogger(__name__)


class PoisonEvent(Exception):
    """An event that can never be applied; it is terminated, not redelivered."""


@dataclass(frozen=True)
class EventMeta:
    event_id: str
    subject: str
    delivered: int
    stream: str = ""
    producer: str = ""  # the service whose NATS credentials alone can put events into `stream`
    traceparent: str = ""  # the W3C trace context of the transaction that wrote the event, if it was traced

    def span(self, consumer: str):  # type: ignore[no-untyped-def]
        """The CONSUMER span of applying this event (nothing while tracing is off)."""
        return tracing.consuming(
            self.traceparent, f"process {self.subject}", **{
                "messaging.system": "nats", "messaging.destination.name": self.subject,
                "messaging.consumer.group.name": consumer, "messaging.message.id": self.event_id})


Handler = Callable[[AsyncSession, Any, EventMeta], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """What one durable consumer reads: a stream, a subject filter, handlers by event type."""

    durable: str
    stream: str
    filter_subject: str
    handlers: dict[type[Message], Handler]
    ack_wait: float = 30.0
    max_deliver: int = 20
    batch: int = 20


async def release(subscription: Any) -> None:
    """Drops a pull subscription whose loop stops. Stopped mid-fetch, its pull request is still open at the server:
    without the subscription gone, a message arriving in that second would be handed to nobody and wait out its
    ack wait (30 s) unseen. Bounded to a second: it never holds a shutdown up."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(subscription.unsubscribe(), 1.0)


class _PullLoop:
    """Subscribes (creating the durable consumer if needed) and feeds messages to `process`."""

    LAG_INTERVAL = 10.0  # seconds between two reads of the consumer's info for its lag gauge

    def __init__(self, js: JetStreamContext, subscription: Subscription, service: str = "") -> None:
        self.js = js
        self.subscription = subscription
        self.by_type = {cls.DESCRIPTOR.full_name: (cls, h) for cls, h in subscription.handlers.items()}
        labels = {"service": service or os.environ.get("NATS_USER", "") or "unknown",
                  "consumer": subscription.durable}
        self._lag = CONSUMER_LAG.labels(**labels)
        self._redeliveries = CONSUMER_REDELIVERIES.labels(**labels)
        self._outcomes = {outcome: CONSUMER_EVENTS.labels(**labels, outcome=outcome)
                          for outcome in ("applied", "duplicate", "failed")}
        self._lag_due = Every(self.LAG_INTERVAL)

    async def _refresh_lag(self, sub: Any) -> None:
        if not self._lag_due():
            return
        try:
            info = await sub.consumer_info()
        except Exception as error:  # noqa: BLE001 - the fetch loop reports a bus that is away
            log.debug("consumer %s: no info for its lag: %s", self.subscription.durable, error)
            return
        self._lag.set(info.num_pending or 0)

    async def process(self, message: Msg) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        sub = await self.subscribe()
        spec = self.subscription
        try:
            while True:
                await self._refresh_lag(sub)
                try:
                    messages = await sub.fetch(batch=spec.batch, timeout=1.0)
                except nats.errors.TimeoutError:
                    continue
                except Exception as error:  # disconnected: the client reconnects by itself
                    log.warning("consumer %s: fetch failed: %s", spec.durable, error)
                    await asyncio.sleep(0.5)
                    continue
                for message in messages:
                    if message.metadata and message.metadata.num_delivered > 1:
                        self._redeliveries.inc()
                await self.process_batch(messages)
        finally:
            await release(sub)

    async def subscribe(self) -> Any:
        """The pull subscription of the durable consumer, created if needed (retried until NATS answers)."""
        spec = self.subscription
        credentials = NatsCredentials.from_env()
        declared = CONSUMERS.get(credentials.user, ()) if credentials else ()
        if credentials and Reads(spec.stream, spec.filter_subject, spec.durable) not in declared:
            log.error("consumer %s: %s filtered to %s is not declared for NATS user %s in "
                      "servicekit.messaging.CONSUMERS: the bus refuses it", spec.durable, spec.stream,
                      spec.filter_subject, credentials.user)
        while True:
            try:
                await wait_for_stream(self.js, spec.stream)  # its producer creates it
                sub = await self.js.pull_subscribe(
                    spec.filter_subject,
                    durable=spec.durable,
                    stream=spec.stream,
                    config=ConsumerConfig(
                        ack_policy=AckPolicy.EXPLICIT,
                        deliver_policy=DeliverPolicy.ALL,
                        ack_wait=spec.ack_wait,
                        max_deliver=spec.max_deliver,
                    ),
                )
                return sub
            except Exception as error:  # NATS not there yet
                log.warning("consumer %s: cannot subscribe yet: %s", spec.durable, error)
                await asyncio.sleep(1.0)

    async def process_batch(self, messages: list[Msg]) -> None:
        for message in messages:
            await self.process(message)

    def decode(self, message: Msg) -> tuple[Handler, Message, EventMeta] | None:
        """The handler, payload and metadata; None for an event type nobody here handles."""
        headers = message.headers or {}
        event_id = headers.get(EVENT_ID_HEADER, "")
        event_type = headers.get(EVENT_TYPE_HEADER, "")
        delivered = message.metadata.num_delivered if message.metadata else 1
        if not event_id:
            raise PoisonEvent("event without an id")
        stream = self._check_origin(message)
        if event_type not in self.by_type:
            log.info("consumer %s: ignoring %s", self.subscription.durable, event_type)
            return None
        cls, handler = self.by_type[event_type]
        try:
            payload = cls.FromString(message.data)
        except DecodeError as error:
            raise PoisonEvent(f"undecodable {event_type}: {error}") from error
        return handler, payload, EventMeta(event_id=event_id, subject=message.subject, delivered=delivered,
                                           stream=stream, producer=producer_of(stream),
                                           traceparent=headers.get(tracing.TRACEPARENT, ""))

    def _check_origin(self, message: Msg) -> str:
        """The stream the event was stored in, which must be the subscription's and hold the subject.

        Only the stream's producer may publish its subjects (NATS permissions), so the stream
        of origin says who sent the event; an event from anywhere else is refused.
        """
        stream = message.metadata.stream if message.metadata else ""
        expected = self.subscription.stream
        prefix = STREAMS[expected].removesuffix(">")
        if stream != expected or not message.subject.startswith(prefix):
            raise PoisonEvent(f"event on {message.subject!r} from stream {stream!r}, expected stream {expected}")
        return stream


class EventConsumer(_PullLoop):
    """Applies each event in a transaction that also records its id: at most once in effect."""

    def __init__(self, db: Database, inbox: Table, js: JetStreamContext, subscription: Subscription,
                 service: str = ""):
        super().__init__(js, subscription, service)
        self.db = db
        self.inbox = inbox

    async def process(self, message: Msg) -> None:
        delivered = message.metadata.num_delivered if message.metadata else 1
        try:
            decoded = self.decode(message)
            if decoded is not None:
                handler, payload, meta = decoded
                async with _keep_alive(message, self.subscription.ack_wait):
                    applied = await self._apply_once(handler, payload, meta)
                self._outcomes["applied" if applied else "duplicate"].inc()
            await message.ack()
        except PoisonEvent as error:
            self._outcomes["failed"].inc()
            log.error("consumer %s: terminating %s: %s", self.subscription.durable, message.subject, error)
            await message.term()
        except Exception:
            self._outcomes["failed"].inc()
            log.exception("consumer %s: event failed (delivery %d)", self.subscription.durable, delivered)
            await message.nak(delay=_backoff(delivered))

    async def process_batch(self, messages: list[Msg]) -> None:
        """A fetched batch applied in one transaction — one commit for many events, which is what keeps a consumer
        up with a burst (a commit per event held 200 events/s back by a quarter of a second on SQLite). If any
        event of it fails, nothing of the batch is kept and each event is applied on its own (`process`): a
        poison or failing event is then terminated or retried alone, and the others go through."""
        if len(messages) > 1:
            try:
                async with contextlib.AsyncExitStack() as beats:
                    for message in messages:
                        await beats.enter_async_context(_keep_alive(message, self.subscription.ack_wait))
                    applied, duplicates = await self._apply_batch(messages)
            except Exception as error:  # noqa: BLE001 - each event is tried alone next
                log.info("consumer %s: a batch of %d failed together (%s); applying them one by one",
                         self.subscription.durable, len(messages), error)
            else:
                self._outcomes["applied"].inc(applied)  # counted once committed: a failed batch is tried again
                self._outcomes["duplicate"].inc(duplicates)
                for message in messages:
                    await message.ack()
                return
        for message in messages:
            await self.process(message)

    async def _apply_batch(self, messages: list[Msg]) -> tuple[int, int]:
        """Applies the batch in one transaction; (applied, duplicates)."""
        decoded = [item for item in map(self.decode, messages) if item is not None]  # PoisonEvent: one by one
        durable = self.subscription.durable
        async with self.db.transaction() as session:
            ids = [meta.event_id for _, _, meta in decoded]
            seen = set(await session.scalars(select(self.inbox.c.event_id).where(
                self.inbox.c.consumer == durable, self.inbox.c.event_id.in_(ids))))
            applied = 0
            for handler, payload, meta in decoded:
                if meta.event_id in seen:  # applied before, or twice in this batch (a redelivery)
                    continue
                seen.add(meta.event_id)
                applied += 1
                await session.execute(
                    self.inbox.insert().values(consumer=durable, event_id=meta.event_id, processed_at=utcnow()))
                with meta.span(durable):
                    await handler(session, payload, meta)
        return applied, len(decoded) - applied

    async def _apply_once(self, handler: Handler, payload: Message, meta: EventMeta) -> bool:
        """Applies the event unless it was before; says whether it was applied now."""
        durable = self.subscription.durable
        try:
            async with self.db.transaction() as session:
                seen = await session.scalar(
                    select(self.inbox.c.event_id).where(
                        self.inbox.c.consumer == durable, self.inbox.c.event_id == meta.event_id
                    )
                )
                if seen:
                    return False
                await session.execute(
                    self.inbox.insert().values(consumer=durable, event_id=meta.event_id, processed_at=utcnow())
                )
                with meta.span(durable):
                    await handler(session, payload, meta)
            return True
        except IntegrityError:
            # Either another replica recorded the same event id first (then it is
            # applied there), or the handler broke a constraint: that must not be acked.
            async with self.db.sessions() as session:
                seen = await session.scalar(
                    select(self.inbox.c.event_id).where(
                        self.inbox.c.consumer == durable, self.inbox.c.event_id == meta.event_id
                    )
                )
            if not seen:
                raise
            log.info("consumer %s: event %s applied concurrently", durable, meta.event_id)
            return False


GiveUp = Callable[[Any, EventMeta, Exception], Awaitable[None]]


class JobConsumer(_PullLoop):
    """Long jobs from a work queue: one at a time, outside any transaction, kept alive while they run.

    A job handler is idempotent by itself (it checks its subject's state). Passing failures
    are retried with backoff; on the last delivery `give_up` records the failure, and a
    `PoisonEvent` (work that can never succeed) ends at once.
    """

    def __init__(self, js: JetStreamContext, subscription: Subscription, give_up: GiveUp) -> None:
        super().__init__(js, subscription)
        self.give_up = give_up

    async def process(self, message: Msg) -> None:
        delivered = message.metadata.num_delivered if message.metadata else 1
        decoded = None
        try:
            decoded = self.decode(message)
            if decoded is not None:
                handler, payload, meta = decoded
                async with _keep_alive(message, self.subscription.ack_wait):
                    with meta.span(self.subscription.durable):  # the worker's job, in the upload's trace
                        await handler(None, payload, meta)  # type: ignore[arg-type]
            await message.ack()
        except PoisonEvent as error:
            log.error("jobs %s: terminating %s: %s", self.subscription.durable, message.subject, error)
            await message.term()
        except Exception as error:
            if decoded is not None and delivered >= self.subscription.max_deliver:
                log.exception("jobs %s: giving up after %d deliveries", self.subscription.durable, delivered)
                await self.give_up(decoded[1], decoded[2], error)
                await message.term()
            else:
                log.exception("jobs %s: job failed (delivery %d); retrying", self.subscription.durable, delivered)
                await message.nak(delay=_backoff(delivered))


def _backoff(delivered: int) -> float:
    return min(2.0**delivered * 0.1, 30.0)


@contextlib.asynccontextmanager
async def _keep_alive(message: Msg, ack_wait: float):  # type: ignore[no-untyped-def]
    """Tell the server a long handler is still working, so it is not redelivered mid-work."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(ack_wait / 3)
            with contextlib.suppress(Exception):
                await message.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
