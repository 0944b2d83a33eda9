"""Uploading through the gateway as a client does: presigned parts straight to storage."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from devmesh.client import Api
from tests.support import wait_until


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_parts(ticket: dict, data: bytes, only: set[int] | None = None) -> list[dict]:
    parts = []
    for part in ticket["parts"]:
        number = part["number"]
        if only is not None and number not in only:
            continue
        start = (number - 1) * int(ticket["part_size"])
        answer = httpx.put(part["url"], content=data[start:start + int(part["size_bytes"])], timeout=60)
        assert answer.status_code == 200, answer.text
        parts.append({"number": number, "etag": answer.headers["etag"].strip('"')})
    return parts


def upload(teacher: Api, data: bytes, filename: str, kind: str = "course_video", part_size: int = 0) -> dict:
    """The whole client flow; returns the asset as completion answers it."""
    ticket = teacher.post("/media/uploads", {"filename": filename, "size_bytes": len(data), "sha256": sha256(data),
                                             "kind": kind, "part_size": part_size})
    if ticket["duplicate_of"]:
        return {"duplicate_of": ticket["duplicate_of"]}
    parts = put_parts(ticket, data)
    return teacher.post(f"/media/uploads/{ticket['asset_id']}/complete", {"parts": parts})


def upload_file(teacher: Api, path: Path, kind: str = "course_video") -> dict:
    return upload(teacher, path.read_bytes(), path.name, kind)


def wait_for_state(api: Api, asset_id: str, *states: str, within: float = 120) -> dict:
    def check() -> dict | None:
        asset = api.get(f"/media/assets/{asset_id}")
        return asset if asset["state"] in states else None

    return wait_until(check, timeout=within, interval=0.3)
