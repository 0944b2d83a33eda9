"""A mesh of its own for the traces and logs tests: every process exports its spans to a JSON-lines file and
writes JSON logs to the data folder, so the tests read back what a whole run left behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devmesh.client import Api
from devmesh.mesh import Mesh, Ports
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, HOST_PROVINCE
from tests.e2e.conftest import SchoolWorld, create_account, new_code

PYTHON_PROCESSES = ("identity", "review", "media", "course", "sharing", "learning", "gateway")


@pytest.fixture(scope="session")
def traced_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    data_dir = tmp_path_factory.mktemp("mesh-traced")
    env = {
        "IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USERNAME,
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HOST_PROVINCE": HOST_PROVINCE,
        "LOG_LEVEL": "INFO",
        "IDENTITY_CAPTCHA_TEST_MODE": "1",  # captchas carry their answer: the test knows the secret to look for
        "OTEL_TRACES_FILE": str(data_dir / "traces" / "{service}.jsonl"),
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # spans reach the files within a fraction of a second
    }
    mesh = Mesh(data_dir=data_dir, ports=Ports.free(), extra_env=env)
    mesh.start()
    yield mesh
    mesh.stop()


@pytest.fixture(scope="session")
def traced_api(traced_mesh: Mesh) -> Api:
    return Api(traced_mesh.gateway_url)


@pytest.fixture(scope="session")
def traced_platform(traced_api: Api) -> Api:
    return traced_api.login(ADMIN_USERNAME, ADMIN_PASSWORD)


@pytest.fixture
def traced_school(traced_api: Api, traced_platform: Api) -> SchoolWorld:
    code = new_code()
    school = traced_platform.post("/schools", {"code": code, "name": f"测试大学{code}", "province_code": "33"})
    _, admin = create_account(traced_platform, traced_api, role="school_admin", school_id=school["id"],
                              username=f"{code.lower()}-admin", name="教务处")
    return SchoolWorld(school["id"], code, school["name"], admin)


def spans(mesh: Mesh) -> list[dict[str, Any]]:
    """Every span the mesh's processes exported so far."""
    found = []
    for path in sorted((mesh.data_dir / "traces").glob("*.jsonl")):
        found.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return found


def log_lines(mesh: Mesh) -> dict[str, list[str]]:
    """Every log file of the mesh's data folder (its Python processes', NATS', S3's, SMTP's), by process."""
    logs: Path = mesh.data_dir / "logs"
    return {path.stem: path.read_text(errors="replace").splitlines() for path in sorted(logs.glob("*.log"))}
