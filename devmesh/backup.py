"""`make backup` and `make restore`: the embedded mesh's data (every service database, every S3 object, the JetStream
streams, the keys) in one checksummed archive, taken while the mesh runs and restored into a stopped, empty data folder.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from devmesh.mesh import SERVICES, Mesh, Ports, _tcp_open, bin_path
from servicekit.messaging import EVENT_ID_HEADER, PRODUCERS, STREAMS, NatsCredentials, connect

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# What besides the databases makes the data folder the same one again: the identity service's token key (without it
# every session ends), the service keys, the bus passwords (the restored streams' owners), the mails kept so far.
KEPT_FILES = ("identity-signing-key.pem", "service-keys", "nats/credentials.json", "mail")
STREAM_OF_SERVICE = PRODUCERS  # service -> the stream its outbox relays into
FETCH_BATCH = 500


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what to do."""


# ---- finding out what runs ------------------------------------------------------------------------------------------

MESH_PROGRAMS = ("nats-server", "weed", "devmesh.smtp")  # what the mesh starts with the data folder's path


def processes_using(data_dir: Path) -> list[str]:
    """The mesh's processes (NATS, S3, SMTP) whose command line names the data folder: `pid command`. (A `make
    restore DATA_DIR=...` naming the folder is not one of them.)"""
    marker = str(data_dir.resolve())
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            command = " ".join(argv).strip()
            named = (marker + "/") in command or (marker + " ") in (command + " ")  # not a sibling data2/
            program = Path(argv[0]).name in MESH_PROGRAMS or MESH_PROGRAMS[2] in argv
            if named and program:
                found.append(f"{entry.name} {command[:160]}")
    return found


# ---- the archive's parts --------------------------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pin_sqlite(source: Path) -> sqlite3.Connection:
    """A read transaction on a live SQLite database: the moment a copy made through it shows (WAL keeps it while the
    service goes on writing)."""
    connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30, isolation_level=None)
    connection.execute("BEGIN")
    connection.execute("SELECT COUNT(*) FROM sqlite_master")  # the snapshot is taken at the first read
    return connection


def copy_pinned(source: sqlite3.Connection, target: Path) -> dict[str, int]:
    """The online backup API's copy of the pinned moment, checked; returns rows per table."""
    target.parent.mkdir(parents=True, exist_ok=True)
    dst = sqlite3.connect(target)
    try:
        source.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        return sqlite_counts(dst)
    finally:
        dst.close()


def sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise BackupError(f"integrity check failed: {verdict}")
    tables = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {table: connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in tables}


def schema_revision(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        try:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.Error:
            return ""
    return ",".join(sorted(row[0] for row in rows))


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot store {type(value).__name__} in the manifest")


@dataclass
class StreamCopy:
    """One stream as backed up: its configuration (in the JetStream API's form) and its messages in order."""

    config: dict
    messages: list[dict]


async def read_streams(nats_url: str, credentials: dict[str, str]) -> dict[str, StreamCopy]:
    """Every service stream's configuration and messages, read as the stream's own producer (the bus lets each
    service read back its own stream and nothing else). The mesh's streams hold small protobuf events: they fit in
    memory."""
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import NotFoundError

    copies: dict[str, StreamCopy] = {}
    for service, stream in STREAM_OF_SERVICE.items():
        nc = await connect(nats_url, f"backup-{service}", attempts=10,
                           credentials=NatsCredentials(service, credentials[service]))
        try:
            js = nc.jetstream()
            try:
                info = await js.stream_info(stream)
            except NotFoundError:
                continue  # its service never started: nothing to keep
            last = info.state.last_seq
            copy = copies[stream] = StreamCopy(json.loads(json.dumps(info.config.as_dict(), default=_json_default)),
                                               [])
            if not info.state.messages:
                continue
            subscription = await js.pull_subscribe(
                STREAMS[stream], stream=stream,
                config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL,
                                      inactive_threshold=30.0))
            seen = 0
            while seen < last:
                try:
                    messages = await subscription.fetch(batch=FETCH_BATCH, timeout=5)
                except (NatsTimeout, TimeoutError) as error:
                    raise BackupError(f"stream {stream} stopped answering at sequence {seen} of {last}") from error
                for message in messages:
                    sequence = message.metadata.sequence.stream
                    if sequence > last:
                        continue  # published after the backup began: the next backup takes it
                    seen = max(seen, sequence)
                    copy.messages.append({
                        "seq": sequence, "subject": message.subject, "headers": message.headers or {},
                        "data": base64.b64encode(message.data).decode(),
                        "time": message.metadata.timestamp.isoformat() if message.metadata.timestamp else "",
                    })
                if messages and messages[-1].metadata.num_pending == 0:
                    break
            await subscription.unsubscribe()
        finally:
            await nc.close()
    return copies


def write_streams(copies: dict[str, StreamCopy], target: Path) -> dict[str, int]:
    target.mkdir(parents=True, exist_ok=True)
    for stream, copy in copies.items():
        (target / f"{stream}.json").write_text(json.dumps(copy.config, indent=2))
        with (target / f"{stream}.jsonl").open("w") as out:
            out.writelines(json.dumps(message) + "\n" for message in copy.messages)
    return {stream: len(copy.messages) for stream, copy in copies.items()}


def load_streams(source: Path) -> dict[str, StreamCopy]:
    copies = {}
    for config_file in sorted(source.glob("*.json")) if source.exists() else []:
        stream = config_file.stem
        with (source / f"{stream}.jsonl").open() as lines:
            messages = [json.loads(line) for line in lines if line.strip()]
        copies[stream] = StreamCopy(json.loads(config_file.read_text()), messages)
    return copies


def backup_objects(mesh: Mesh, target: Path) -> dict[str, dict[str, int]]:
    """Every object of every bucket, with its content type and user metadata, through the S3 API."""
    from minio import Minio

    client = Minio(mesh.s3_endpoint, access_key=mesh.s3_access_key, secret_key=mesh.s3_secret_key, secure=False)
    summary: dict[str, dict[str, int]] = {}
    for bucket in client.list_buckets():
        folder = target / bucket.name
        folder.mkdir(parents=True, exist_ok=True)
        index = []
        total = 0
        for number, item in enumerate(client.list_objects(bucket.name, recursive=True)):
            if item.is_dir or item.object_name is None:
                continue
            file_name = f"{number:08d}"
            stat = client.fget_object(bucket.name, item.object_name, str(folder / file_name))
            user_metadata = {key[len("x-amz-meta-"):]: value for key, value in (stat.metadata or {}).items()
                             if key.lower().startswith("x-amz-meta-")}
            index.append({"key": item.object_name, "file": file_name, "size": stat.size,
                          "content_type": stat.content_type, "metadata": user_metadata})
            total += stat.size or 0
        (folder / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=2))
        summary[bucket.name] = {"objects": len(index), "bytes": total}
    return summary


def tool_version(name: str, *args: str) -> str:
    try:
        output = subprocess.run([bin_path(name), *args], capture_output=True, text=True, timeout=20)
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return "unknown"
    return (output.stdout or output.stderr).strip().splitlines()[0] if (output.stdout or output.stderr) else "unknown"


def platform_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("open-course-platform")
    except PackageNotFoundError:
        return "unknown"


# ---- PostgreSQL, when the run's services use it (<NAME>_DATABASE_URL) ----------------------------------------------

@dataclass(frozen=True)
class ServerDatabase:
    """A service's PostgreSQL schema: `url` in libpq's form (pg_dump's and asyncpg's)."""

    service: str
    url: str
    schema: str


def server_databases(env: Mapping[str, str]) -> dict[str, ServerDatabase]:
    """The services configured with a PostgreSQL database instead of their SQLite file."""
    found = {}
    for name in SERVICES:
        url = env.get(f"{name.upper()}_DATABASE_URL", "")
        if not url or url.startswith("sqlite"):
            continue
        if not url.startswith("postgresql"):
            raise BackupError(f"{name.upper()}_DATABASE_URL names a database this backup does not know: {url}")
        found[name] = ServerDatabase(name, re.sub(r"^postgresql\+\w+://", "postgresql://", url),
                                     env.get(f"{name.upper()}_DATABASE_SCHEMA") or "public")
    return found


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def dump_postgres(dbs: list[ServerDatabase], folder: str) -> dict[str, dict]:
    """pg_dump of each service's schema; the schemas of one database in one exported repeatable-read snapshot (one
    moment for all of them), whose row counts and schema revisions are read in that same snapshot."""
    import asyncpg

    dumped: dict[str, dict] = {}
    by_database: dict[str, list[ServerDatabase]] = {}
    for db in dbs:
        by_database.setdefault(db.url, []).append(db)
    for url, group in by_database.items():
        connection = await asyncpg.connect(url)
        try:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
                for db in group:
                    dumped[db.service] = await _dump_schema(connection, db, snapshot, f"{folder}/{db.service}.pgdump")
        finally:
            await connection.close()
    return dumped


async def _dump_schema(connection: Any, db: ServerDatabase, snapshot: str, target: str) -> dict:
    tables = [row[0] for row in await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", db.schema)]
    if not tables:
        raise BackupError(f"the schema {db.schema} holds no tables: is {db.service}'s database set right?")
    schema = _identifier(db.schema)
    counts = {table: await connection.fetchval(f"SELECT COUNT(*) FROM {schema}.{_identifier(table)}")
              for table in tables}
    revision = ",".join(sorted(row[0] for row in await connection.fetch(
        f"SELECT version_num FROM {schema}.alembic_version"))) if "alembic_version" in tables else ""
    process = await asyncio.create_subprocess_exec(
        bin_path("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--schema={db.schema}",
        f"--snapshot={snapshot}", f"--file={target}", f"--dbname={db.url}",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, errors = await process.communicate()
    if process.returncode:
        raise BackupError(f"pg_dump of {db.service} ({db.schema}) failed: {errors.decode().strip()}")
    return {"kind": "postgresql", "schema": db.schema, "rows": counts, "schema_revision": revision}


def copy_databases(data_dir: Path, on_servers: dict[str, ServerDatabase], folder: Path) -> dict[str, dict]:
    """Every service's database, as near one moment as they allow: all the SQLite files' snapshots are taken before
    any is copied (milliseconds apart, not a whole copy's time), and the schemas sharing a PostgreSQL database are
    dumped in one snapshot. An event produced and consumed between two snapshots is the one gap left: stop the mesh
    for a backup without it (docs/backup-restore.md)."""
    folder.mkdir(parents=True, exist_ok=True)
    databases: dict[str, dict] = {}
    pinned: dict[str, sqlite3.Connection] = {}
    try:
        for name in SERVICES:
            if name not in on_servers:
                try:
                    pinned[name] = pin_sqlite(data_dir / f"{name}.db")
                except sqlite3.Error as error:
                    raise BackupError(f"the {name} database could not be read: {error}") from error
        if on_servers:
            try:
                databases.update(asyncio.run(dump_postgres(list(on_servers.values()), str(folder))))
            except BackupError:
                raise
            except Exception as error:  # refused, unreachable, no such database: its words
                raise BackupError(f"the PostgreSQL databases could not be read: {error}") from error
        for name, connection in pinned.items():
            try:
                rows = copy_pinned(connection, folder / f"{name}.db")
            except (sqlite3.Error, BackupError) as error:
                raise BackupError(f"the {name} database could not be copied: {error}") from error
            databases[name] = {"kind": "sqlite", "rows": rows,
                               "schema_revision": schema_revision(folder / f"{name}.db")}
    finally:
        for connection in pinned.values():
            connection.close()
    return {name: databases[name] for name in SERVICES}


async def postgres_counts(db: ServerDatabase) -> dict[str, int]:
    import asyncpg

    connection = await asyncpg.connect(db.url)
    try:
        tables = [row[0] for row in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", db.schema)]
        return {table: await connection.fetchval(
            f"SELECT COUNT(*) FROM {_identifier(db.schema)}.{_identifier(table)}") for table in tables}
    finally:
        await connection.close()


async def schema_tables(db: ServerDatabase) -> int:
    import asyncpg

    connection = await asyncpg.connect(db.url)
    try:
        return await connection.fetchval("SELECT COUNT(*) FROM pg_tables WHERE schemaname = $1", db.schema)
    finally:
        await connection.close()


async def clear_schema(db: ServerDatabase, force: bool, suffix: str) -> str | None:
    """Makes room for the restored schema: an empty one is dropped; one with tables is refused, or with `force`
    renamed aside (returned), never dropped."""
    import asyncpg

    connection = await asyncpg.connect(db.url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", db.schema)
        if not exists:
            return None
        tables = await connection.fetchval("SELECT COUNT(*) FROM pg_tables WHERE schemaname = $1", db.schema)
        if not tables:
            await connection.execute(f"DROP SCHEMA {_identifier(db.schema)}")
            return None
        if not force:
            raise BackupError(f"the schema {db.schema} of {db.service} holds {tables} tables: restore into an empty "
                              "schema, or pass --force (make restore FORCE=1) to rename it aside first")
        aside = f"{db.schema}_replaced_{suffix}"[:63]
        await connection.execute(f"ALTER SCHEMA {_identifier(db.schema)} RENAME TO {_identifier(aside)}")
        return aside
    finally:
        await connection.close()


async def republish_missing_in_postgres(db: ServerDatabase, kept: set[str]) -> int:
    import asyncpg

    connection = await asyncpg.connect(db.url)
    try:
        outbox = f"{_identifier(db.schema)}.outbox_events"
        published = [row[0] for row in await connection.fetch(
            f"SELECT event_id FROM {outbox} WHERE published_at IS NOT NULL")]
        missing = [event_id for event_id in published if event_id not in kept]
        if missing:
            await connection.execute(f"UPDATE {outbox} SET published_at = NULL WHERE event_id = ANY($1::text[])",
                                     missing)
        return len(missing)
    finally:
        await connection.close()


def check_dump(path: Path) -> None:
    """pg_restore reads the dump's table of contents: a damaged dump is refused before anything changes."""
    listing = subprocess.run([bin_path("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if listing.returncode:
        raise BackupError(f"{path.name} is not a readable PostgreSQL dump: {listing.stderr.strip()}")


def restore_postgres(db: ServerDatabase, dump: Path) -> None:
    restored = subprocess.run([bin_path("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                               f"--dbname={db.url}", str(dump)], capture_output=True, text=True)
    if restored.returncode:
        raise BackupError(f"pg_restore of {db.service} into {db.schema} failed: {restored.stderr.strip()}")


# ---- backup ---------------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def reachable_servers(data_dir: Path, ports: Ports) -> Iterator[tuple[Mesh, bool]]:
    """The data folder's NATS and S3: the running mesh's (online backup), else both started here on free ports from
    the folder and stopped afterwards. Yields the mesh handle and whether the mesh was running."""
    users = processes_using(data_dir)
    running = any("nats-server" in user for user in users)
    if users and not running:
        raise BackupError(f"part of a mesh runs on {data_dir} without its NATS (pid {users[0]}): start the whole "
                          "mesh (`make run`) or stop it, then back up")
    if running:
        mesh = Mesh(data_dir=data_dir, ports=ports, supervise=False)
        for what, port in (("NATS", ports.nats), ("S3", ports.s3)):
            if not _tcp_open(port):
                raise BackupError(f"the mesh of {data_dir} runs but its {what} does not answer on port {port}: run "
                                  "the backup with the same *_PORT settings as `make run`")
        yield mesh, True
        return
    mesh = Mesh(data_dir=data_dir, ports=Ports.free(), supervise=False)
    try:
        mesh.start_nats()
        mesh.start_s3()
        yield mesh, False
    finally:
        mesh.stop()


def backup(data_dir: Path, target: Path, ports: Ports | None = None, env: Mapping[str, str] | None = None) -> dict:
    """Writes the archive `target` (.tar.gz) of the data folder and of the services' PostgreSQL schemas if the run
    uses them (`env`: the run's environment, default this process's); returns its manifest."""
    data_dir = data_dir.resolve()
    on_servers = server_databases(os.environ if env is None else env)
    missing = [name for name in SERVICES if name not in on_servers and not (data_dir / f"{name}.db").exists()]
    if missing:
        raise BackupError(f"{data_dir} holds no database of {', '.join(missing)}: is it the mesh's data folder "
                          "(DATA_DIR)? A service on PostgreSQL needs its <NAME>_DATABASE_URL and _SCHEMA set as "
                          "for `make run`")
    if target.exists():
        raise BackupError(f"{target} exists already: name another BACKUP")
    target.parent.mkdir(parents=True, exist_ok=True)
    credentials_file = data_dir / "nats" / "credentials.json"
    if not credentials_file.exists():
        raise BackupError(f"{credentials_file} is missing: the mesh's bus passwords are needed to read its streams")
    credentials = json.loads(credentials_file.read_text())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as scratch:
        staging = Path(scratch) / "backup"
        staging.mkdir()
        with reachable_servers(data_dir, ports or Ports.from_env()) as (mesh, online):
            # Streams first, databases after: a stream older than the databases is safe to restore (the outbox
            # publishes again what the stream lacks, the inboxes skip what was applied), a newer one is not.
            streams_taken_at = datetime.now(UTC)
            streams = write_streams(asyncio.run(read_streams(mesh.nats_url, credentials)), staging / "streams")
            databases = copy_databases(data_dir, on_servers, staging / "databases")
            for kept in KEPT_FILES:
                source = data_dir / kept
                if source.is_dir():
                    shutil.copytree(source, staging / "files" / kept)
                elif source.exists():
                    (staging / "files" / kept).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, staging / "files" / kept)
            # Objects last: every object a backed-up row names was there before the row was (uploads finish first).
            objects = backup_objects(mesh, staging / "objects")
        files = {str(path.relative_to(staging)): {"size": path.stat().st_size, "sha256": sha256_of(path)}
                 for path in sorted(staging.rglob("*")) if path.is_file()}
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(),
            "streams_taken_at": streams_taken_at.isoformat(),
            "online": online,
            "data_dir": str(data_dir),
            "versions": {"platform": platform_version(), "nats-server": tool_version("nats-server", "--version"),
                         "weed": tool_version("weed", "version"), "sqlite": sqlite3.sqlite_version,
                         "python": sys.version.split()[0]},
            "databases": databases,
            "streams": streams,
            "buckets": objects,
            "files": files,
        }
        if on_servers:
            manifest["versions"]["pg_dump"] = tool_version("pg_dump", "--version")
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
        partial = target.with_name(target.name + ".partial")
        try:
            with tarfile.open(partial, "w:gz", compresslevel=1) as archive:  # media barely compresses: be quick
                archive.add(staging / MANIFEST, arcname=MANIFEST)
                for name in files:
                    archive.add(staging / name, arcname=name)
        except BaseException:
            partial.unlink(missing_ok=True)  # never a half archive that looks like a backup
            raise
        partial.replace(target)
    manifest["seconds"] = round(time.monotonic() - started, 1)
    return manifest


# ---- restore --------------------------------------------------------------------------------------------------------

def read_archive(archive_path: Path, into: Path) -> dict:
    """Unpacks and checks the archive: every file the manifest lists, with its size and checksum, and nothing else."""
    if not archive_path.is_file():
        raise BackupError(f"no backup at {archive_path}")
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            members = archive.getmembers()
            for member in members:
                if not (member.isfile() or member.isdir()) or member.name.startswith("/") or ".." in Path(
                        member.name).parts:
                    raise BackupError(f"{archive_path} holds an unexpected entry {member.name!r}: not a backup of "
                                      "this platform")
            archive.extractall(into, filter="data")
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as error:
        raise BackupError(f"{archive_path} is not a readable backup archive ({error})") from error
    try:
        manifest = json.loads((into / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{archive_path} has no readable {MANIFEST} ({error}): not a backup of this platform") \
            from error
    if not isinstance(manifest, dict):
        raise BackupError(f"{archive_path}: {MANIFEST} is not a backup manifest")
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"{archive_path} is in backup format {manifest.get('format')!r}; this version restores "
                          f"format {FORMAT_VERSION}")
    listed = manifest.get("files", {})
    if not isinstance(listed, dict) or not all(isinstance(entry, dict) and {"size", "sha256"} <= entry.keys()
                                               for entry in listed.values()):
        raise BackupError(f"{archive_path}: the manifest's file list is malformed")
    present = {str(p.relative_to(into)) for p in into.rglob("*") if p.is_file()} - {MANIFEST}
    if present - set(listed):
        raise BackupError(f"{archive_path} holds files its manifest does not list: {sorted(present - set(listed))[:5]}")
    for name, expected in listed.items():
        path = into / name
        if not path.is_file():
            raise BackupError(f"{archive_path} lacks {name}, which its manifest lists: the backup is incomplete")
        if path.stat().st_size != expected["size"] or sha256_of(path) != expected["sha256"]:
            raise BackupError(f"{archive_path}: {name} does not match its checksum: the backup is damaged")
    for name in SERVICES:
        entry = manifest.get("databases", {}).get(name, {})
        if entry.get("kind") == "postgresql":
            path = into / "databases" / f"{name}.pgdump"
            if not path.is_file():
                raise BackupError(f"{archive_path} has no {name} database")
            check_dump(path)
            continue
        path = into / "databases" / f"{name}.db"
        if not path.is_file():
            raise BackupError(f"{archive_path} has no {name} database")
        with contextlib.closing(sqlite3.connect(path)) as connection:
            try:
                counts = sqlite_counts(connection)
            except (sqlite3.Error, BackupError) as error:
                raise BackupError(f"{archive_path}: the {name} database is damaged ({error})") from error
        if counts != manifest.get("databases", {}).get(name, {}).get("rows"):
            raise BackupError(f"{archive_path}: the {name} database's row counts differ from its manifest")
    return manifest


def republish_missing_events(database: Path, kept: set[str]) -> int:
    """Marks unpublished again the outbox rows the restored stream lacks (`kept`: the event ids it holds): relayed
    after the streams were backed up, before the databases were. The service's relay publishes them once more.
    Returns how many."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox_events'").fetchone():
            return 0
        published = [row[0] for row in connection.execute(
            "SELECT event_id FROM outbox_events WHERE published_at IS NOT NULL")]
        missing = [event_id for event_id in published if event_id not in kept]
        connection.executemany("UPDATE outbox_events SET published_at = NULL WHERE event_id = ?",
                               [(event_id,) for event_id in missing])
        connection.commit()
    return len(missing)


async def restore_streams(nats_url: str, credentials: dict[str, str], copies: dict[str, StreamCopy]) -> dict[str, int]:
    """Re-creates each stream with its configuration and publishes its messages in order, as its producer. No
    consumer is restored: each service re-creates its own and reads the stream from the start, its inbox skipping
    what its database already applied."""
    from nats.js.api import StreamConfig

    counts: dict[str, int] = {}
    for service, stream in STREAM_OF_SERVICE.items():
        copy = copies.get(stream)
        if copy is None:
            continue
        nc = await connect(nats_url, f"restore-{service}", attempts=10,
                           credentials=NatsCredentials(service, credentials[service]))
        try:
            js = nc.jetstream()
            await js.add_stream(StreamConfig.from_response(dict(copy.config)))
            published = duplicates = 0
            pending: list = []
            for record in copy.messages:
                pending.append(await js.publish_async(record["subject"], base64.b64decode(record["data"]),
                                                      headers=record["headers"] or None))
                if len(pending) >= FETCH_BATCH:
                    acks = await asyncio.gather(*pending)
                    published += len(acks)
                    duplicates += sum(1 for ack in acks if ack.duplicate)
                    pending = []
            acks = await asyncio.gather(*pending)
            published += len(acks)
            # A stream can hold one event twice (relayed again after its de-duplication window); the fresh stream
            # keeps it once, which no consumer notices (the inboxes skip a repeated event id anyway).
            duplicates += sum(1 for ack in acks if ack.duplicate)
            info = await js.stream_info(stream)
            if info.state.messages != published - duplicates:
                raise BackupError(f"stream {stream} holds {info.state.messages} messages after the restore, "
                                  f"not the {published - duplicates} of the backup")
            counts[stream] = published
        finally:
            await nc.close()
    return counts


def restore_objects(mesh: Mesh, source: Path) -> dict[str, int]:
    from minio import Minio

    client = Minio(mesh.s3_endpoint, access_key=mesh.s3_access_key, secret_key=mesh.s3_secret_key, secure=False)
    counts: dict[str, int] = {}
    for folder in sorted(p for p in source.iterdir() if p.is_dir()) if source.exists() else []:
        if not client.bucket_exists(folder.name):
            client.make_bucket(folder.name)
        index = json.loads((folder / "index.json").read_text())
        for item in index:
            client.fput_object(folder.name, item["key"], str(folder / item["file"]),
                               content_type=item["content_type"] or "application/octet-stream",
                               metadata=item["metadata"] or None)
        counts[folder.name] = len(index)
    return counts


@dataclass
class RestoreReport:
    data_dir: Path
    manifest: dict
    streams: dict[str, int]
    buckets: dict[str, int]
    republished: dict[str, int]
    moved_aside: Path | None
    schemas_aside: dict[str, str]  # service -> the name its occupied schema was renamed to (force)
    seconds: float


def restore(archive_path: Path, data_dir: Path, force: bool = False,
            env: Mapping[str, str] | None = None) -> RestoreReport:
    """Restores the archive into `data_dir`, which must be empty or absent (`force`: a non-empty one is moved aside,
    never deleted), with no mesh running on it, and into the services' PostgreSQL schemas if the run uses them
    (`env`, default this process's environment; each must be empty, or with `force` is renamed aside). The archive
    is checked whole before anything changes."""
    started = time.monotonic()
    data_dir = data_dir.resolve()
    on_servers = server_databases(os.environ if env is None else env)
    users = processes_using(data_dir)
    if users:
        raise BackupError(f"a mesh runs on {data_dir} (pid {users[0]}): stop it (Ctrl-C on `make run`) before a "
                          "restore")
    occupied = data_dir.exists() and any(data_dir.iterdir())
    if occupied and not force:
        raise BackupError(f"{data_dir} is not empty: restore into an empty folder, or pass --force (make restore "
                          "FORCE=1) to move the current data aside first")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restoring-", dir=data_dir.parent))
    try:
        unpacked = scratch / "archive"
        manifest = read_archive(archive_path, unpacked)
        backed_up = {name: manifest["databases"][name] for name in SERVICES}
        for name, entry in backed_up.items():
            kind = "postgresql" if name in on_servers else "sqlite"
            if entry.get("kind", "sqlite") != kind:
                raise BackupError(f"the backup holds {name}'s database as {entry.get('kind', 'sqlite')}, but this "
                                  f"run's {name} uses {kind}: restore with the database settings of the backup")
            if kind == "postgresql" and entry["schema"] != on_servers[name].schema:
                raise BackupError(f"the backup holds {name} in the schema {entry['schema']}, not "
                                  f"{on_servers[name].schema}: set {name.upper()}_DATABASE_SCHEMA={entry['schema']}")
        stream_copies = load_streams(unpacked / "streams")
        event_ids = {stream: {m["headers"].get(EVENT_ID_HEADER, "") for m in copy.messages}
                     for stream, copy in stream_copies.items()}
        staging = scratch / "data"
        staging.mkdir()
        republished = {}
        for name in SERVICES:
            if name in on_servers:
                continue
            shutil.copy2(unpacked / "databases" / f"{name}.db", staging / f"{name}.db")
            republished[name] = republish_missing_events(staging / f"{name}.db",
                                                         event_ids.get(PRODUCERS[name], set()))
        if (unpacked / "files").exists():
            shutil.copytree(unpacked / "files", staging, dirs_exist_ok=True)
        suffix = f"{datetime.now(UTC):%Y%m%d%H%M%S}"
        # Every schema checked before any is touched.
        occupied_schemas = [db.schema for db in on_servers.values() if asyncio.run(schema_tables(db))]
        if occupied_schemas and not force:
            raise BackupError(f"the schemas {', '.join(occupied_schemas)} hold tables: restore into empty schemas, or "
                              "pass --force (make restore FORCE=1) to rename them aside first")
        schemas_aside = {name: asyncio.run(clear_schema(db, force, suffix)) for name, db in on_servers.items()}
        for name, db in on_servers.items():
            restore_postgres(db, unpacked / "databases" / f"{name}.pgdump")
            republished[name] = asyncio.run(republish_missing_in_postgres(db, event_ids.get(PRODUCERS[name], set())))
            if asyncio.run(postgres_counts(db)) != backed_up[name]["rows"]:
                raise BackupError(f"{name}'s schema {db.schema} does not hold the backed-up rows after pg_restore")
        mesh = Mesh(data_dir=staging, ports=Ports.free(), supervise=False)
        credentials = mesh.nats_credentials()
        try:
            mesh.start_nats()
            mesh.start_s3()
            streams = asyncio.run(restore_streams(mesh.nats_url, credentials, stream_copies))
            buckets = restore_objects(mesh, unpacked / "objects")
        finally:
            mesh.stop()
        shutil.rmtree(staging / "logs", ignore_errors=True)
        moved_aside = None
        if occupied:
            moved_aside = data_dir.with_name(f"{data_dir.name}.replaced-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
            data_dir.rename(moved_aside)
        elif data_dir.exists():
            data_dir.rmdir()
        staging.rename(data_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return RestoreReport(data_dir, manifest, streams, buckets, republished, moved_aside,
                         {name: aside for name, aside in schemas_aside.items() if aside},
                         round(time.monotonic() - started, 1))


# ---- the command line -----------------------------------------------------------------------------------------------

def default_target() -> Path:
    return Path("backups") / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devmesh", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("backup", help="back up DATA_DIR (the mesh may run)")
    take.add_argument("target", nargs="?", type=Path, help="the archive to write (default backups/<time>.tar.gz)")
    put = commands.add_parser("restore", help="restore an archive into an empty DATA_DIR (the mesh stopped)")
    put.add_argument("archive", type=Path)
    put.add_argument("--force", action="store_true", help="move a non-empty DATA_DIR aside instead of refusing")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("DATA_DIR", "data"))
    try:
        if args.command == "backup":
            target = args.target or default_target()
            manifest = backup(data_dir, target)
            rows = sum(sum(db["rows"].values()) for db in manifest["databases"].values())
            objects = sum(b["objects"] for b in manifest["buckets"].values())
            print(f"Backed up {data_dir} ({'online' if manifest['online'] else 'mesh stopped'}) into {target} in "
                  f"{manifest['seconds']}s: {len(manifest['databases'])} databases ({rows} rows), {objects} objects, "
                  f"{sum(manifest['streams'].values())} events in {len(manifest['streams'])} streams.")
        else:
            report = restore(args.archive, data_dir, force=args.force)
            print(f"Restored {args.archive} (taken {report.manifest['created_at']}) into {report.data_dir} in "
                  f"{report.seconds}s: {sum(report.buckets.values())} objects, {sum(report.streams.values())} "
                  f"events; {sum(report.republished.values())} events the streams lacked go out again at the next "
                  "start.")
            if report.moved_aside:
                print(f"The data that was there is kept in {report.moved_aside}.")
            for service, aside in report.schemas_aside.items():
                print(f"{service}'s schema that was there is kept as {aside}.")
            print("Start the mesh with `make run`.")
    except BackupError as error:
        print(f"{args.command} refused: {error}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as error:  # a server that would not start, a full disk: the reason, no trace
        print(f"{args.command} failed: {error}", file=sys.stderr)
        return 1
    return 0
