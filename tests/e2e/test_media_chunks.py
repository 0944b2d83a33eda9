"""Long uploads transcoded in chunks by the mesh's two real workers (sources over 25 s, ~5 s chunks: tests/conftest):
a worker killed mid-chunk loses only that chunk, and a short upload never waits for a long one's whole transcode."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import httpx
import pytest

from devmesh.client import Api
from devmesh.mesh import MEDIA_WORKERS, Mesh
from tests import media_clips
from tests.e2e.conftest import SchoolWorld, create_account
from tests.e2e.media_support import upload_file, wait_for_state
from tests.e2e.test_media import _children, _running
from tests.support import wait_until

LONG_SECONDS = 40


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chunk-clips")


@pytest.fixture
def teacher(api: Api, school: SchoolWorld) -> Api:
    return create_account(school.admin, api, role="teacher", school_id=school.id, number="MC1", name="分段老师")[1]


def chunk_lines(mesh: Mesh, asset_id: str) -> list[tuple[str, int, int]]:
    """(worker, chunk index, delivery) of every chunk the workers started on for the asset, from their logs."""
    pattern = re.compile(rf"encoding chunk (\d+)/\d+ of asset {asset_id} \(delivery (\d+)\)")
    found = []
    for worker in MEDIA_WORKERS:
        for match in pattern.finditer(mesh.log_tail(worker, 2000)):
            found.append((worker, int(match.group(1)) - 1, int(match.group(2))))
    return found


def chunk_count(mesh: Mesh, asset_id: str) -> int:
    for worker in MEDIA_WORKERS:
        if match := re.search(rf"asset {asset_id} attempt \d+ cut into (\d+) chunks", mesh.log_tail(worker, 2000)):
            return int(match.group(1))
    return 0


def test_a_long_upload_is_chunked_and_a_worker_killed_mid_chunk_loses_only_that_chunk(
    clips: Path, teacher: Api, mesh: Mesh
) -> None:
    asset = upload_file(teacher, media_clips.long_mpeg4_720p(clips, seconds=LONG_SECONDS))
    count = wait_until(lambda: chunk_count(mesh, asset["id"]), timeout=60)
    assert count >= 6
    # Wait until a worker is inside a chunk's encode, then kill it with its ffmpeg.
    started = wait_until(lambda: [line for line in chunk_lines(mesh, asset["id"])
                                  if _children(mesh.processes[line[0]].pid, "ffmpeg")], timeout=60)
    worker, lost, _ = started[-1]
    pid = mesh.processes[worker].pid
    tools = _children(pid, "ffmpeg")
    os.killpg(pid, signal.SIGKILL)
    mesh.processes[worker].wait(10)
    del mesh.processes[worker]
    wait_until(lambda: not any(_running(tool) for tool in tools), timeout=10)
    try:
        done = wait_for_state(teacher, asset["id"], "ready", "failed", within=240)
    finally:
        mesh.start_worker(worker)
    assert done["state"] == "ready", done["failure_reason"]
    assert done["renditions"] == ["360p", "720p"] and done["progress"] == 1 and not done["remuxed"]
    starts = chunk_lines(mesh, asset["id"])
    by_chunk = {index: sorted(delivery for _, i, delivery in starts if i == index) for index in range(count)}
    # The chunk being encoded when its worker died was delivered again; every other chunk was encoded once.
    redone = [index for index, deliveries in by_chunk.items() if deliveries != [1]]
    assert redone == [lost] and by_chunk[lost] == [1, 2], by_chunk
    playback = teacher.get(f"/media/assets/{asset['id']}/playback")
    assert httpx.get(playback["progressive_url"], timeout=30).content[4:8] == b"ftyp"


def ready_after_upload(teacher: Api, path: Path) -> tuple[dict, float]:
    asset = upload_file(teacher, path)
    started = time.monotonic()
    done = wait_for_state(teacher, asset["id"], "ready", "failed", within=240)
    return done, time.monotonic() - started


def test_a_short_upload_behind_a_long_one_is_ready_within_twice_its_own_time(
    clips: Path, teacher: Api, mesh: Mesh
) -> None:
    # Its own time: the short video alone, both workers idle.
    alone, own = ready_after_upload(teacher, media_clips.long_mpeg4_720p(clips, seconds=6))
    assert alone["state"] == "ready", alone["failure_reason"]
    long = upload_file(teacher, media_clips.long_mpeg4_720p(clips, seconds=LONG_SECONDS + 2))
    # Both workers are inside the long video's chunks, with more of them queued.
    wait_until(lambda: len({worker for worker, _, _ in chunk_lines(mesh, long["id"])}) == len(MEDIA_WORKERS)
               and len(chunk_lines(mesh, long["id"])) < chunk_count(mesh, long["id"]), timeout=90, interval=0.2)
    behind, waited = ready_after_upload(teacher, media_clips.long_mpeg4_720p(clips, seconds=6.2))
    assert behind["state"] == "ready", behind["failure_reason"]
    assert teacher.get(f"/media/assets/{long['id']}")["state"] in ("transcoding", "packaging")
    print(f"short alone {own:.1f} s, behind a long one {waited:.1f} s: {waited / own:.2f}x")
    assert waited <= 2 * own + 1.0, (own, waited)  # a second for the 0.3 s polling on both measures
    assert wait_for_state(teacher, long["id"], "ready", "failed", within=240)["state"] == "ready"
