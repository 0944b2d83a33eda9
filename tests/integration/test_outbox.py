"""The transactional outbox: events written with the change reach JetStream once, even across a NATS outage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from contracts.identity.v1 import identity_pb2
from servicekit.db import Database
from servicekit.messaging import EVENT_ID_HEADER, ensure_stream
from servicekit.outbox import OutboxRelay, emit, messaging_tables
from tests.support import NatsServer, database_with, eventually

metadata = MetaData()
outbox, inbox = messaging_tables(metadata)
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))


async def make_db(database_url) -> Database:  # type: ignore[no-untyped-def]
    return await database_with(database_url, metadata)


async def create_thing(db: Database, name: str, fail: bool = False) -> None:
    async with db.transaction() as session:
        await session.execute(things.insert().values(name=name))
        await emit(session, outbox, "identity.school.created", identity_pb2.SchoolCreated(
            school=identity_pb2.School(name=name)))
        if fail:
            raise RuntimeError("the change fails")


async def stream_event_ids(url: str) -> list[str]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    sub = await js.pull_subscribe("identity.school.created", stream="IDENTITY")
    ids = []
    while True:
        try:
            batch = await sub.fetch(100, timeout=1)
        except nats.errors.TimeoutError:
            break
        ids += [m.headers[EVENT_ID_HEADER] for m in batch]
        for m in batch:
            await m.ack()
    await nc.close()
    return ids


async def test_an_event_is_written_only_when_its_change_commits(database_url, tmp_path: Path) -> None:
    db = await make_db(database_url)
    await create_thing(db, "kept")
    with pytest.raises(RuntimeError):
        await create_thing(db, "rolled back", fail=True)
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == 1
        assert await session.scalar(select(func.count()).select_from(things)) == 1
    await db.dispose()


async def test_events_wait_while_nats_is_down_and_go_out_once_when_it_returns(database_url, tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    server.start()
    db = await make_db(database_url)
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await ensure_stream(js, "IDENTITY")
    relay = OutboxRelay(db, outbox, js, batch_size=7, poll_interval=0.2, publish_timeout=0.5)
    relay_task = asyncio.create_task(relay.run())
    try:
        for i in range(10):
            await create_thing(db, f"before-{i}")
        await eventually(lambda: _unpublished(db, expected=0))

        server.stop()
        for i in range(15):
            await create_thing(db, f"during-{i}")
        await asyncio.sleep(1.0)  # the relay tries, fails, and keeps the rows
        assert await _count_unpublished(db) == 15

        server.start()  # same port, same JetStream store
        await eventually(lambda: _unpublished(db, expected=0), within=30)
    finally:
        relay_task.cancel()
        await nc.close()
    ids = await stream_event_ids(server.url)
    async with db.transaction() as session:
        written = set(await session.scalars(select(outbox.c.event_id)))
    assert len(ids) == 25, "every event reached the stream"
    assert len(set(ids)) == len(ids), "no event was published twice"
    assert set(ids) == written
    server.stop()
    await db.dispose()


async def test_a_row_published_twice_is_stored_once(database_url, tmp_path: Path, nats_server: NatsServer) -> None:
    """A relay that crashed after publishing but before marking the row publishes it again."""
    db = await make_db(database_url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_stream(js, "IDENTITY")
    before = (await js.stream_info("IDENTITY")).state.messages
    await create_thing(db, "twice")
    relay = OutboxRelay(db, outbox, js)
    assert await relay.publish_pending() == 1
    async with db.transaction() as session:  # forget that it was published
        await session.execute(outbox.update().values(published_at=None))
    assert await relay.publish_pending() == 1
    assert (await js.stream_info("IDENTITY")).state.messages == before + 1
    await nc.close()
    await db.dispose()


async def _count_unpublished(db: Database) -> int:
    async with db.transaction() as session:
        return await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        ) or 0


async def _unpublished(db: Database, expected: int) -> bool:
    return await _count_unpublished(db) == expected
