"""The gateway's routers: FastAPI's, asked first whether the path's first segment is one of theirs.

The app includes eighteen routers under /api/v1 and FastAPI finds a request's route by trying every route's
pattern of every router in turn (with some bookkeeping of its own around each try): a route of the seventh router
(the sharing list's search) paid ~0.2 ms of gateway CPU for it, where GET /me (the first router's) paid almost
nothing (bench.sharing, profiled with py-spy). A path whose segment after /api/v1 begins none of a router's routes
cannot match any of them, so that router answers "no" without trying them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
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

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        heads = self.heads()
        if heads is not None:
            path = get_route_path(scope)
            if not path.startswith(API_PREFIX + "/") or path[len(API_PREFIX):].split("/", 2)[1] not in heads:
                return Match.NONE, {}
        return super().matches(scope)
