"""Abandoned uploads are aborted in storage and forgotten after a day (real S3, real database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from contracts.media.v1 import media_pb2
from devmesh.mesh import Mesh
from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.migrations import script_location
from services.media.adapters.storage import BlobStore
from services.media.service_layer.handlers import MediaConfig, MediaHandlers


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
    handlers = MediaHandlers(db, store, MediaConfig(), clock=clock)
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
