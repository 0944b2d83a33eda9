"""Media end to end: uploads to real S3, real workers with real ffmpeg, review, playback, refusals."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
from pathlib import Path

import httpx
import nats
import pytest

from contracts.media.v1 import media_pb2
from devmesh.client import Api
from devmesh.mesh import Mesh
from tests import media_clips
from tests.e2e.conftest import SchoolWorld, create_account, review_item
from tests.e2e.media_support import put_parts, sha256, upload, upload_file, wait_for_state
from tests.e2e.test_auth import expect_problem
from tests.support import nats_as, wait_until


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture
def teacher(api: Api, school: SchoolWorld) -> Api:
    return create_account(school.admin, api, role="teacher", school_id=school.id, number="MT1", name="媒体老师")[1]


async def referenceability_events(mesh: Mesh, asset_id: str) -> list[media_pb2.Referenceability]:
    # The bus takes only the mesh's users, each reading only what it consumes: read as the course service.
    nc, js = await nats_as(mesh.nats_url, "course", mesh.nats_credentials()["course"], api_wait=5)
    sub = await js.pull_subscribe("media.asset.referenceability_changed", stream="MEDIA")
    found = []
    while True:
        try:
            messages = await sub.fetch(100, timeout=1)
        except nats.errors.TimeoutError:
            break
        for message in messages:
            change = media_pb2.ReferenceabilityChanged.FromString(message.data).referenceability
            if change.asset_id == asset_id:
                found.append(change)
            await message.ack()
    await nc.close()
    return found


def test_a_compliant_video_is_remuxed_reviewed_played_and_becomes_referenceable(
    clips: Path, teacher: Api, school: SchoolWorld, mesh: Mesh
) -> None:
    asset = upload_file(teacher, media_clips.compliant_720p(clips))
    assert asset["state"] == "uploaded" and asset["format"] == "mp4" and asset["content_type"] == "video/mp4"
    ready = wait_for_state(teacher, asset["id"], "ready", "failed")
    assert ready["state"] == "ready", ready["failure_reason"]
    assert ready["remuxed"] is True and ready["progress"] == 1
    assert ready["renditions"] == ["720p"]
    report = {rule["rule"]: rule for rule in ready["spec_report"]}
    assert report["video_codec"]["status"] == "pass" and report["resolution"]["measured"] == "1280×720"
    assert report["duration"]["status"] == "warn"  # 6 s is far below the recommended 5-15 min
    assert ready["referenceable"] is False and ready["review_state"] == "unreviewed"

    item = review_item(school.admin, "media_asset", asset["id"])
    assert {r["rule"] for r in item["snapshot"]["spec_report"]} >= {"container", "frame_rate", "duration"}
    playback = school.admin.get(f"/media/assets/{asset['id']}/playback")  # the reviewer plays it
    video = httpx.get(playback["progressive_url"], timeout=30)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert httpx.get(playback["poster_url"], timeout=30).content[:3] == b"\xff\xd8\xff"
    master = school.admin.http.get(f"/api/v1/media/assets/{asset['id']}/hls/master.m3u8",
                                   headers={"Authorization": f"Bearer {school.admin.token}"})
    assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text
    variant = school.admin.http.get(f"/api/v1/media/assets/{asset['id']}/hls/720p/index.m3u8",
                                    headers={"Authorization": f"Bearer {school.admin.token}"}).text
    segment = next(line for line in variant.splitlines() if line.startswith("http"))
    assert httpx.get(segment, timeout=30).status_code == 200
    init = next(line for line in variant.splitlines() if line.startswith("#EXT-X-MAP:")).split('URI="')[1][:-1]
    assert init.startswith("http") and httpx.get(init, timeout=30).content[4:8] == b"ftyp"

    school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "approve"})
    approved = wait_until(lambda: (a := teacher.get(f"/media/assets/{asset['id']}"))["referenceable"] and a)
    assert approved["review_state"] == "approved"
    assert teacher.get(f"/media/assets/{asset['id']}/referenceability")["referenceable"] is True
    # Other services learn it from the event as well.
    changes = asyncio.run(referenceability_events(mesh, asset["id"]))
    assert [c.referenceable for c in changes] == [True]


def test_a_non_compliant_video_is_transcoded_without_upscaling_and_a_rejection_keeps_its_reason(
    clips: Path, teacher: Api, school: SchoolWorld
) -> None:
    asset = upload_file(teacher, media_clips.low_resolution_mpeg4(clips))
    ready = wait_for_state(teacher, asset["id"], "ready", "failed")
    assert ready["state"] == "ready", ready["failure_reason"]
    assert ready["remuxed"] is False and ready["renditions"] == ["360p"]
    report = {rule["rule"]: rule["status"] for rule in ready["spec_report"]}
    assert report["video_codec"] == "fail" and report["resolution"] == "fail" and report["container"] == "fail"
    item = review_item(school.admin, "media_asset", asset["id"])
    expect_problem(400, lambda: school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "reject"}))
    school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "reject", "reason": "分辨率不达标"})
    rejected = wait_until(
        lambda: (a := teacher.get(f"/media/assets/{asset['id']}"))["review_state"] == "rejected" and a
    )
    assert rejected["review_reason"] == "分辨率不达标" and rejected["referenceable"] is False
    reference = teacher.get(f"/media/assets/{asset['id']}/referenceability")
    assert reference["referenceable"] is False and "not approved" in reference["reason"]


def test_a_broken_upload_resumes_from_the_last_good_part(teacher: Api, school: SchoolWorld) -> None:
    data = b"%PDF-1.4\n" + os.urandom(11 * 1024 * 1024) + b"\n%%EOF\n"
    ticket = teacher.post("/media/uploads", {"filename": "讲义.pdf", "size_bytes": len(data), "sha256": sha256(data),
                                             "kind": "material", "part_size": 5 * 1024 * 1024})
    assert [p["number"] for p in ticket["parts"]] == [1, 2, 3]
    put_parts(ticket, data, only={1, 2})  # then the connection breaks
    expect_problem(409, lambda: teacher.post(f"/media/uploads/{ticket['asset_id']}/complete", {"parts": []}))
    resumed = teacher.get(f"/media/uploads/{ticket['asset_id']}")
    assert resumed["uploaded_parts"] == [1, 2] and [p["number"] for p in resumed["parts"]] == [3]
    put_parts(resumed, data)
    asset = teacher.post(f"/media/uploads/{ticket['asset_id']}/complete", {"parts": []})
    assert (asset["state"], asset["format"], asset["kind"]) == ("ready", "pdf", "material")
    assert asset["sha256"] == sha256(data)
    review_item(school.admin, "media_asset", asset["id"])
    again = teacher.post("/media/uploads", {"filename": "copy.pdf", "size_bytes": len(data), "sha256": sha256(data),
                                            "kind": "material"})
    assert again["duplicate_of"] == asset["id"] and again["parts"] == []


def test_uploads_are_refused_for_bad_input_and_nothing_is_kept(teacher: Api) -> None:
    def request(**body: object) -> dict:
        return teacher.post("/media/uploads", {"filename": "a.mp4", "size_bytes": 1000, "kind": "course_video",
                                               **body})

    expect_problem(400, lambda: request(size_bytes=0))
    problem = expect_problem(400, lambda: request(size_bytes=2 * 1024**3), "FILE_TOO_LARGE")
    assert "200 MB" in problem["detail"]
    expect_problem(400, lambda: request(kind="movie"))
    # One byte over the maximum reads over it; the maximum itself is accepted (the spec check agrees: ≤ 200 MB).
    problem = expect_problem(400, lambda: request(size_bytes=200_000_001), "FILE_TOO_LARGE")
    assert problem["detail"] == "the file is 200.000001 MB; one file may be at most 200 MB"
    at_most = request(size_bytes=200_000_000)
    assert at_most["asset_id"] and at_most["parts"]
    teacher.request("DELETE", f"/media/assets/{at_most['asset_id']}")
    expect_problem(400, lambda: request(sha256="xyz"))
    refused = {
        "text named .mp4": b"just some notes, not a video\n" * 40,
        "HLS playlist named .mp4": b"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nfile:///etc/passwd\n",
        "concat list named .mp4": b"ffconcat version 1.0\nfile '/etc/passwd'\n",
    }
    for label, data in refused.items():
        problem = expect_problem(400, lambda data=data: upload(teacher, data, "lecture.mp4"), "UPLOAD_REFUSED")
        assert "not an allowed type" in problem["detail"], label
    pdf = b"%PDF-1.4\n" + os.urandom(2000)
    problem = expect_problem(400, lambda: upload(teacher, pdf, "lecture.pdf", kind="course_video"), "UPLOAD_REFUSED")
    assert "must be a video" in problem["detail"]
    ticket = teacher.post("/media/uploads", {"filename": "x.pdf", "size_bytes": len(pdf), "kind": "material",
                                             "sha256": sha256(b"something else")})
    parts = put_parts(ticket, pdf)
    problem = expect_problem(400, lambda: teacher.post(f"/media/uploads/{ticket['asset_id']}/complete",
                                                       {"parts": parts}))
    assert "checksum" in problem["detail"]
    assert teacher.get("/media/assets", params={"page_size": 200})["total"] == 0  # refused files are gone


def test_the_wrong_people_are_refused(
    api: Api, clips: Path, teacher: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    data = b"%PDF-1.4\n" + os.urandom(3000)
    asset = upload(teacher, data, "notes.pdf", kind="material")
    _, student = create_account(school.admin, api, role="student", school_id=school.id, number="MS1", name="学生")
    _, colleague = create_account(school.admin, api, role="teacher", school_id=school.id, number="MT2", name="同事")
    body = {"filename": "a.mp4", "size_bytes": 1000, "kind": "course_video"}
    expect_problem(403, lambda: student.post("/media/uploads", body))
    expect_problem(403, lambda: school.admin.post("/media/uploads", body))
    expect_problem(401, lambda: api.post("/media/uploads", body))
    for outsider in (other_school.admin, colleague):
        expect_problem(404, lambda outsider=outsider: outsider.get(f"/media/assets/{asset['id']}"))
        expect_problem(404, lambda outsider=outsider: outsider.get(f"/media/assets/{asset['id']}/playback"))
        expect_problem(404, lambda outsider=outsider: outsider.request("DELETE", f"/media/assets/{asset['id']}"))
    expect_problem(403, lambda: student.get("/media/assets"))
    assert school.admin.get(f"/media/assets/{asset['id']}")["id"] == asset["id"]  # the reviewer sees it
    assert [a["id"] for a in school.admin.get("/media/assets")["items"]] == [asset["id"]]
    assert other_school.admin.get("/media/assets")["total"] == 0


def test_the_reviewer_deletes_an_asset_and_its_files_and_review(
    clips: Path, teacher: Api, school: SchoolWorld
) -> None:
    data = b"%PDF-1.4\n" + os.urandom(3000)
    asset = upload(teacher, data, "old.pdf", kind="extended_material")
    item = review_item(school.admin, "media_asset", asset["id"])
    source_url = teacher.get(f"/media/assets/{asset['id']}/playback")["source_url"]
    assert httpx.get(source_url).status_code == 200
    school.admin.request("DELETE", f"/media/assets/{asset['id']}", params={"reason": "过期资料"})
    expect_problem(404, lambda: teacher.get(f"/media/assets/{asset['id']}"))
    assert httpx.get(source_url).status_code == 404
    wait_until(lambda: school.admin.get(f"/reviews/{item['id']}")["state"] == "withdrawn")


def test_subtitles_in_chinese_and_english_attach_to_a_video(clips: Path, teacher: Api) -> None:
    asset = upload_file(teacher, media_clips.compliant_720p(clips, seconds=5))
    ready = wait_for_state(teacher, asset["id"], "ready", "failed")
    assert ready["state"] == "ready"

    def attach(language: str, text: str, encoding: str = "utf-8") -> dict:
        return teacher.post(f"/media/assets/{asset['id']}/subtitles", data={"language": language},
                            files={"file": ("subs.srt", text.encode(encoding))})

    chinese = "1\n00:00:00,000 --> 00:00:02,000\n同学们好\n\n2\n00:00:02,500 --> 00:00:04,000\n今天讲第一章\n"
    attach("zh", chinese, encoding="gb18030")
    english = "1\r\n00:00:00,000 --> 00:00:02,000\r\nHello\r\n"
    with_both = attach("en", english)
    assert {t["language"]: t["cues"] for t in with_both["subtitles"]} == {"zh": 2, "en": 1}
    stored = httpx.get(teacher.get(f"/media/assets/{asset['id']}/playback")["subtitle_urls"]["zh"])
    assert "今天讲第一章" in stored.content.decode("utf-8")
    overlapping = "1\n00:00:00,000 --> 00:00:03,000\nA\n\n2\n00:00:02,000 --> 00:00:04,000\nB\n"
    problem = expect_problem(400, lambda: attach("en", overlapping), "BAD_SUBTITLES")
    assert "line" in problem["detail"]
    beyond = "1\n00:00:00,000 --> 00:01:00,000\nToo long\n"
    expect_problem(400, lambda: attach("en", beyond))
    expect_problem(400, lambda: attach("fr", english))


def test_a_streamed_upload_through_the_gateway(clips: Path, teacher: Api, mesh: Mesh) -> None:
    path = media_clips.compliant_720p(clips, seconds=5)
    data = path.read_bytes()
    answer = httpx.put(f"{mesh.gateway_url}/api/v1/media/stream", params={"filename": "streamed.mp4"},
                       content=data, headers={"Authorization": f"Bearer {teacher.token}"}, timeout=120)
    assert answer.status_code == 201, answer.text
    asset = answer.json()
    assert asset["sha256"] == sha256(data) and int(asset["size_bytes"]) == len(data)
    assert wait_for_state(teacher, asset["id"], "ready", "failed")["state"] == "ready"
    duplicate = httpx.put(f"{mesh.gateway_url}/api/v1/media/stream", params={"filename": "again.mp4"},
                          content=data, headers={"Authorization": f"Bearer {teacher.token}"}, timeout=120)
    assert duplicate.json()["duplicate_of"] == asset["id"]


def test_two_workers_share_the_queue_and_a_killed_workers_job_is_redelivered(
    clips: Path, teacher: Api, mesh: Mesh
) -> None:
    long_source = media_clips.long_mpeg4_720p(clips)
    first = upload_file(teacher, long_source)
    busy = wait_for_state(teacher, first["id"], "transcoding", "ready", "failed")
    assert busy["state"] == "transcoding"
    # While one worker transcodes, the other takes the next job.
    second = upload_file(teacher, media_clips.compliant_720p(clips, seconds=4))
    assert wait_for_state(teacher, second["id"], "ready", "failed")["state"] == "ready"
    assert teacher.get(f"/media/assets/{first['id']}")["state"] == "transcoding"
    # Kill the worker in the middle of the job: its ffmpeg dies with it, the job comes back and finishes, and the
    # restarted worker finds its scratch folder emptied.
    worker = next(name for name in ("media_worker", "media_worker1") if f"processing asset {first['id']}"
                  in mesh.log_tail(name, 400))
    pid = mesh.processes[worker].pid
    tools = wait_until(lambda: _children(pid, "ffmpeg"))
    scratch = Path(tempfile.gettempdir()) / f"media-scratch-{mesh.processes_env[worker]['MEDIA_WORKER_GRPC_PORT']}"
    workdirs = list(scratch.glob(f"media-{first['id']}-*"))
    assert workdirs, f"no scratch folder of the job in {scratch}"
    os.killpg(pid, signal.SIGKILL)  # ffmpeg runs in a session of its own: this group does not hold it
    mesh.processes[worker].wait(10)
    del mesh.processes[worker]
    wait_until(lambda: not any(_running(tool) for tool in tools), timeout=10)
    done = wait_for_state(teacher, first["id"], "ready", "failed", within=180)
    assert done["state"] == "ready", done["failure_reason"]
    assert done["renditions"] == ["360p", "720p"] and done["progress"] == 1
    mesh.start_worker(worker)
    assert not any(path.exists() for path in workdirs)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _children(parent: int, command: str) -> list[int]:
    """The pids of `parent`'s children running `command` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
            ppid = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and name == command:
            found.append(int(stat.parent.name))
    return found


def test_a_failed_video_can_be_retried(clips: Path, teacher: Api) -> None:
    # A file whose header says MP4 but whose body is cut off: the worker fails it for good.
    data = media_clips.compliant_720p(clips).read_bytes()
    truncated = data[:4096]
    asset = upload(teacher, truncated, "cut.mp4")
    failed = wait_for_state(teacher, asset["id"], "failed", "ready")
    assert failed["state"] == "failed" and failed["failure_reason"]
    retried = teacher.post(f"/media/assets/{asset['id']}/retry")
    assert retried["state"] == "uploaded"
    assert wait_for_state(teacher, asset["id"], "failed", "ready")["state"] == "failed"
    ready = upload_file(teacher, media_clips.compliant_720p(clips, seconds=3))
    wait_for_state(teacher, ready["id"], "ready")
    expect_problem(409, lambda: teacher.post(f"/media/assets/{ready['id']}/retry"))
