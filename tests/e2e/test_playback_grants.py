"""Learners play course media with the learning service's playback grants, through the gateway and the real mesh
(S3, ffmpeg workers, review): no relation to the asset's school is needed, a grant that is not theirs, not for
this asset or expired is refused; HLS master and variant playlists carry the grant; subtitles reach browsers as
WebVTT."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from devmesh.client import Api
from devmesh.mesh import Mesh
from servicekit.config import MeshSettings
from servicekit.playback import issue_grant
from servicekit.service_keys import service_key
from tests import media_clips
from tests.e2e.conftest import SchoolWorld, create_account, decide
from tests.e2e.media_support import upload, upload_file, wait_for_state
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("grant-clips")


def learning_key(mesh: Mesh) -> str:
    """The key the mesh's learning service signs grants with (development: generated into the data folder)."""
    return service_key("learning", MeshSettings(data_dir=mesh.data_dir))


def playlist(user: Api, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token if token is not None else user.token}"} if token != "" else {}
    return user.http.get(path, headers=headers)


def test_a_learner_of_another_school_plays_approved_media_with_a_grant_only(
    api: Api, clips: Path, school: SchoolWorld, other_school: SchoolWorld, mesh: Mesh
) -> None:
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id, number="GT1", name="授课老师")
    asset = upload_file(teacher, media_clips.compliant_720p(clips, seconds=5))
    ready = wait_for_state(teacher, asset["id"], "ready", "failed")
    assert ready["state"] == "ready", ready["failure_reason"]
    chinese = ("1\r\n00:00:00,000 --> 00:00:02,000\r\n同学们好\r\n\r\n"
               "2\r\n00:00:02,500 --> 00:00:04,000\r\n今天讲第一章\r\n")
    teacher.post(f"/media/assets/{asset['id']}/subtitles", data={"language": "zh"},
                 files={"file": ("zh.srt", b"\xef\xbb\xbf" + chinese.encode("gb18030"))})
    teacher.post(f"/media/assets/{asset['id']}/subtitles", data={"language": "en"},
                 files={"file": ("en.srt", b"1\n00:00:00,000 --> 00:00:02,000\nHello\nclass\n")})
    pdf = upload(teacher, b"%PDF-1.4\n" + os.urandom(2000), "handout.pdf", kind="material")  # never approved
    decide(school.admin, "media_asset", asset["id"])
    wait_until(lambda: teacher.get(f"/media/assets/{asset['id']}")["referenceable"])

    student_user, student = create_account(other_school.admin, api, role="student", school_id=other_school.id,
                                           number="GS1", name="外校学生")
    classmate_user, classmate = create_account(other_school.admin, api, role="student", school_id=other_school.id,
                                               number="GS2", name="同班同学")
    video_id = asset["id"]

    # Without a grant the asset does not exist for them.
    expect_problem(404, lambda: student.get(f"/media/assets/{video_id}/playback"))
    assert playlist(student, f"/api/v1/media/assets/{video_id}/hls/master.m3u8").status_code == 404

    key = learning_key(mesh)
    grant, _ = issue_grant(key, video_id, student_user["id"], "run-1")
    played = student.get(f"/media/assets/{video_id}/playback", params={"grant": grant})
    assert played["source_url"] == "" and played["hls_playlists"][0] == "master.m3u8"
    video = httpx.get(played["progressive_url"], timeout=30)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"

    # WebVTT for the browser's <track>: text/vtt, starting with WEBVTT, "." before the milliseconds.
    assert set(played["subtitle_vtt_urls"]) == {"zh", "en"}
    for language, expected in (("zh", "00:00:02.500 --> 00:00:04.000\n今天讲第一章"),
                               ("en", "00:00:00.000 --> 00:00:02.000\nHello\nclass")):
        answer = httpx.get(played["subtitle_vtt_urls"][language], timeout=30)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/vtt")
        text = answer.content.decode("utf-8")
        assert text.startswith("WEBVTT\n") and expected in text and "\r" not in text

    # HLS as hls.js plays it: the master from hls_url, the variants by their relative URIs, the token as usual.
    hls_url = played["hls_url"]
    assert hls_url == f"/api/v1/media/play/{grant}/assets/{video_id}/hls/master.m3u8"
    master = playlist(student, hls_url)
    assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    variant_uri = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
    variant_url = urljoin(hls_url, variant_uri)
    assert variant_url == f"/api/v1/media/play/{grant}/assets/{video_id}/hls/720p/index.m3u8"
    variant = playlist(student, variant_url)
    assert variant.status_code == 200 and "#EXTINF" in variant.text
    segment = next(line for line in variant.text.splitlines() if line.startswith("http"))
    assert httpx.get(segment, timeout=30).status_code == 200
    init = next(line for line in variant.text.splitlines() if line.startswith("#EXT-X-MAP:")).split('URI="')[1][:-1]
    assert httpx.get(init, timeout=30).content[4:8] == b"ftyp"
    assert playlist(student, hls_url, token="").status_code == 401  # the grant does not replace the token
    assert playlist(student, hls_url.replace("master.m3u8", "../../etc/passwd")).status_code == 404

    # Refused: someone else's grant, an expired one, one for another asset, a forged one, an unapproved asset.
    expect_problem(403, lambda: classmate.get(f"/media/assets/{video_id}/playback", params={"grant": grant}))
    assert playlist(classmate, hls_url).status_code == 403
    assert playlist(classmate, variant_url).status_code == 403
    assert classmate_user["id"] != student_user["id"]
    expired, _ = issue_grant(key, video_id, student_user["id"], "run-1", ttl=timedelta(hours=4),
                             now=datetime.now(UTC) - timedelta(hours=5))
    other_asset, _ = issue_grant(key, pdf["id"], student_user["id"], "run-1")
    forged, _ = issue_grant("x" * 64, video_id, student_user["id"], "run-1")
    for bad in (expired, other_asset, forged, grant[:-3] + "AAA"):
        problem = expect_problem(403, lambda bad=bad: student.get(f"/media/assets/{video_id}/playback",
                                                                  params={"grant": bad}))
        assert "grant" in problem["detail"]
        assert playlist(student, f"/api/v1/media/play/{bad}/assets/{video_id}/hls/master.m3u8").status_code == 403
    problem = expect_problem(403, lambda: student.get(f"/media/assets/{pdf['id']}/playback",
                                                      params={"grant": other_asset}))
    assert "approved" in problem["detail"]
    # The teacher and the school's admin still play it as before, by the plain route.
    assert "hls_url" in teacher.get(f"/media/assets/{video_id}/playback")
    assert playlist(school.admin, f"/api/v1/media/assets/{video_id}/hls/master.m3u8").status_code == 200
