"""python -m bench.transcode [--minutes 20]: a lecture that must be transcoded, upload complete -> ready for review,
with 1 and with 2 workers (chunked, docs/media-chunks.md), and a short upload submitted just behind a long one.

Each worker's ffmpeg is held to MEDIA_FFMPEG_THREADS (default 1) so that on a small machine two workers model two
nodes rather than two processes fighting over the same cores. Timings on a shared machine are noisy: the ratios
(baselines measured in the same run) and the load average are printed beside them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.__main__ import bench_mesh, new_user, setup
from bench.media_pipeline import join_copies
from devmesh.client import Api
from devmesh.mesh import MEDIA_WORKERS, Mesh
from services.media.adapters.ffmpeg import binaries

GOAL_TWO_WORKERS = 0.6  # 2 workers take at most this share of the one-worker time
GOAL_SHORT_BEHIND_LONG = 2.0


def lecture(ffmpeg: str, folder: Path, seconds: int, tag: str, tone: int) -> Path:
    """An MPEG-4 Part 2 720p lecture with sound, which the spec check sends to transcoding: one generated minute
    (or less) joined end to end by stream copy, so even 20 minutes cost seconds to make. Each `tone` (Hz) makes a
    different upload (the same file twice would be recognised as a duplicate)."""
    piece_seconds = min(60, seconds)
    piece = folder / f"piece-{tag}-{piece_seconds}.mov"
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "lavfi",
                    "-i", f"testsrc2=size=1280x720:rate=25:duration={piece_seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency={tone}:sample_rate=48000:"
                                         f"duration={piece_seconds}",
                    "-c:v", "mpeg4", "-b:v", "1100k", "-g", "50", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
                    str(piece)], check=True)
    if seconds <= piece_seconds:
        return piece
    out = folder / f"lecture-{tag}-{seconds}.mov"
    join_copies(ffmpeg, piece, seconds // piece_seconds, out)
    return out


def upload(teacher: Api, path: Path) -> dict:
    data = path.read_bytes()
    ticket = teacher.post("/media/uploads", {"filename": path.name, "size_bytes": len(data),
                                             "sha256": hashlib.sha256(data).hexdigest(), "kind": "course_video"})
    parts = []
    with httpx.Client(timeout=300) as http:
        for part in ticket["parts"]:
            start = (part["number"] - 1) * int(ticket["part_size"])
            answer = http.put(part["url"], content=data[start:start + int(part["size_bytes"])])
            answer.raise_for_status()
            parts.append({"number": part["number"], "etag": answer.headers["etag"].strip('"')})
    return teacher.post(f"/media/uploads/{ticket['asset_id']}/complete", {"parts": parts})


def ready(teacher: Api, asset: dict, since: float) -> float:
    """Seconds from `since` (the upload's completion) until the asset is ready for review."""
    while asset["state"] not in ("ready", "failed"):
        time.sleep(0.25)
        asset = teacher.get(f"/media/assets/{asset['id']}")
    if asset["state"] != "ready":
        raise SystemExit(f"{asset['filename']} failed: {asset['failure_reason']}")
    return time.monotonic() - since


def timed(teacher: Api, path: Path) -> float:
    asset = upload(teacher, path)
    return ready(teacher, asset, time.monotonic())


def load() -> str:
    return "load average " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def workers(mesh: Mesh, count: int) -> None:
    for name in MEDIA_WORKERS[count:]:
        mesh.stop_process(name)
    for name in MEDIA_WORKERS[:count]:
        if name not in mesh.processes:
            mesh.start_worker(name)


def busy_with_chunks(mesh: Mesh, teacher: Api, asset_id: str) -> None:
    """Until the long upload is cut and its chunks are being encoded."""
    while True:
        asset = teacher.get(f"/media/assets/{asset_id}")
        if asset["state"] == "transcoding" and asset["progress"] >= 0.05:
            return
        time.sleep(0.25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="the lecture's length (default 20)")
    parser.add_argument("--short-seconds", type=int, default=60, help="the short upload's length (default 60)")
    parser.add_argument("--chunk-seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=1, help="ffmpeg threads per worker (default 1)")
    args = parser.parse_args()
    ffmpeg, _ = binaries()
    seconds = int(args.minutes * 60)
    with tempfile.TemporaryDirectory(prefix="bench-transcode-") as data:
        folder = Path(data) / "clips"
        folder.mkdir()
        sources = {tag: lecture(ffmpeg, folder, seconds, tag, tone) for tag, tone in (("one", 330), ("two", 440),
                                                                                       ("long", 550))}
        shorts = {tag: lecture(ffmpeg, folder, args.short_seconds, tag, tone) for tag, tone in (("alone", 660),
                                                                                                 ("behind", 770))}
        mesh = bench_mesh(str(Path(data) / "mesh"), MEDIA_FFMPEG_THREADS=str(args.threads),
                          MEDIA_CHUNK_SECONDS=f"{args.chunk_seconds:g}", MEDIA_CHUNK_MIN_SECONDS="120",
                          MEDIA_JOB_ACK_WAIT_SECONDS="30")
        try:
            api, school, admin = setup(mesh)
            teacher = new_user(api, admin, school, "teacher", "T-BENCH", "基准老师")
            print(f"chunked transcoding: a {args.minutes:g}-minute 720p MPEG-4 lecture (transcoded to 360p + 720p, "
                  f"x264 veryfast), {args.chunk_seconds:g} s chunks, {args.threads} ffmpeg thread(s) per worker, "
                  f"{os.cpu_count()} cores")
            workers(mesh, 1)
            one = timed(teacher, sources["one"])
            print(f"   1 worker : {one:7.1f} s  ({seconds / one:.2f}x realtime)   {load()}")
            workers(mesh, 2)
            two = timed(teacher, sources["two"])
            print(f"   2 workers: {two:7.1f} s  ({seconds / two:.2f}x realtime)   {load()}")
            verdict = "ok" if two / one <= GOAL_TWO_WORKERS else "ABOVE GOAL"
            print(f"   2 workers / 1 worker = {two / one:.2f} (goal <= {GOAL_TWO_WORKERS}) {verdict}")
            alone = timed(teacher, shorts["alone"])
            long = upload(teacher, sources["long"])
            busy_with_chunks(mesh, teacher, long["id"])
            behind = timed(teacher, shorts["behind"])
            teacher.request("DELETE", f"/media/assets/{long['id']}")  # its remaining chunks are skipped
            verdict = "ok" if behind / alone <= GOAL_SHORT_BEHIND_LONG else "ABOVE GOAL"
            print(f"   a {args.short_seconds} s upload alone {alone:.1f} s; just behind the lecture {behind:.1f} s: "
                  f"{behind / alone:.2f}x (goal <= {GOAL_SHORT_BEHIND_LONG}) {verdict}   {load()}")
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
