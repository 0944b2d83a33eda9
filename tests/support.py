"""Test helpers: real servers on free ports, and database URLs for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

from devmesh.mesh import _free_port, bin_path

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def postgres_available() -> bool:
    host_port = POSTGRES_URL.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port or 5432))) == 0


def unique_schema(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


Samples = dict[str, list[tuple[dict[str, str], float]]]  # Prometheus samples by name: (labels, value) each


def scrape_metrics(url: str) -> Samples:
    """Every sample a /metrics endpoint serves, by its name, parsed as Prometheus parses the exposition."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def metric_value(samples: Samples, name: str, **labels: str) -> float:
    """The sample whose labels are exactly `labels`; 0 when it is not there yet."""
    found = [v for sample_labels, v in samples.get(name, []) if sample_labels == labels]
    assert len(found) <= 1, (name, labels)
    return found[0] if found else 0.0


async def empty_database(database_url: tuple[str, str | None]):  # type: ignore[no-untyped-def]
    """A Database on the test backend with its schema (if any) created and nothing in it: for a test that migrates
    it step by step (`alembic_upgrade`), as a backfill test does."""
    from sqlalchemy import text

    from servicekit.db import Database

    url, schema = database_url
    db = Database.from_url(url, schema)
    if schema:
        async with db.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    return db


def alembic_upgrade(connection, service: str, revision: str) -> None:  # type: ignore[no-untyped-def]
    """`service`'s schema upgraded to `revision` on `connection` (for `AsyncConnection.run_sync`)."""
    from alembic import command
    from alembic.config import Config

    from servicekit.migrations import script_location

    config = Config()
    config.set_main_option("script_location", str(script_location(service)))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def database_with(database_url: tuple[str, str | None], metadata):  # type: ignore[no-untyped-def]
    """A Database on the test backend with `metadata`'s tables created."""
    from sqlalchemy import text

    from servicekit.db import Database

    url, schema = database_url
    db = Database.from_url(url, schema)
    async with db.engine.begin() as conn:
        if schema:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(metadata.create_all)
    return db


async def drop_schema(schema: str) -> None:
    from sqlalchemy import text

    from servicekit.db import make_engine

    engine = make_engine(POSTGRES_URL)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


class NatsServer:
    """A real nats-server with JetStream on a free port, which a test may stop and restart."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.port = _free_port(set(), twin=False)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [bin_path("nats-server"), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


async def eventually(check, within: float = 15.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Polls an async or sync check until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {within}s")
        await asyncio.sleep(interval)


def wait_until(check, timeout: float = 15.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s")
        time.sleep(interval)


async def nats_as(url: str, user: str | None, password: str = "", api_wait: float = 1.0):  # type: ignore[no-untyped-def]
    """A NATS client of the mesh's bus as `user` (None: without credentials), and its JetStream context
    with a short timeout (a refused request is answered by nobody: it times out)."""
    from servicekit.messaging import NatsCredentials, connect

    credentials = NatsCredentials(user, password) if user else None
    nc = await connect(url, f"test-{user or 'anonymous'}", attempts=1, credentials=credentials)
    return nc, nc.jetstream(timeout=api_wait)
