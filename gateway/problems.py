"""RFC 9457 problem responses, and the one place gRPC status codes become HTTP statuses."""

from __future__ import annotations

import grpc
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from servicekit.grpc_server import REASON_METADATA_KEY

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
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def from_rpc_error(error: grpc.aio.AioRpcError) -> JSONResponse:
    status = HTTP_STATUS.get(error.code(), 500)
    reason = ""
    for key, value in error.trailing_metadata() or ():
        if key == REASON_METADATA_KEY:
            reason = value if isinstance(value, str) else value.decode()
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


async def http_error_handler(request: Request, error: HTTPException) -> JSONResponse:
    return problem(error.status_code, str(error.detail))
