"""Fixtures shared by the whole suite: databases (SQLite and PostgreSQL), NATS, the mesh."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from devmesh.client import Api
from devmesh.mesh import SERVICES, Mesh, Ports, free_metrics_ports
from tests.support import POSTGRES_URL, NatsServer, drop_schema, postgres_available, unique_schema

ADMIN_USERNAME = "platform"
ADMIN_PASSWORD = "Platform-admin-2026"
HOST_PROVINCE = "33"


def backends() -> list:
    return [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not postgres_available(), reason=f"no PostgreSQL at {POSTGRES_URL}"),
        ),
    ]


@pytest.fixture(params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(url, schema) of a fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}", None
        return
    schema = unique_schema()
    yield POSTGRES_URL, schema
    asyncio.run(drop_schema(schema))


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=backends())
def mesh(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """The whole mesh as `make run` starts it, on free ports, once per database backend."""
    env = {
        "IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USERNAME,
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HOST_PROVINCE": HOST_PROVINCE,
        "LOG_LEVEL": "INFO",
        "MEDIA_JOB_ACK_WAIT_SECONDS": "6",  # a killed worker's job comes back quickly
        # sources over 25 s that need encoding are cut into ~5 s chunks (tests/e2e/test_media_chunks.py); every
        # other test's transcoded clip is shorter and stays whole
        "MEDIA_CHUNK_MIN_SECONDS": "25",
        "MEDIA_CHUNK_SECONDS": "5",
        "GATEWAY_BODY_IDLE_TIMEOUT_SECONDS": "5",  # a stalled upload is cut off quickly
        "IDENTITY_CAPTCHA_TEST_MODE": "1",  # captchas carry their answer (refused in production)
        "LEARNING_EXAM_SWEEP_SECONDS": "1",  # exams whose time is up are submitted within a second
        "LEARNING_SWEEP_SECONDS": "1",  # reminders, overdue questions, daily flags: within a second
    }
    schemas = []
    if request.param == "postgresql":
        run = uuid.uuid4().hex[:8]
        for service in SERVICES:
            schema = f"t{run}_{service}"
            schemas.append(schema)
            env[f"{service.upper()}_DATABASE_URL"] = POSTGRES_URL
            env[f"{service.upper()}_DATABASE_SCHEMA"] = schema
    mesh = Mesh(data_dir=tmp_path_factory.mktemp(f"mesh-{request.param}"), ports=Ports.free(), extra_env=env,
                skewed=("learning",), metrics_ports=free_metrics_ports())  # every process serves /metrics
    mesh.start()
    yield mesh
    mesh.stop()
    for schema in schemas:
        asyncio.run(drop_schema(schema))


@pytest.fixture(scope="session")
def api(mesh: Mesh) -> Api:
    return Api(mesh.gateway_url)


@pytest.fixture(scope="session")
def platform(api: Api) -> Api:
    return api.login(ADMIN_USERNAME, ADMIN_PASSWORD)


@pytest.fixture
def time_travel(mesh: Mesh) -> Iterator[Callable[..., None]]:
    """Moves the learning service's clock forward for one test: `time_travel(days=3)` (from real time, not
    cumulative); real time again when the test ends."""

    def move(**delta: float) -> None:
        mesh.skew_clock(timedelta(**delta).total_seconds())

    yield move
    mesh.skew_clock(0)
