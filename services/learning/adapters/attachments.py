"""Files attached to assignment submissions, in S3-compatible storage (the learning service's own bucket): checked
by their bytes (not their names) and size before anything is stored, read through short-lived links."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

import filetype

from servicekit.db import new_id
from servicekit.errors import InvalidArgument
from servicekit.objects import BlobStore
from services.learning.domain.peer_review import MAX_FILE_BYTES

# What a student may attach: documents, spreadsheets, slides, images, archives of code, plain text.
ACCEPTED = {
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "application/zip",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
TEXT_EXTENSIONS = {".txt", ".md", ".py", ".c", ".cpp", ".java", ".csv"}
MAX_NAME = 200


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str
    content_type: str
    size: int
    key: str = ""


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    content: bytes


def check_file(filename: str, content: bytes) -> CheckedFile:
    """The file's type from its first bytes (plain text only as a text file that decodes as UTF-8), its size, and
    a name that is only a name; else InvalidArgument naming the file."""
    name = PurePath(filename.replace("\\", "/")).name.strip()[:MAX_NAME] or "file"
    if not content:
        raise InvalidArgument(f"{name} is empty", reason="EMPTY_FILE")
    if len(content) > MAX_FILE_BYTES:
        raise InvalidArgument(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB", reason="FILE_TOO_LARGE")
    kind = filetype.guess(content[:8192])
    if kind is not None and kind.mime in ACCEPTED:
        return CheckedFile(name, kind.mime, content)
    if kind is None and PurePath(name).suffix.lower() in TEXT_EXTENSIONS:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return CheckedFile(name, "text/plain; charset=utf-8", content)
    raise InvalidArgument(f"{name}: attach PDF, Word, Excel, PowerPoint, images, ZIP or UTF-8 text files",
                          reason="FILE_TYPE_REFUSED")


class AttachmentStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @classmethod
    def from_env(cls) -> AttachmentStore:
        return cls(BlobStore.from_env(os.environ.get("LEARNING_BUCKET", "learning-files")))

    check = staticmethod(check_file)

    async def put(self, assignment_id: str, submission_id: str, file: CheckedFile) -> StoredFile:
        file_id = new_id()
        key = f"assignments/{assignment_id}/{submission_id}/{file_id}"
        await self.blobs.put_bytes(key, file.content, file.content_type)
        return StoredFile(file_id, file.filename, file.content_type, len(file.content), key)

    async def delete(self, file: StoredFile) -> None:
        await self.blobs.delete_prefix(file.key)

    def link(self, file: StoredFile, lifetime: timedelta) -> str:
        return self.blobs.presign_get(file.key, lifetime, filename=file.filename, content_type=file.content_type)
