"""Server errors are problem documents that close the connection; client errors keep it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.problems import problem


def test_a_5xx_problem_closes_the_connection_and_a_4xx_does_not() -> None:
    assert problem(500, "x").headers["connection"] == "close"
    assert problem(503, "x").headers["connection"] == "close"
    assert "connection" not in problem(404, "x").headers
    assert problem(401, "x").headers["www-authenticate"] == "Bearer"


def test_an_unhandled_error_is_a_500_problem_that_closes_the_connection() -> None:
    app = create_app()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    client = TestClient(app, raise_server_exceptions=False)  # no `with`: no lifespan, no NATS
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "internal error; it has been logged"
