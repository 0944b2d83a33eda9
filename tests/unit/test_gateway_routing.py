"""The gateway's routers skip paths none of their routes can match (gateway.routing): every route of the API is
still found, an unknown path is still 404 and a known path with another method still 405."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.routing import API_PREFIX, Router

APP = create_app()
CLIENT = TestClient(APP, raise_server_exceptions=False)  # no lifespan: no backends, so found routes answer 401/5xx
OPERATIONS = [(method.upper(), path) for path, item in APP.openapi()["paths"].items() for method in item
              if path.startswith(API_PREFIX)]


def test_the_api_has_its_routes_under_routers_that_skip() -> None:
    assert len(OPERATIONS) > 200
    included = [route.original_router for route in APP.router.routes if hasattr(route, "original_router")]
    assert len(included) >= 18 and all(isinstance(router, Router) for router in included)
    assert all(router.heads() for router in included)  # none takes every path: each skips


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_route_is_found(method: str, path: str) -> None:
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    response = CLIENT.request(method, concrete)
    assert response.status_code not in (404, 405), response.text


def test_an_unknown_path_is_404_and_another_method_405() -> None:
    assert CLIENT.get(f"{API_PREFIX}/nowhere/at/all").status_code == 404
    assert CLIENT.get(f"{API_PREFIX}/sharing/nowhere").status_code == 404
    assert CLIENT.get("/apiv1/sharing/lists").status_code in (404, 200)  # not the API: the console's fallback
    assert CLIENT.delete(f"{API_PREFIX}/sharing/lists").status_code == 405
    assert CLIENT.put(f"{API_PREFIX}/me").status_code == 405
