"""The gateway's routers: FastAPI's, asked first whether the path's first segment is one of theirs, and answering
the JSON their routes return without FastAPI's second pass over it.

The app includes eighteen routers under /api/v1 and FastAPI finds a request's route by trying every route's
pattern of every router in turn (with some bookkeeping of its own around each try): a route of the seventh router
(the sharing list's search) paid ~0.2 ms of gateway CPU for it, where GET /me (the first router's) paid almost
nothing (bench.sharing, profiled with py-spy). A path whose segment after /api/v1 begins none of a router's routes
cannot match any of them, so that router answers "no" without trying them.

A route documented by `returns()` (no response model: nothing to validate) returns a dict of JSON types already
(`as_json`); FastAPI would still walk it with `jsonable_encoder` (0.54 ms for a page of 20) and then encode it
with json.dumps (0.09 ms). Such a route's dict or list is encoded by orjson (`json_response`) as it is returned,
with the route's status code; anything orjson does not know goes through jsonable_encoder, as before."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

API_PREFIX = "/api/v1"


class Router(APIRouter):
    """An APIRouter included under API_PREFIX (and only there) that skips paths none of its routes can match."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heads: frozenset[str] | None = None
        self._heads_of = -1  # the number of routes they were read from

    def heads(self) -> frozenset[str] | None:
        """The first segments of this router's routes; None when one starts with a parameter (it takes any)."""
        if self._heads_of != len(self.routes):
            heads: set[str] | None = set()
            for route in self.routes:
                head = getattr(route, "path", "/{").split("/", 2)[1]
                if heads is not None and "{" not in head:
                    heads.add(head)
                else:
                    heads = None
            self._heads, self._heads_of = (None if heads is None else frozenset(heads)), len(self.routes)
        return self._heads

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if kwargs.get("response_model", ...) is None and inspect.iscoroutinefunction(endpoint):
            endpoint = _answering_json(endpoint, kwargs.get("status_code") or 200)
        super().add_api_route(path, endpoint, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        heads = self.heads()
        if heads is not None:
            path = get_route_path(scope)
            if not path.startswith(API_PREFIX + "/") or path[len(API_PREFIX):].split("/", 2)[1] not in heads:
                return Match.NONE, {}
        return super().matches(scope)


def json_bytes(content: Any) -> bytes:
    """JSON encoded by orjson: what FastAPI's jsonable_encoder and json.dumps make of it, ten times faster."""
    return orjson.dumps(content, default=jsonable_encoder, option=orjson.OPT_NON_STR_KEYS)


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(json_bytes(content), status_code=status_code, media_type="application/json")


def _answering_json(endpoint: Callable[..., Any], status_code: int) -> Callable[..., Any]:
    @functools.wraps(endpoint)  # FastAPI reads the endpoint's parameters through __wrapped__
    async def answer(*args: Any, **kwargs: Any) -> Any:
        content = await endpoint(*args, **kwargs)
        return json_response(content, status_code) if isinstance(content, dict | list) else content

    return answer
