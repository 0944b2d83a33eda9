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
    documented = [route for router in included for route in router.routes  # JSON answers documented by returns()
                  if getattr(route, "response_model", ...) is None and route.status_code not in (None, 204)]
    assert len(documented) > 150 and all(hasattr(route.endpoint, "__wrapped__") for route in documented)


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


def _answers(router_class: type) -> TestClient:  # type: ignore[type-arg]
    from datetime import UTC, datetime
    from decimal import Decimal

    from fastapi import FastAPI
    from pydantic import BaseModel

    class Shape(BaseModel):
        name: str
        at: datetime

    router = router_class()
    moment = datetime(2026, 12, 7, 4, 30, 15, 123456, tzinfo=UTC)

    @router.get("/things", response_model=None)
    async def things() -> dict:  # type: ignore[type-arg]
        return {"名称": "数据结构", "n": 3, "x": 1.5, "none": None, "at": moment, "naive": moment.replace(tzinfo=None),
                "money": Decimal("12.50"), "shape": Shape(name="甲", at=moment), "keys": {1: "a", 2.5: "b"},
                "items": [{"id": "a"}, (1, 2)], "set": {7}}

    @router.post("/things", response_model=None, status_code=201)
    async def make() -> list:  # type: ignore[type-arg]
        return [1, "二"]

    @router.delete("/things", status_code=204)
    async def remove() -> None:
        return None

    app = FastAPI()
    app.include_router(router, prefix=API_PREFIX)
    return TestClient(app)


def test_answers_are_the_json_fastapi_made_with_their_status() -> None:
    from fastapi import APIRouter

    ours, fastapis = _answers(Router), _answers(APIRouter)
    for method, status in (("GET", 200), ("POST", 201), ("DELETE", 204)):
        mine, theirs = ours.request(method, f"{API_PREFIX}/things"), fastapis.request(method, f"{API_PREFIX}/things")
        assert mine.status_code == theirs.status_code == status
        assert mine.headers.get("content-type") == theirs.headers.get("content-type")
        if status != 204:
            assert mine.json() == theirs.json()
