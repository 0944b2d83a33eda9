"""The event path, measured: from the commit of a change that wrote an outbox row to the committed effect of an
idempotent consumer in another process — the outbox relay, JetStream and the consumer as every service runs them
(servicekit.outbox.OutboxRelay, servicekit.consumer.EventConsumer), a real nats-server, real databases.

At rest (one event every 50 ms) and under load (200 events/s for 10 s, each event its own transaction, as each
request commits its own), on SQLite (the embedded default) and PostgreSQL when it is there; p50/p99 of commit →
effect, the consumer's lag at the end, and a check that every event took effect exactly once.

    python -m bench.events
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import Column, Float, MetaData, String, Table, func, select

from servicekit.consumer import EventConsumer, EventMeta, Subscription
from servicekit.messaging import connect, ensure_stream
from servicekit.outbox import OutboxRelay, emit, messaging_tables
from tests.support import POSTGRES_URL, NatsServer, database_with, drop_schema, postgres_available, unique_schema

STREAM, SUBJECT, DURABLE = "REVIEW", "review.bench.happened", "bench-effects"


def tables() -> tuple[MetaData, Table, Table, Table]:
    metadata = MetaData()
    outbox, inbox = messaging_tables(metadata)
    effects = Table("bench_effects", metadata, Column("event_key", String(36), primary_key=True),
                    Column("applied_at", Float, nullable=False))
    return metadata, outbox, inbox, effects


class StampingConsumer(EventConsumer):
    """The real consumer; an event's effect is timed once the batch it came in was applied (committed)."""

    def __init__(self, *args, expected: int, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.applied: dict[str, float] = {}
        self.stored: dict[str, float] = {}  # when JetStream stored each event: the relay's part ends there
        self.expected = expected
        self.all_applied = asyncio.Event()

    async def process_batch(self, messages) -> None:  # type: ignore[no-untyped-def]
        keys = [StringValue.FromString(message.data).value for message in messages]
        for key, message in zip(keys, messages, strict=True):
            if message.metadata and message.metadata.timestamp:
                self.stored[key] = message.metadata.timestamp.timestamp()
        await super().process_batch(messages)
        now = time.time()
        self.applied.update(dict.fromkeys(keys, now))
        if len(self.applied) >= self.expected:
            self.all_applied.set()


def consume(nats_url: str, url: str, schema: str | None, expected: int, ready, report) -> None:  # type: ignore[no-untyped-def]
    """The consuming service's process: applies events until `expected` took effect, then reports."""

    async def main() -> None:
        metadata, _, inbox, effects = tables()
        db = await database_with((url, schema), metadata)
        nc = await connect(nats_url, "bench-consumer")
        js = nc.jetstream()

        async def apply(session, event: StringValue, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
            await session.execute(effects.insert().values(event_key=event.value, applied_at=time.time()))

        consumer = StampingConsumer(db, inbox, js, Subscription(DURABLE, STREAM, SUBJECT, {StringValue: apply}),
                                    expected=expected)
        task = asyncio.create_task(consumer.run())
        ready.set()
        await consumer.all_applied.wait()
        async with db.read() as session:
            rows = await session.scalar(select(func.count()).select_from(effects))
        task.cancel()
        await nc.close()
        await db.dispose()
        report.put((consumer.applied, consumer.stored, rows))

    asyncio.run(main())


async def produce(nats_url: str, url: str, schema: str | None, phases: list[tuple[str, int, float]]
                  ) -> dict[str, dict[str, float]]:
    """The producing service: one transaction per event at each phase's rate, its relay publishing them."""
    metadata, outbox, _, _ = tables()
    db = await database_with((url, schema), metadata)
    nc = await connect(nats_url, "bench-producer")
    js = nc.jetstream()
    await ensure_stream(js, STREAM)
    relay = asyncio.create_task(OutboxRelay(db, outbox, js).run())
    committed: dict[str, dict[str, float]] = {}
    for name, count, rate in phases:
        stamps: dict[str, float] = committed.setdefault(name, {})
        started = time.perf_counter()

        async def one(key: str, stamps: dict[str, float] = stamps) -> None:
            async with db.transaction() as session:
                await emit(session, outbox, SUBJECT, StringValue(value=key))
            stamps[key] = time.time()

        writes = []
        for i in range(count):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writes.append(asyncio.create_task(one(str(uuid.uuid4()))))
        await asyncio.gather(*writes)
        await asyncio.sleep(1.0)  # the phase's tail drains before the next begins
    await asyncio.sleep(2.0)
    relay.cancel()
    await nc.close()
    await db.dispose()
    return committed


def measure(backend: str, url: str, schema_of) -> None:  # type: ignore[no-untyped-def]
    phases = [("warm-up (not counted)", 20, 20.0), ("at rest, an event every 50 ms", 100, 20.0),
              ("200 events/s for 10 s", 2000, 200.0)]
    expected = sum(count for _, count, _ in phases)
    with tempfile.TemporaryDirectory() as scratch:
        nats = NatsServer(Path(scratch) / "nats")
        nats.start()
        producer_schema, consumer_schema = schema_of("bench_out"), schema_of("bench_in")
        if url.startswith("sqlite"):
            producer_url, consumer_url = f"{url}{scratch}/producer.db", f"{url}{scratch}/consumer.db"
        else:
            producer_url = consumer_url = url
        context = multiprocessing.get_context("spawn")
        ready, report = context.Event(), context.Queue()
        consumer = context.Process(target=consume, args=(nats.url, consumer_url, consumer_schema, expected, ready,
                                                          report))
        consumer.start()
        try:
            ready.wait(60)
            committed = asyncio.run(produce(nats.url, producer_url, producer_schema, phases))
            applied, stored, rows = report.get(timeout=300)
        finally:
            consumer.join(10)
            if consumer.is_alive():
                consumer.kill()
            nats.stop()
            for schema in (producer_schema, consumer_schema):
                if schema:
                    asyncio.run(drop_schema(schema))
    print(f"\n== the event path on {backend}: outbox commit -> relay -> JetStream -> idempotent consumer's commit")
    for name, stamps in list(committed.items())[1:]:
        lags = sorted((applied[key] - at) * 1000 for key, at in stamps.items())
        relayed = statistics.quantiles([(stored[key] - at) * 1000 for key, at in stamps.items() if key in stored],
                                       n=100)
        cuts = statistics.quantiles(lags, n=100)
        print(f"{name:<34} p50 {cuts[49]:7.1f} ms   p99 {cuts[98]:7.1f} ms   max {lags[-1]:7.1f} ms   "
              f"({len(lags)} events; commit -> stored in the stream p50 {relayed[49]:.1f} ms, "
              f"p99 {relayed[98]:.1f} ms)")
    print(f"effects: {rows} rows for {expected} events (each applied exactly once: {rows == expected})")


def main() -> None:
    measure("SQLite", "sqlite+aiosqlite:///", lambda prefix: None)
    if postgres_available() and "--sqlite-only" not in sys.argv:
        measure("PostgreSQL", POSTGRES_URL, unique_schema)


if __name__ == "__main__":
    main()
