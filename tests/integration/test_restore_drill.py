"""The restore's own guards, without a mesh: what the streams lack goes out again, and a bad archive or an occupied
folder is refused with nothing changed (the whole drill is tests/e2e/test_restore_drill.py)."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine

from devmesh.backup import FORMAT_VERSION, MANIFEST, BackupError, backup, republish_missing_events, restore
from servicekit.outbox import messaging_tables


def outbox_database(path: Path, rows: list[tuple[str, bool]]) -> None:
    """A service database's outbox (the real table definition) holding (event id, published) rows."""
    metadata = MetaData()
    messaging_tables(metadata)
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO outbox_events (event_id, subject, event_type, payload, created_at, published_at) "
            "VALUES (?, 'course.run.opened', 'course.v1.RunOpened', x'00', ?, ?)",
            [(event_id, datetime.now(UTC).isoformat(), datetime.now(UTC).isoformat() if published else None)
             for event_id, published in rows])


def unpublished(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT event_id FROM outbox_events WHERE published_at IS NULL")}


def test_events_relayed_after_the_streams_were_backed_up_are_marked_to_go_out_again(tmp_path: Path) -> None:
    database = tmp_path / "course.db"
    outbox_database(database, [("in-stream", True), ("relayed-later", True), ("never-relayed", False)])
    stream = {"in-stream"}  # the event ids the backed-up stream holds

    assert republish_missing_events(database, stream) == 1
    assert unpublished(database) == {"relayed-later", "never-relayed"}
    assert republish_missing_events(database, stream) == 0  # nothing more: running it twice changes nothing


def test_a_stream_missing_from_the_backup_means_every_event_goes_out_again(tmp_path: Path) -> None:
    database = tmp_path / "media.db"
    outbox_database(database, [("a", True), ("b", True)])
    assert republish_missing_events(database, set()) == 2
    assert unpublished(database) == {"a", "b"}


def archive_of(path: Path, files: dict[str, bytes], kind: int = tarfile.REGTYPE) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size, member.type = len(data), kind
            archive.addfile(member, io.BytesIO(data))
    return path


@pytest.mark.parametrize(("files", "reason"), [
    ({"notes.txt": b"hello"}, "no readable manifest.json"),
    ({MANIFEST: b"{not json"}, "no readable manifest.json"),
    ({MANIFEST: json.dumps({"format": 99}).encode()}, "backup format 99"),
    ({MANIFEST: b"[1, 2]"}, "not a backup manifest"),
    ({MANIFEST: json.dumps({"format": FORMAT_VERSION, "files": {"a": 3}}).encode()}, "file list is malformed"),
    ({MANIFEST: json.dumps({"format": FORMAT_VERSION, "files": {}}).encode(), "extra.db": b"x"},
     "files its manifest does not list"),
    ({MANIFEST: json.dumps({"format": FORMAT_VERSION, "files": {"databases/identity.db": {
        "size": 1, "sha256": "0" * 64}}}).encode()}, "lacks databases/identity.db"),
    ({MANIFEST: json.dumps({"format": FORMAT_VERSION, "files": {}}).encode(), "../escape": b"x"},
     "unexpected entry '../escape'"),
])
def test_a_bad_archive_is_refused_and_nothing_is_made(tmp_path: Path, files: dict[str, bytes], reason: str) -> None:
    data_dir = tmp_path / "data"
    with pytest.raises(BackupError, match=reason):
        restore(archive_of(tmp_path / "bad.tar.gz", files), data_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar.gz"]  # no data folder, no scratch, no escape


def test_not_an_archive_at_all_is_refused(tmp_path: Path) -> None:
    (tmp_path / "photo.tar.gz").write_bytes(b"\x89PNG not a tarball")
    with pytest.raises(BackupError, match="not a readable backup archive"):
        restore(tmp_path / "photo.tar.gz", tmp_path / "data")
    with pytest.raises(BackupError, match="no backup at"):
        restore(tmp_path / "missing.tar.gz", tmp_path / "data")


def test_a_non_empty_folder_is_refused_and_kept(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "course.db").write_bytes(b"precious")
    with pytest.raises(BackupError, match="is not empty.*--force"):
        restore(archive_of(tmp_path / "any.tar.gz", {"notes.txt": b""}), data_dir)
    assert (data_dir / "course.db").read_bytes() == b"precious"
    # Forced, a bad archive still changes nothing: it is checked before the folder is touched.
    with pytest.raises(BackupError, match="no readable manifest.json"):
        restore(tmp_path / "any.tar.gz", data_dir, force=True)
    assert [p.name for p in data_dir.iterdir()] == ["course.db"] and not list(tmp_path.glob("data.replaced-*"))


def test_a_folder_without_the_services_databases_is_not_backed_up(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(BackupError, match="holds no database of identity, review"):
        backup(tmp_path / "data", tmp_path / "backup.tar.gz")
    assert not (tmp_path / "backup.tar.gz").exists()
