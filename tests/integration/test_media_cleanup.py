"""Abandoned uploads are aborted in storage and forgotten after a day (real S3, real database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from contracts.media.v1 import media_pb2
from devmesh.mesh import Mesh
from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.migrations import script_location
from servicekit.objects import BlobStore
from services.media.service_layer.handlers import MediaConfig, MediaHandlers
from tests.media_support import no_policy_read


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_an_upload_left_unfinished_for_a_day_is_aborted_and_forgotten(mesh: Mesh, database_url) -> None:  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("media"))
    store = BlobStore(mesh.s3_endpoint, mesh.s3_access_key, mesh.s3_secret_key, bucket="cleanup-test")
    await store.ensure_bucket()
    clock = Clock()
    handlers = MediaHandlers(db, store, MediaConfig(), no_policy_read, clock=clock)
    teacher = Caller(user_id="t1", role="teacher", school_id="s1", province_code="33", name="t")
    ticket = await handlers.request_upload(teacher, media_pb2.RequestUploadRequest(
        filename="a.pdf", size_bytes=6 * 1024 * 1024, kind="material", part_size=5 * 1024 * 1024))
    _, part_url, size = ticket.parts[0]
    async with httpx.AsyncClient() as http:
        assert (await http.put(part_url, content=b"%PDF" + b"x" * (size - 4))).status_code == 200
    assert [p.number for p in await store.list_parts(ticket.asset.source_key, ticket.asset.upload_id)] == [1]

    clock.now += timedelta(hours=23)
    assert await handlers.clean_abandoned_uploads() == 0
    clock.now += timedelta(hours=2)
    assert await handlers.clean_abandoned_uploads() == 1
    async with db.transaction() as session:
        from services.media.adapters.orm import Asset

        asset = await session.get(Asset, ticket.asset.id)
        assert asset is not None and asset.state == "deleted" and "abandoned" in asset.failure_reason
    # The multipart upload is gone from storage: its parts cannot be listed any more.
    try:
        await store.list_parts(ticket.asset.source_key, ticket.asset.upload_id)
        still_there = True
    except Exception:
        still_there = False
    assert not still_there
    await db.dispose()


async def test_a_job_whose_worker_went_silent_fails_and_can_be_retried(mesh: Mesh, database_url) -> None:  # type: ignore[no-untyped-def]
    from services.media.adapters.orm import Asset

    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("media"))
    store = BlobStore(mesh.s3_endpoint, mesh.s3_access_key, mesh.s3_secret_key, bucket="cleanup-test")
    clock = Clock()
    handlers = MediaHandlers(db, store, MediaConfig(), no_policy_read, clock=clock)
    async with db.transaction() as session:
        for state, minutes_ago in (("transcoding", 20), ("packaging", 5), ("uploaded", 600)):
            session.add(Asset(id=state, owner_id="t1", school_id="s1", kind="course_video", filename="v.mp4",
                              size_bytes=1, source_key=f"sources/s1/{state}", state=state, sha256="x" * 64,
                              updated_at=clock.now - timedelta(minutes=minutes_ago)))
    assert await handlers.fail_stalled_jobs() == 1
    async with db.transaction() as session:
        states = {a.id: (a.state, a.failure_reason) for a in await session.scalars(select(Asset))}
    assert states["transcoding"][0] == "failed" and "retry" in states["transcoding"][1]
    assert states["packaging"][0] == "packaging"  # still writing progress
    assert states["uploaded"][0] == "uploaded"  # waiting in the queue is not stalling
    await db.dispose()
