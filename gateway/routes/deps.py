"""What every route needs: the backends, the verified caller, and protobuf to JSON."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf.message import Message
from starlette.exceptions import HTTPException

from gateway.problems import Problem
from gateway.protojson import as_json
from gateway.routing import json_bytes
from servicekit.auth import Caller, bind_caller
from servicekit.clients import bearer
from servicekit.errors import Unauthenticated

bearer_scheme = HTTPBearer(auto_error=False, description="the access_token from /api/v1/auth/login")


async def _backends(request: Request):  # type: ignore[no-untyped-def]
    # async, as every dependency here: FastAPI runs a plain function in its thread pool, a hop per request
    return request.app.state.backends


Backends = Annotated[Any, Depends(_backends)]


@dataclass(frozen=True)
class SignedInCaller:
    token: str
    caller: Caller

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return bearer(self.token)


async def _signed_in(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> SignedInCaller:
    if credentials is None:
        raise HTTPException(401, "sign in first: send Authorization: Bearer <access token>")
    try:
        caller = await request.app.state.backends.verifier.verify(credentials.credentials)
    except Unauthenticated as error:
        raise Problem(401, error.message, error.reason) from error
    bind_caller(caller)  # the request's own context (a task per request): its log lines name the caller
    return SignedInCaller(credentials.credentials, caller)


SignedIn = Annotated[SignedInCaller, Depends(_signed_in)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def _refuse_nul_characters(request: Request) -> None:
    """No text of this API holds a NUL character, and PostgreSQL cannot store one (it was a 500)."""
    texts = [*request.path_params.values(), *request.query_params.keys(), *request.query_params.values()]
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            texts.append(await request.json())
        except ValueError:
            pass  # not JSON: the body's validation says so
    if _has_nul(texts):
        raise HTTPException(400, "text must not contain NUL characters (U+0000)")


NoNulCharacters = Depends(_refuse_nul_characters)

TIMEOUT = 30.0


@dataclass(frozen=True)
class PageQuery:
    page_size: int
    page_token: str


async def _page_query(
    page_size: Annotated[int, Query(ge=0, le=200, description="items per page (default 50)")] = 0,
    page_token: Annotated[str, Query(description="next_page_token of the previous page")] = "",
) -> PageQuery:
    return PageQuery(page_size, page_token)


Paging = Annotated[PageQuery, Depends(_page_query)]


async def json_off_loop(build: Callable[[], Any]) -> Response:
    """A large answer (an import's 50,000 accounts) converted and encoded in a worker thread: done on the event
    loop it would hold every other request of this gateway for seconds."""

    return Response(await asyncio.to_thread(lambda: json_bytes(build())), media_type="application/json")


def download(content: bytes, content_type: str, filename: str, **headers: str) -> Response:
    """A file to save, its name (Chinese too) in the RFC 6266 form every browser reads."""
    return Response(content, media_type=content_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", **headers})


def sheet_url(sheet_id: str, key: str) -> str:
    """Where the creator downloads a one-time credentials sheet (once)."""
    return f"/api/v1/credential-sheets/{sheet_id}?key={key}"


def page_json(items: list[Message], next_page_token: str, total: int) -> dict[str, Any]:
    return {"items": [as_json(m) for m in items], "next_page_token": next_page_token, "total": total}
