"""Playback with grants and WebVTT subtitles at the handlers (real S3: weed mini; real database): a grant opens only
ready, approved media to the user it names; tracks attached before WebVTT was stored get it on first playback."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from devmesh.mesh import Mesh
from servicekit.auth import Caller
from servicekit.db import Database, new_id
from servicekit.errors import NotFound, PermissionDenied
from servicekit.migrations import script_location
from servicekit.objects import BlobStore
from servicekit.playback import issue_grant
from services.media.adapters.orm import Asset, SubtitleTrack
from services.media.domain.rules import Review, State
from services.media.service_layer.handlers import MediaConfig, MediaHandlers, webvtt_key
from tests.media_support import no_policy_read

KEY = "g" * 64
TEACHER = Caller(user_id="t1", role="teacher", school_id="s1", province_code="33", name="t")
STUDENT = Caller(user_id="learner-1", role="student", school_id="s2", province_code="33", name="l")
CLASSMATE = Caller(user_id="learner-2", role="student", school_id="s2", province_code="33", name="c")
OLD_SRT = ("\ufeff1\r\n00:00:00,000 --> 00:00:02,000\r\n同学们好\r\n第二行\r\n\r\n"
           "2\r\n10:00:02,500 --> 10:00:04,000\r\nB\r\n")


async def video(db: Database, store: BlobStore, state: str = State.READY, review: str = Review.APPROVED,
                srt: str | None = None) -> Asset:
    asset_id = new_id()
    async with db.transaction() as session:
        asset = Asset(id=asset_id, owner_id=TEACHER.user_id, school_id=TEACHER.school_id, province_code="33",
                      kind="course_video", filename="lecture.mp4", category="video", format="mp4",
                      content_type="video/mp4", size_bytes=1000, source_key=f"sources/s1/{asset_id}", state=state,
                      review_state=review, renditions_json=json.dumps(["720p"]),
                      rendition_prefix=f"renditions/{asset_id}")
        if srt is not None:  # attached before WebVTT was stored: the SRT only
            key = f"subtitles/{asset_id}/zh.srt"
            await store.put_bytes(key, srt.encode(), "application/x-subrip; charset=utf-8")
            asset.subtitles.append(SubtitleTrack(language="zh", cues=2, object_key=key))
        session.add(asset)
    return asset


@pytest.fixture
async def world(mesh: Mesh, database_url):  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("media"))
    store = BlobStore(mesh.s3_endpoint, mesh.s3_access_key, mesh.s3_secret_key, bucket="grants-test")
    await store.ensure_bucket()
    yield db, store, MediaHandlers(db, store, MediaConfig(), no_policy_read, grant_key=KEY)
    await db.dispose()


def grant(asset_id: str, user_id: str = STUDENT.user_id, key: str = KEY, **options) -> str:  # type: ignore[no-untyped-def]
    return issue_grant(key, asset_id, user_id, "run-1", **options)[0]


async def test_a_grant_plays_ready_approved_media_for_its_user_only(world) -> None:  # type: ignore[no-untyped-def]
    db, store, handlers = world
    asset = await video(db, store)
    with pytest.raises(NotFound):  # no relation to the asset's school, no grant
        await handlers.playback(STUDENT, asset.id)
    played = await handlers.playback(STUDENT, asset.id, grant(asset.id))
    assert played.progressive_url and played.hls_playlists == ["master.m3u8", "720p/index.m3u8"]
    assert played.source_url == ""  # a learner plays the renditions, not the teacher's original
    assert (await handlers.playback(TEACHER, asset.id)).source_url  # the owner still gets it
    refusals = {
        "another user's": (CLASSMATE, grant(asset.id)),
        "expired": (STUDENT, grant(asset.id, ttl=timedelta(seconds=-120))),
        "another asset's": (STUDENT, grant("some-other-asset")),
        "forged": (STUDENT, grant(asset.id, key="f" * 64)),
    }
    for label, (caller, token) in refusals.items():
        with pytest.raises(PermissionDenied):
            await handlers.playback(caller, asset.id, token)
        with pytest.raises(PermissionDenied):
            await handlers.hls_playlist(caller, asset.id, "master.m3u8", token)
        assert label
    keyless = MediaHandlers(db, store, MediaConfig(), no_policy_read)
    with pytest.raises(PermissionDenied, match="not accepted"):
        await keyless.playback(STUDENT, asset.id, grant(asset.id))


async def test_a_grant_never_opens_unfinished_or_rejected_media(world) -> None:  # type: ignore[no-untyped-def]
    db, store, handlers = world
    for state, review in ((State.READY, Review.UNREVIEWED), (State.READY, Review.REJECTED),
                          (State.TRANSCODING, Review.UNREVIEWED), (State.FAILED, Review.UNREVIEWED)):
        asset = await video(db, store, state=state, review=review)
        with pytest.raises(PermissionDenied, match="ready, approved"):
            await handlers.playback(STUDENT, asset.id, grant(asset.id))
        with pytest.raises(PermissionDenied, match="ready, approved"):
            await handlers.hls_playlist(STUDENT, asset.id, "master.m3u8", grant(asset.id))
    deleted = await video(db, store, state=State.DELETED)
    with pytest.raises(NotFound):
        await handlers.playback(STUDENT, deleted.id, grant(deleted.id))


async def test_subtitles_attached_before_webvtt_get_it_on_first_playback(world) -> None:  # type: ignore[no-untyped-def]
    db, store, handlers = world
    asset = await video(db, store, srt=OLD_SRT)
    vtt_key = webvtt_key(f"subtitles/{asset.id}/zh.srt")
    assert vtt_key.endswith("/zh.vtt") and not await store.exists(vtt_key)
    played = await handlers.playback(STUDENT, asset.id, grant(asset.id))
    assert set(played.subtitle_urls) == set(played.subtitle_vtt_urls) == {"zh"}
    assert await store.exists(vtt_key)
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.get(played.subtitle_vtt_urls["zh"])
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/vtt")
    text = answer.content.decode("utf-8")
    assert text.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.000\n同学们好\n第二行\n\n")
    assert "10:00:02.500 --> 10:00:04.000" in text and "\r" not in text
    again = await handlers.playback(TEACHER, asset.id)  # converted once, then only signed
    assert "zh" in again.subtitle_vtt_urls
