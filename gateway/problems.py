"""RFC 9457 problem responses, and the one place gRPC status codes become HTTP statuses."""

from __future__ import annotations

import logging

import grpc
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from servicekit.grpc_server import REASON_METADATA_KEY

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"

HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Request too large",
    429: "Too many requests",
    500: "Internal error",
    501: "Not implemented",
    503: "Service unavailable",
    504: "Service timed out",
}


def problem(status: int, detail: str, reason: str = "", **extra: object) -> JSONResponse:
    body: dict[str, object] = {
        "type": f"/problems/{reason.lower().replace('_', '-')}" if reason else "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if reason:
        body["reason"] = reason
    body.update(extra)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status >= 500:
        # After a server error the connection's state is not trusted: the client opens a new one.
        headers["Connection"] = "close"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers or None)


def rpc_reason(error: grpc.aio.AioRpcError) -> str:
    """The domain error's reason, which services send in the trailing metadata."""
    for key, value in error.trailing_metadata() or ():
        if key == REASON_METADATA_KEY:
            return value if isinstance(value, str) else value.decode()
    return ""


def from_rpc_error(error: grpc.aio.AioRpcError) -> JSONResponse:
    status = HTTP_STATUS.get(error.code(), 500)
    reason = rpc_reason(error)
    detail = error.details() or error.code().name
    if status == 503:
        detail = "a service is not reachable right now; try again shortly"
    return problem(status, detail, reason)


async def rpc_error_handler(request: Request, error: grpc.aio.AioRpcError) -> JSONResponse:
    return from_rpc_error(error)


async def validation_error_handler(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = [
        {"field": ".".join(str(part) for part in e["loc"][1:]) or str(e["loc"][0]), "reason": e["msg"]}
        for e in error.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    return problem(400, detail, "VALIDATION_FAILED", errors=errors)


class Problem(HTTPException):
    """An HTTP error with a machine-readable reason (e.g. TOKEN_EXPIRED: refresh; TOKEN_REVOKED: sign in)."""

    def __init__(self, status: int, detail: str, reason: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers)
        self.reason = reason


async def http_error_handler(request: Request, error: HTTPException) -> JSONResponse:
    response = problem(error.status_code, str(error.detail), getattr(error, "reason", ""))
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


async def unhandled_error_handler(request: Request, error: Exception) -> JSONResponse:
    """Anything no other handler took: a problem response (500) that also closes the connection."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal error; it has been logged")
