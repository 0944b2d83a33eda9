"""Idempotent consumers: a redelivered event is applied once; a failing handler is retried, not acked."""

from __future__ import annotations

import asyncio
import uuid

import nats
from sqlalchemy import Column, MetaData, String, Table, func, select

from contracts.review.v1 import review_pb2
from servicekit.consumer import EventConsumer, EventMeta, JobConsumer, Subscription
from servicekit.db import Database
from servicekit.messaging import EVENT_ID_HEADER, EVENT_TYPE_HEADER, ensure_stream
from servicekit.outbox import messaging_tables
from tests.support import NatsServer, database_with, eventually

metadata = MetaData()
outbox, inbox = messaging_tables(metadata)
applied = Table("applied", metadata, Column("id", String(36), primary_key=True), Column("subject_id", String(36)))


async def make_db(database_url) -> Database:  # type: ignore[no-untyped-def]
    return await database_with(database_url, metadata)


async def count_applied(db: Database, subject_id: str) -> int:
    async with db.transaction() as session:
        return await session.scalar(
            select(func.count()).select_from(applied).where(applied.c.subject_id == subject_id)
        ) or 0


async def record(session, event: review_pb2.ReviewDecided, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
    await session.execute(applied.insert().values(id=str(uuid.uuid4()), subject_id=event.subject_id))


async def publish(js, subject: str, event_id: str, subject_id: str) -> None:  # type: ignore[no-untyped-def]
    event = review_pb2.ReviewDecided(subject_id=subject_id, decision="approved")
    await js.publish(
        subject,
        event.SerializeToString(),
        headers={EVENT_ID_HEADER: event_id, EVENT_TYPE_HEADER: event.DESCRIPTOR.full_name},
    )


async def test_an_event_redelivered_after_its_commit_is_applied_once(database_url, nats_server: NatsServer) -> None:
    db = await make_db(database_url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_stream(js, "REVIEW")
    run = uuid.uuid4().hex[:8]
    subject = f"review.item.decided.test{run}"
    spec = Subscription(durable=f"t{run}", stream="REVIEW", filter_subject=subject,
                        handlers={review_pb2.ReviewDecided: record}, ack_wait=1.0)
    crashing = EventConsumer(db, inbox, js, spec)

    async def commit_then_crash(message) -> None:  # type: ignore[no-untyped-def]
        """Applies the event and dies before acking, as a killed process would."""
        meta = EventMeta(message.headers[EVENT_ID_HEADER], message.subject, 1)
        await crashing._apply_once(record, review_pb2.ReviewDecided.FromString(message.data), meta)

    crashing.process = commit_then_crash  # type: ignore[method-assign]
    subject_id = str(uuid.uuid4())
    await publish(js, subject, str(uuid.uuid4()), subject_id)
    first = asyncio.create_task(crashing.run())
    await eventually(lambda: count_applied(db, subject_id))
    first.cancel()

    healthy = asyncio.create_task(EventConsumer(db, inbox, js, spec).run())
    try:
        # The unacked message comes back after ack_wait; the inbox recognises it and acks it.
        await eventually(lambda: _no_pending(js, spec.stream, spec.durable), within=20)
    finally:
        healthy.cancel()
    assert await count_applied(db, subject_id) == 1
    await nc.close()
    await db.dispose()


async def test_a_failing_handler_is_retried_until_it_succeeds(database_url, nats_server: NatsServer) -> None:
    db = await make_db(database_url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_stream(js, "REVIEW")
    run = uuid.uuid4().hex[:8]
    subject = f"review.item.decided.test{run}"
    attempts = []

    async def flaky(session, event, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        await record(session, event, meta)  # written, then rolled back on the failures
        attempts.append(meta.delivered)
        if len(attempts) < 3:
            raise RuntimeError("a passing failure")

    spec = Subscription(durable=f"t{run}", stream="REVIEW", filter_subject=subject,
                        handlers={review_pb2.ReviewDecided: flaky})
    subject_id = str(uuid.uuid4())
    await publish(js, subject, str(uuid.uuid4()), subject_id)
    task = asyncio.create_task(EventConsumer(db, inbox, js, spec).run())
    try:
        await eventually(lambda: _no_pending(js, spec.stream, spec.durable), within=20)
    finally:
        task.cancel()
    assert attempts == [1, 2, 3]
    assert await count_applied(db, subject_id) == 1
    await nc.close()
    await db.dispose()


async def _no_pending(js, stream: str, durable: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        info = await js.consumer_info(stream, durable)
    except nats.js.errors.NotFoundError:
        return False  # not subscribed yet
    return info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq > 0


async def test_a_job_is_retried_with_backoff_and_given_up_after_its_last_delivery(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_stream(js, "REVIEW")
    run = uuid.uuid4().hex[:8]
    subject = f"review.item.decided.job{run}"
    attempts: dict[str, list[int]] = {}
    given_up: list[tuple[str, int, str]] = []

    async def job(_session, event, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        attempts.setdefault(event.subject_id, []).append(meta.delivered)
        if event.subject_id.startswith("flaky") and len(attempts[event.subject_id]) < 2:
            raise RuntimeError("storage hiccup")
        if event.subject_id.startswith("broken"):
            raise RuntimeError("always fails")

    async def give_up(event, meta: EventMeta, error: Exception) -> None:  # type: ignore[no-untyped-def]
        given_up.append((event.subject_id, meta.delivered, str(error)))

    spec = Subscription(durable=f"j{run}", stream="REVIEW", filter_subject=subject,
                        handlers={review_pb2.ReviewDecided: job}, max_deliver=3, batch=1)
    for subject_id in ("flaky", "broken"):
        await publish(js, subject, str(uuid.uuid4()), subject_id)
    task = asyncio.create_task(JobConsumer(js, spec, give_up=give_up).run())
    try:
        await eventually(lambda: _no_pending(js, spec.stream, spec.durable), within=30)
    finally:
        task.cancel()
    assert attempts["flaky"] == [1, 2]
    assert attempts["broken"] == [1, 2, 3]
    assert given_up == [("broken", 3, "always fails")]
    await nc.close()


async def test_a_fetched_batch_is_applied_in_one_transaction_and_a_failing_event_alone(
        database_url, nats_server: NatsServer) -> None:
    """Events waiting together are fetched together and applied in one transaction (one commit: what keeps a
    consumer up with a burst); an event that fails takes nothing of the others with it: the batch is applied again
    event by event, the failing one alone is retried, and every event takes effect exactly once — a duplicate
    delivery in the same batch too."""
    db = await make_db(database_url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_stream(js, "REVIEW")
    run = uuid.uuid4().hex[:8]
    subject = f"review.item.decided.batch{run}"
    sessions: dict[str, list[str]] = {}
    failures: list[str] = []

    async def handler(session, event, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        await record(session, event, meta)
        sessions.setdefault(event.subject_id, []).append(session.info.setdefault("tag", uuid.uuid4().hex))
        if event.subject_id.startswith("bad") and not failures:
            failures.append(event.subject_id)
            raise RuntimeError("one event's passing failure")

    spec = Subscription(durable=f"b{run}", stream="REVIEW", filter_subject=subject,
                        handlers={review_pb2.ReviewDecided: handler}, batch=20)
    calm = [f"calm-{i}" for i in range(8)]
    for subject_id in calm:
        await publish(js, subject, str(uuid.uuid4()), subject_id)
    twice = str(uuid.uuid4())
    await publish(js, subject, twice, "twice")
    await publish(js, subject, twice, "twice")  # the same event delivered twice (no Nats-Msg-Id: both stored)
    task = asyncio.create_task(EventConsumer(db, inbox, js, spec).run())
    try:
        await eventually(lambda: _no_pending(js, spec.stream, spec.durable), within=20)
    finally:
        task.cancel()
    assert {len({*sessions[s]}) for s in calm} == {1}
    assert len({sessions[s][0] for s in [*calm, "twice"]}) == 1, "the waiting events went in one transaction"
    assert [await count_applied(db, s) for s in [*calm, "twice"]] == [1] * 9

    # A second burst with a failing event in it: the others go through, the failing one is retried alone.
    sessions.clear()
    later = [f"later-{i}" for i in range(5)]
    for subject_id in [*later[:2], "bad", *later[2:]]:
        await publish(js, subject, str(uuid.uuid4()), subject_id)
    task = asyncio.create_task(EventConsumer(db, inbox, js, spec).run())
    try:
        await eventually(lambda: _no_pending(js, spec.stream, spec.durable), within=30)
    finally:
        task.cancel()
    assert failures == ["bad"]
    assert [await count_applied(db, s) for s in [*later, "bad"]] == [1] * 6
    assert len(sessions["bad"]) >= 2  # failed in the batch, then applied on its own
    await nc.close()
    await db.dispose()
