"""The gateway serves the web console at / and keeps the API's own paths as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=app></div>", encoding="utf-8")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)", encoding="utf-8")
    (tmp_path / "robots.txt").write_text("User-agent: *", encoding="utf-8")
    (tmp_path.parent / "secret.txt").write_text("no", encoding="utf-8")
    monkeypatch.setenv("GATEWAY_CONSOLE_DIR", str(tmp_path))
    return TestClient(create_app())  # no lifespan: nothing here reaches a service


def test_the_app_and_its_client_side_routes(client: TestClient) -> None:
    for path in ("/", "/student/courses", "/teacher/courses/123/plan", "/login?next=/x"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "<div id=app>" in answer.text
        assert answer.headers["cache-control"] == "no-cache"
    assert client.get("/assets/index-abc.js").text == "console.log(1)"
    assert client.get("/robots.txt").text == "User-agent: *"


def test_the_api_paths_stay_the_apis(client: TestClient) -> None:
    unknown = client.get("/api/v1/no-such-route")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert client.post("/api/v1/no-such-route", json={}).status_code == 404
    assert client.post("/student/courses", json={}).status_code == 404  # only GET falls back to the app
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"]
    assert client.get("/assets/missing.js").status_code == 404


def test_no_file_outside_the_build(client: TestClient) -> None:
    answer = client.get("/..%2fsecret.txt")
    assert "no" != answer.text
    assert client.get("/assets/..%2f..%2fsecret.txt").text != "no"


def test_a_console_not_built_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CONSOLE_DIR", str(tmp_path / "missing"))
    answer = TestClient(create_app()).get("/student/courses")
    assert answer.status_code == 503
    assert "make run" in answer.text
