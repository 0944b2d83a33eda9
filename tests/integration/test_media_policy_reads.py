"""A worker's spec check waits for the school's policy: when the course service does not answer, the job fails
this delivery (and is retried by the work queue), the asset is not failed and no default spec is applied."""

from __future__ import annotations

import pytest

from contracts.media.v1 import media_pb2
from servicekit.consumer import EventMeta
from servicekit.db import Database
from servicekit.migrations import script_location
from services.media.adapters.course import PolicyUnavailable
from services.media.adapters.orm import Asset
from services.media.domain.rules import State
from services.media.domain.spec import VideoPolicy
from services.media.service_layer.processing import MediaProcessor


async def test_a_job_whose_policy_cannot_be_read_is_retried_not_checked_against_a_default(database_url) -> None:  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("media"))
    asked: list[str] = []

    async def course_away(school_id: str) -> VideoPolicy:
        asked.append(school_id)
        raise PolicyUnavailable("the course service did not give the school's policy in force (UNAVAILABLE)")

    async with db.transaction() as session:
        session.add(Asset(id="a1", owner_id="t1", school_id="s1", province_code="43", kind="lecture",
                          filename="l.mp4", category="video", format="mp4", size_bytes=10, source_key="sources/a1",
                          state=State.UPLOADED, attempt=1))
    processor = MediaProcessor(db, store=None, policies=course_away)  # type: ignore[arg-type]  # never reached
    with pytest.raises(PolicyUnavailable):
        await processor.process(None, media_pb2.AssetUploaded(asset_id="a1", attempt=1),
                                EventMeta(event_id="e1", subject="media.asset.uploaded", delivered=1))
    assert asked == ["s1"]
    async with db.transaction() as session:
        asset = await session.get(Asset, "a1")
        assert asset is not None
        # Still being processed (the next delivery carries on), nothing checked, nothing failed.
        assert (asset.state, asset.failure_reason, asset.spec_profile, asset.spec_report_json) == (
            State.PROBING, "", "", "[]")
    await db.dispose()
