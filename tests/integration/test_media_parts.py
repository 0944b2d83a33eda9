"""A part larger than announced never makes it into an asset (real S3: weed mini; real database)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from contracts.media.v1 import media_pb2
from devmesh.mesh import Mesh
from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.errors import InvalidArgument
from servicekit.migrations import script_location
from servicekit.objects import BlobStore, StoredPart
from services.media.adapters.orm import Asset
from services.media.service_layer.handlers import MediaConfig, MediaHandlers
from tests.media_support import no_policy_read

MIB = 1024 * 1024
TEACHER = Caller(user_id="t1", role="teacher", school_id="s1", province_code="33", name="t")


async def test_completion_refuses_and_frees_a_part_larger_than_announced(mesh: Mesh, database_url) -> None:  # type: ignore[no-untyped-def]
    """Storage refuses such a body at a presigned URL; a part stored by any other way (a store that does not
    check signed headers) is caught at completion: the upload is aborted, the asset gone, the answer says why."""
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("media"))
    store = BlobStore(mesh.s3_endpoint, mesh.s3_access_key, mesh.s3_secret_key, bucket="parts-test")
    await store.ensure_bucket()
    handlers = MediaHandlers(db, store, MediaConfig(), no_policy_read)
    ticket = await handlers.request_upload(TEACHER, media_pb2.RequestUploadRequest(
        filename="a.pdf", size_bytes=6 * MIB, kind="material", part_size=5 * MIB))
    asset = ticket.asset
    (_, first_url, first_size), (_, _, last_size) = ticket.parts
    assert (first_size, last_size) == (5 * MIB, MIB)
    async with httpx.AsyncClient(timeout=60) as http:
        assert (await http.put(first_url, content=b"%PDF" + b"x" * (first_size + 100))).status_code == 403
        assert (await http.put(first_url, content=b"%PDF" + b"x" * (first_size - 4))).status_code == 200
    # part 2 announced as 1 MiB, stored as 3 MiB with the service's own credentials
    etag = await asyncio.to_thread(store.client._upload_part, store.bucket, asset.source_key, b"y" * 3 * MIB, None,
                                   asset.upload_id, 2)
    stored = await store.list_parts(asset.source_key, asset.upload_id)
    with pytest.raises(InvalidArgument, match="part 2 is not the size announced"):
        await handlers.complete_upload(TEACHER, asset.id, [StoredPart(p.number, p.etag, 0) for p in stored])
    assert etag
    async with db.transaction() as session:
        refused = await session.get(Asset, asset.id)
        assert refused is not None and refused.state == "deleted" and refused.upload_id == ""
    with pytest.raises(Exception):  # noqa: B017 - the multipart upload is gone from storage
        await store.list_parts(asset.source_key, asset.upload_id)
    assert not await store.exists(asset.source_key)
    await db.dispose()
