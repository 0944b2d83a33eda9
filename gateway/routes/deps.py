"""What every route needs: the backends, the verified caller, and protobuf to JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from starlette.exceptions import HTTPException

from servicekit.auth import Caller
from servicekit.clients import bearer
from servicekit.errors import Unauthenticated

_bearer_scheme = HTTPBearer(auto_error=False, description="the access_token from /api/v1/auth/login")


def _backends(request: Request):  # type: ignore[no-untyped-def]
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
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> SignedInCaller:
    if credentials is None:
        raise HTTPException(401, "sign in first: send Authorization: Bearer <access token>")
    try:
        caller = await request.app.state.backends.verifier.verify(credentials.credentials)
    except Unauthenticated as error:
        raise HTTPException(401, error.message) from error
    return SignedInCaller(credentials.credentials, caller)


SignedIn = Annotated[SignedInCaller, Depends(_signed_in)]

TIMEOUT = 30.0


@dataclass(frozen=True)
class PageQuery:
    page_size: int
    page_token: str


def _page_query(
    page_size: Annotated[int, Query(ge=0, le=200, description="items per page (default 50)")] = 0,
    page_token: Annotated[str, Query(description="next_page_token of the previous page")] = "",
) -> PageQuery:
    return PageQuery(page_size, page_token)


Paging = Annotated[PageQuery, Depends(_page_query)]


def as_json(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def page_json(items: list[Message], next_page_token: str, total: int) -> dict[str, Any]:
    return {"items": [as_json(m) for m in items], "next_page_token": next_page_token, "total": total}
