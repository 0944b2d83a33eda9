"""Migrations as a Job (`python -m servicekit.migrations upgrade`), and services that start with migrations off
(MIGRATE_ON_START=false): they refuse a schema behind the code's head, and accept a newer one (expand-then-contract).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from devmesh.mesh import REPO_ROOT, _free_port, _grpc_serving
from servicekit.db import Database
from servicekit.migrations import SchemaBehind, require_at_head, script_location
from tests.support import POSTGRES_URL, NatsServer, drop_schema, postgres_available, unique_schema

pytestmark = pytest.mark.skipif(not postgres_available(), reason=f"no PostgreSQL at {POSTGRES_URL}")

REVIEW_FIRST_REVISION = "51fc096b017d"  # services/review/migrations/versions: the first of its history


def _env(schema: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "REVIEW_DATABASE_URL": POSTGRES_URL,
            "REVIEW_DATABASE_SCHEMA": schema, **extra}


def _migrate_job(schema: str, *services: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "servicekit.migrations", "upgrade", *services], cwd=REPO_ROOT,
                          env=_env(schema), capture_output=True, text=True, timeout=120, check=False)


async def _check(schema: str) -> None:
    db = Database.from_url(POSTGRES_URL, schema)
    try:
        await require_at_head(db, script_location("review"), "review")
    finally:
        await db.dispose()


async def _execute(schema: str, statement: str) -> None:
    db = Database.from_url(POSTGRES_URL, schema)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await db.dispose()


def test_the_migration_command_brings_a_schema_to_head_and_exits() -> None:
    schema = unique_schema("job")
    try:
        with pytest.raises(SchemaBehind, match="never migrated"):
            asyncio.run(_check(schema))
        done = _migrate_job(schema, "review")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "review: schema" in done.stderr and "at head" in done.stderr
        asyncio.run(_check(schema))  # at head now
        again = _migrate_job(schema, "review")  # a Job run twice changes nothing
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        asyncio.run(drop_schema(schema))


def test_the_migration_command_refuses_an_unknown_service() -> None:
    done = _migrate_job(unique_schema("job"), "reviews")
    assert done.returncode != 0 and "unknown service 'reviews'" in done.stderr


def test_a_schema_behind_the_head_is_refused_and_a_newer_one_accepted() -> None:
    schema = unique_schema("job")
    try:
        assert _migrate_job(schema, "review").returncode == 0
        # As if the Job had not run yet for this version: the schema one revision behind.
        asyncio.run(_execute(schema, f"UPDATE alembic_version SET version_num = '{REVIEW_FIRST_REVISION}'"))
        with pytest.raises(SchemaBehind, match=f"at revision {REVIEW_FIRST_REVISION}, this code needs"):
            asyncio.run(_check(schema))
        # The next version migrated first (a revision this code does not know): the old version still starts.
        asyncio.run(_execute(schema, "UPDATE alembic_version SET version_num = 'f00d00000099'"))
        asyncio.run(_check(schema))
    finally:
        asyncio.run(drop_schema(schema))


def test_a_service_with_migrations_off_refuses_to_start_until_the_job_ran(nats_server: NatsServer,
                                                                           tmp_path) -> None:  # type: ignore[no-untyped-def]
    schema = unique_schema("job")
    port = _free_port(set(), twin=False)
    env = _env(schema, MIGRATE_ON_START="false", DATA_DIR=str(tmp_path), NATS_URL=nats_server.url,
               REVIEW_GRPC_PORT=str(port))
    try:
        refused = subprocess.run([sys.executable, "-m", "services.review"], cwd=REPO_ROOT, env=env,
                                 capture_output=True, text=True, timeout=60, check=False)
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "Run the migration Job" in refused.stderr and "Traceback" not in refused.stderr
        with pytest.raises(SchemaBehind):  # and it created nothing
            asyncio.run(_check(schema))

        assert _migrate_job(schema, "review").returncode == 0
        process = subprocess.Popen([sys.executable, "-m", "services.review"], cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not _grpc_serving(port):
                assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the service did not come up"
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(15)
    finally:
        asyncio.run(drop_schema(schema))
