"""Upload throughput through presigned URLs beside a plain S3 put of the same bytes, and the peak
memory of the gateway and the media service while a large file uploads (presigned, then streamed).

    python -m bench.media_uploads [size in MB, default 1024]
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from minio import Minio

from bench.__main__ import bench_mesh, setup
from bench.media_pipeline import generate, join_copies
from devmesh.client import Api
from devmesh.mesh import Mesh
from services.media.adapters.ffmpeg import binaries


class PeakMemory:
    """Samples the resident memory of processes every 50 ms while a block runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.baseline = {name: rss(pid) for name, pid in pids.items()}
        self.peak = dict(self.baseline)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss(pid))
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> str:
        return ", ".join(
            f"{name} peak {self.peak[name] / 2**20:.0f} MiB (+{(self.peak[name] - self.baseline[name]) / 2**20:.0f})"
            for name in self.pids
        )


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def make_file(path: Path, size: int) -> str:
    hasher = hashlib.sha256()
    with path.open("wb") as handle:
        header = b"%PDF-1.4\n"
        handle.write(header)
        hasher.update(header)
        written = len(header)
        block = os.urandom(8 * 2**20)
        while written < size:
            chunk = block[: min(len(block), size - written)]
            handle.write(chunk)
            hasher.update(chunk)
            written += len(chunk)
    return hasher.hexdigest()


def presigned_upload(teacher: Api, path: Path, digest: str) -> tuple[float, float]:
    """(seconds to upload the parts, seconds to complete, which verifies size, type and checksum)."""
    size = path.stat().st_size
    started = time.perf_counter()
    ticket = teacher.post("/media/uploads", {"filename": path.name, "size_bytes": size, "sha256": digest,
                                             "kind": "material", "part_size": 16 * 2**20})
    parts = []
    with path.open("rb") as handle, httpx.Client(timeout=300) as http:
        for part in ticket["parts"]:
            handle.seek((part["number"] - 1) * int(ticket["part_size"]))
            answer = http.put(part["url"], content=handle.read(int(part["size_bytes"])))
            answer.raise_for_status()
            parts.append({"number": part["number"], "etag": answer.headers["etag"].strip('"')})
    uploaded = time.perf_counter() - started
    started = time.perf_counter()
    asset = teacher.post(f"/media/uploads/{ticket['asset_id']}/complete", {"parts": parts})
    assert asset["state"] == "ready", asset
    return uploaded, time.perf_counter() - started


def plain_put(mesh: Mesh, path: Path) -> float:
    client = Minio(mesh.s3_endpoint, mesh.s3_access_key, mesh.s3_secret_key, secure=False, region="us-east-1")
    if not client.bucket_exists("bench-baseline"):
        client.make_bucket("bench-baseline")
    started = time.perf_counter()
    client.fput_object("bench-baseline", path.name, str(path), part_size=16 * 2**20)
    return time.perf_counter() - started


def streamed_upload(mesh: Mesh, teacher: Api, path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb") as handle:
        answer = httpx.put(f"{mesh.gateway_url}/api/v1/media/stream", params={"filename": "streamed.pdf",
                           "kind": "material"}, content=iter(lambda: handle.read(2**20), b""),
                           headers={"Authorization": f"Bearer {teacher.token}",
                                    "Content-Length": str(path.stat().st_size)}, timeout=600)
    assert answer.status_code == 201, answer.text
    return time.perf_counter() - started


def lecture_ready(teacher: Api, folder: Path) -> tuple[float, float, float]:
    """A compliant 15-minute lecture through the real mesh: (MB, upload s, complete-to-ready-for-review s)."""
    ffmpeg, _ = binaries()
    minute = folder / "minute.mp4"
    generate(ffmpeg, minute, 60, "1280x720", 25, 1200)
    lecture = folder / "lecture.mp4"
    join_copies(ffmpeg, minute, 15, lecture)
    data = lecture.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    started = time.perf_counter()
    ticket = teacher.post("/media/uploads", {"filename": "lecture.mp4", "size_bytes": len(data), "sha256": digest,
                                             "kind": "course_video"})
    parts = []
    with httpx.Client(timeout=300) as http:
        for part in ticket["parts"]:
            start = (part["number"] - 1) * int(ticket["part_size"])
            answer = http.put(part["url"], content=data[start:start + int(part["size_bytes"])])
            answer.raise_for_status()
            parts.append({"number": part["number"], "etag": answer.headers["etag"].strip('"')})
    uploaded = time.perf_counter() - started
    started = time.perf_counter()
    asset = teacher.post(f"/media/uploads/{ticket['asset_id']}/complete", {"parts": parts})
    while asset["state"] not in ("ready", "failed"):
        time.sleep(0.2)
        asset = teacher.get(f"/media/assets/{asset['id']}")
    assert asset["state"] == "ready" and asset["remuxed"], asset
    return len(data) / 1e6, uploaded, time.perf_counter() - started


def main() -> None:
    size = int(sys.argv[1]) * 10**6 if len(sys.argv) > 1 else 1024 * 10**6
    with tempfile.TemporaryDirectory() as data:
        limit = str(4 * 10**9)
        mesh = bench_mesh(data, MEDIA_MAX_UPLOAD_BYTES=limit, GATEWAY_MAX_STREAM_BYTES=limit)
        try:
            _, _, admin = setup(mesh)
            school_id = admin.get("/me")["school_id"]
            created = admin.post("/users", {"role": "teacher", "school_id": school_id, "number": "BT1",
                                            "name": "基准老师"})
            teacher = Api(mesh.gateway_url).first_login(created["credentials"]["username"],
                                                        created["credentials"]["initial_password"], "Bench-user-2026")
            path = Path(data) / "big.pdf"
            digest = make_file(path, size)
            pids = {"gateway": mesh.processes["gateway"].pid, "media": mesh.processes["media"].pid}
            baseline = plain_put(mesh, path)
            with PeakMemory(pids) as presigned_memory:
                uploaded, completed = presigned_upload(teacher, path, digest)
            with path.open("r+b") as handle:  # another file, so it is no duplicate
                handle.seek(-1, os.SEEK_END)
                last = handle.read(1)
                handle.seek(-1, os.SEEK_END)
                handle.write(b"\x01" if last == b"\x00" else b"\x00")
            with PeakMemory(pids) as streamed_memory:
                streamed = streamed_upload(mesh, teacher, path)
            path.unlink()
            lecture_mb, lecture_upload, lecture_ready_s = lecture_ready(teacher, Path(data))
        finally:
            mesh.stop()
    mb = size / 1e6
    print(f"\n== uploading {mb:.0f} MB")
    print(f"plain S3 put (minio SDK, 16 MiB parts):  {baseline:6.1f} s  {mb / baseline:7.1f} MB/s")
    print(f"presigned parts (client PUTs 16 MiB):     {uploaded:6.1f} s  {mb / uploaded:7.1f} MB/s  "
          f"ratio to the plain put {baseline / uploaded:.2f}x")
    print(f"completion (size, type, SHA-256 check):  {completed:6.1f} s")
    print(f"streamed through the gateway (+ check):  {streamed:6.1f} s  {mb / streamed:7.1f} MB/s")
    print(f"memory while the presigned upload ran: {presigned_memory.report()}")
    print(f"memory while the streamed upload ran:  {streamed_memory.report()}")
    print(f"\n== a compliant 15-minute 720p lecture ({lecture_mb:.0f} MB) through the mesh")
    print(f"upload (presigned parts): {lecture_upload:5.1f} s; complete -> ready for review (verify, probe, "
          f"remux, package, store): {lecture_ready_s:5.1f} s (target < 30 s)")


if __name__ == "__main__":
    main()
