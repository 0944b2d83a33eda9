"""Uploads and videos that could stall the mesh or leak through it, refused through the gateway with real
storage (weed mini), real workers and real ffmpeg."""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from devmesh.client import Api
from devmesh.mesh import Mesh
from tests import media_clips
from tests.e2e.conftest import SchoolWorld, create_account
from tests.e2e.media_support import sha256, upload, upload_file, wait_for_state
from tests.e2e.test_auth import expect_problem


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hardening-clips")


@pytest.fixture
def teacher(api: Api, school: SchoolWorld) -> Api:
    return create_account(school.admin, api, role="teacher", school_id=school.id, number="HT1", name="媒体老师")[1]


def pdf(size: int) -> bytes:
    return b"%PDF-1.4\n" + os.urandom(size - 9)


def test_a_part_url_refuses_a_body_larger_or_smaller_than_declared(teacher: Api) -> None:
    data = pdf(1000)
    ticket = teacher.post("/media/uploads", {"filename": "a.pdf", "size_bytes": len(data), "sha256": sha256(data),
                                             "kind": "material"})
    url = ticket["parts"][0]["url"]
    assert httpx.put(url, content=data + os.urandom(2 * 1024 * 1024), timeout=60).status_code == 403
    assert httpx.put(url, content=data[:-1], timeout=60).status_code == 403
    resumed = teacher.get(f"/media/uploads/{ticket['asset_id']}")
    assert resumed["uploaded_parts"] == []  # storage kept nothing of either
    answer = httpx.put(resumed["parts"][0]["url"], content=data, timeout=60)
    assert answer.status_code == 200
    done = teacher.post(f"/media/uploads/{ticket['asset_id']}/complete",
                        {"parts": [{"number": 1, "etag": answer.headers["etag"].strip('"')}]})
    assert done["state"] == "ready" and int(done["size_bytes"]) == 1000


def test_numbers_too_large_for_the_service_are_a_4xx_not_a_500(teacher: Api) -> None:
    for size in (2**63, 2**64 + 5, -1):
        expect_problem(400, lambda size=size: teacher.post("/media/uploads", {"filename": "a.mp4", "size_bytes": size}))
    expect_problem(400, lambda: teacher.post("/media/uploads", {"filename": "a.mp4", "size_bytes": 1000,
                                                                "part_size": 2**63}))
    data = pdf(1000)
    ticket = teacher.post("/media/uploads", {"filename": "b.pdf", "size_bytes": len(data), "kind": "material"})
    for number in (2**40, 2**31, 0, 10_001):
        expect_problem(400, lambda number=number: teacher.post(
            f"/media/uploads/{ticket['asset_id']}/complete", {"parts": [{"number": number, "etag": "x"}]}))


def test_a_quote_or_chinese_in_a_file_name_keeps_content_disposition_whole(teacher: Api) -> None:
    name = '期末"复习" 讲义.pdf'
    asset = upload(teacher, pdf(2000), name, kind="material")
    answer = httpx.get(teacher.get(f"/media/assets/{asset['id']}/playback")["source_url"], timeout=30)
    assert answer.status_code == 200
    header = answer.headers["content-disposition"]
    match = re.fullmatch(r"""inline; filename="[^"\\]*"; filename\*=UTF-8''(\S+)""", header)
    assert match, header
    assert unquote(match.group(1)) == name


def test_referenceability_answers_only_those_who_build_the_schools_courses(
    api: Api, teacher: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    asset = upload(teacher, pdf(1500), "notes.pdf", kind="material")
    path = f"/media/assets/{asset['id']}/referenceability"
    _, colleague = create_account(school.admin, api, role="teacher", school_id=school.id, number="HT2", name="同事")
    _, own_student = create_account(school.admin, api, role="student", school_id=school.id, number="HS1",
                                    name="本校学生")
    _, other_student = create_account(other_school.admin, api, role="student", school_id=other_school.id,
                                      number="HS2", name="外校学生")
    _, other_teacher = create_account(other_school.admin, api, role="teacher", school_id=other_school.id,
                                      number="HT3", name="外校老师")
    for outsider in (other_student, own_student, other_teacher, other_school.admin):
        problem = expect_problem(404, lambda outsider=outsider: outsider.get(path))
        assert asset["id"] not in str(problem.get("detail", "")) and "material" not in str(problem)
    expect_problem(401, lambda: api.get(path))
    for insider in (teacher, colleague, school.admin):
        assert insider.get(path)["asset_id"] == asset["id"]


def _send_and_stall(mesh: Mesh, token: str, declared: int, sent: bytes) -> tuple[float, bytes]:
    """A raw streamed upload that sends `sent` of a `declared`-byte body, then nothing: (seconds, answer)."""
    host, port = mesh.gateway_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as conn:
        conn.sendall((f"PUT /api/v1/media/stream?filename=stalled.mp4 HTTP/1.1\r\nHost: {host}\r\n"
                      f"Authorization: Bearer {token}\r\nContent-Length: {declared}\r\n\r\n").encode() + sent)
        started = time.monotonic()
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b"}" in answer:
                break
        return time.monotonic() - started, answer


def test_a_streamed_upload_whose_body_stalls_is_cut_off_and_freed(clips: Path, teacher: Api, mesh: Mesh) -> None:
    data = media_clips.compliant_720p(clips, seconds=4).read_bytes()
    seconds, answer = _send_and_stall(mesh, teacher.token, len(data), data[:100_000])
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b"no part of the request body arrived" in answer
    assert 4 <= seconds < 30  # GATEWAY_BODY_IDLE_TIMEOUT_SECONDS=5 in the test mesh
    time.sleep(1)
    assert teacher.get("/media/assets", params={"state": "uploading"})["total"] == 0  # freed at once
    # the gateway still serves, and a whole upload still goes through
    answer = httpx.put(f"{mesh.gateway_url}/api/v1/media/stream", params={"filename": "whole.mp4"}, content=data,
                       headers={"Authorization": f"Bearer {teacher.token}"}, timeout=120)
    assert answer.status_code == 201, answer.text


def test_a_video_with_a_frame_stamped_five_minutes_in_is_refused_before_transcoding(
    clips: Path, teacher: Api
) -> None:
    sparse = media_clips.sparse_mkv(clips, 300)
    assert sparse.stat().st_size < 300_000
    started = time.monotonic()
    asset = upload_file(teacher, sparse)
    failed = wait_for_state(teacher, asset["id"], "failed", "ready", within=60)
    assert failed["state"] == "failed", failed
    assert "300 s apart" in failed["failure_reason"] and "timestamps" in failed["failure_reason"]
    assert time.monotonic() - started < 30  # not 88 s of encoding invented frames
    assert "/" not in failed["failure_reason"].replace("MKV/WebM", "")


def test_a_video_longer_than_the_provinces_maximum_is_refused_before_transcoding(
    clips: Path, teacher: Api
) -> None:
    asset = upload_file(teacher, media_clips.long_slideshow_mkv(clips))
    failed = wait_for_state(teacher, asset["id"], "failed", "ready", within=60)
    assert failed["state"] == "failed", failed
    assert "lasts 21 min" in failed["failure_reason"] and "at most 20 min" in failed["failure_reason"]
    assert failed["spec_report"] == []  # refused before the spec check and before any encoding
