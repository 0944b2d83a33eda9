"""Request body limits, enforced before the body is read and while it streams in: a size limit, and an idle
timeout on every read of the body, so a client that stops sending cannot hold a request (and what it holds
open: a storage upload, a service call) for minutes."""

from __future__ import annotations

import asyncio
import json
import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.metrics import RATE_LIMIT_REFUSALS

DEFAULT_IDLE_TIMEOUT_SECONDS = 30.0


class BodyTooLarge(Exception):
    pass


class BodyStalled(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, default_limit: int, limits_by_suffix: dict[str, int],
                 idle_timeout: float | None = None) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits_by_suffix = limits_by_suffix
        self.idle_timeout = idle_timeout if idle_timeout is not None else float(
            os.environ.get("GATEWAY_BODY_IDLE_TIMEOUT_SECONDS", DEFAULT_IDLE_TIMEOUT_SECONDS))

    def limit_for(self, path: str) -> int:
        for suffix, limit in self.limits_by_suffix.items():
            if path.endswith(suffix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            RATE_LIMIT_REFUSALS.labels(limit="request_body_size").inc()
            await _too_large(send, limit)
            return
        received = 0
        exceeded = stalled = False
        body_done = False
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded, stalled, body_done
            if body_done:  # after the body, receive() only waits for a disconnect: no time limit on that
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_timeout)
            except TimeoutError:
                stalled = True
                raise BodyStalled from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            else:
                body_done = True
            return message

        async def refuse() -> None:
            RATE_LIMIT_REFUSALS.labels(limit="request_body_size" if exceeded else "request_body_idle").inc()
            if exceeded:
                await _too_large(send, limit)
            else:
                await _problem(send, 408, "Request timeout",
                               f"no part of the request body arrived for {self.idle_timeout:g} s; send it again")

        async def guarded_send(message: Message) -> None:
            # The framework may turn our exception into its own error response: once the
            # limit is passed or the body stalled, whatever it answers is replaced by ours.
            nonlocal answered
            if exceeded or stalled:
                if not answered and message["type"] == "http.response.start":
                    answered = True
                    await refuse()
                return
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except (BodyTooLarge, BodyStalled):
            pass
        except Exception:
            if not (exceeded or stalled):
                raise  # whatever failed while refusing a body is that refusal
        if (exceeded or stalled) and not answered:
            await refuse()


async def _too_large(send: Send, limit: int) -> None:
    await _problem(send, 413, "Request too large", f"the request body is larger than {limit} bytes")


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
