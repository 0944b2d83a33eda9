"""Video heartbeats, gathered: the reports that arrive while one batch is on its way to the learning service go
together in the next call (`ReportProgressBatch`), so the platform's hottest route costs one gRPC call per batch
rather than per heartbeat. Each report keeps its player's token, which the learning service verifies; each is
answered on its own."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from contracts.learning.v1 import learning_pb2 as pb
from contracts.learning.v1 import learning_pb2_grpc
from gateway import problems
from gateway.protojson import as_json
from gateway.routing import json_response
from servicekit.metrics import ROUTE_TEMPLATE_KEY, progress_report

MAX_BATCH = 500
IN_FLIGHT = 2  # batches on their way at once: the next one fills while the learning service writes one
TIMEOUT = 30.0


@dataclass
class _Waiting:
    item: pb.BatchedReport
    done: asyncio.Future


class HeartbeatBatcher:
    def __init__(self, stub: learning_pb2_grpc.LearningServiceStub) -> None:
        self.stub = stub
        self._waiting: list[_Waiting] = []
        self._senders = 0

    async def report(self, token: str, request: pb.ReportProgressRequest) -> pb.BatchItemResult:
        """The item's result; a failed call (the learning service unreachable) raises its AioRpcError."""
        waiting = _Waiting(pb.BatchedReport(token=token, report=request), asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._senders < IN_FLIGHT:
            self._senders += 1
            asyncio.create_task(self._send())
        return await asyncio.shield(waiting.done)

    async def _send(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    reply = await self.stub.ReportProgressBatch(
                        pb.ReportProgressBatchRequest(items=[w.item for w in batch]), timeout=TIMEOUT)
                    if len(reply.results) != len(batch):
                        raise RuntimeError(f"{len(reply.results)} results for {len(batch)} heartbeats")
                except Exception as error:  # noqa: BLE001 - every waiting request gets the failure, none hangs
                    for waiting in batch:
                        waiting.done.set_exception(error)
                    continue
                for waiting, result in zip(batch, reply.results, strict=True):
                    waiting.done.set_result(result)
        finally:
            self._senders -= 1


# ---- the fast path ----------------------------------------------------------------------------------------

PROGRESS_PATH = re.compile(r"^/api/v1/learning/plays/([0-9a-f-]{36})/progress$")
PROGRESS_ROUTE = "/api/v1/learning/plays/{play_id}/progress"  # the documented route's template, for the metrics
MAX_BODY = 256 * 1024
SEGMENT_FIELDS = frozenset({"seq", "from_seconds", "to_seconds", "hidden", "event"})
EVENTS = frozenset({"heartbeat", "pause", "seek", "ended"})
MAX_SEGMENTS = 500
MAX_SECONDS = 24 * 3600


def _segments(body: Any) -> list[pb.Segment] | None:
    """The segments of a well-formed body, exactly as the documented route accepts them; None for anything else
    (which the documented route then answers, with its validation problem)."""
    if not isinstance(body, dict) or set(body) != {"segments"}:
        return None
    items = body["segments"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_SEGMENTS:
        return None
    segments = []
    for item in items:
        if not isinstance(item, dict) or not SEGMENT_FIELDS.issuperset(item):
            return None
        seq, start, end = item.get("seq"), item.get("from_seconds"), item.get("to_seconds")
        hidden, event = item.get("hidden", False), item.get("event", "heartbeat")
        if type(seq) is not int or seq < 1 or type(hidden) is not bool or event not in EVENTS:
            return None
        if not all(type(v) in (int, float) and 0 <= v <= MAX_SECONDS for v in (start, end)):
            return None
        segments.append(pb.Segment(seq=seq, from_seconds=start, to_seconds=end, hidden=hidden, event=event))
    return segments


class HeartbeatFastPath:
    """ASGI middleware: a well-formed heartbeat with a bearer token goes straight to the batcher, skipping the
    framework's routing, dependencies and models (the gateway's per-request cost on its hottest route). Anything
    else — no token, a body the documented route would refuse — continues to that route, which answers it."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        match = PROGRESS_PATH.match(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        token = _bearer(scope["headers"]) if match else ""
        if not token:
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False) and size <= MAX_BODY
        body = b"".join(chunks)
        segments = None
        if not more and size <= MAX_BODY:
            try:
                segments = _segments(json.loads(body))
            except ValueError:
                segments = None
        if segments is None:  # let the documented route answer, with the body it would have read
            replayed = False

            async def replay() -> dict:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": more}
                return await receive()

            await self.app(scope, replay, send)
            return
        scope[ROUTE_TEMPLATE_KEY] = PROGRESS_ROUTE
        batcher: HeartbeatBatcher = scope["app"].state.heartbeats
        try:
            result = await batcher.report(token, pb.ReportProgressRequest(play_id=match.group(1), segments=segments))
        except grpc.aio.AioRpcError as error:
            progress_report(error.code().name)  # the learning service did not answer: refused for that
            await problems.from_rpc_error(error)(scope, receive, send)
            return
        if result.code:
            code = STATUS_BY_VALUE.get(result.code)
            progress_report(result.reason or (code.name if code else "UNKNOWN"))
            status = problems.HTTP_STATUS.get(code, 500)
            response = problems.problem(status, result.message, result.reason)
        else:
            progress_report(None)
            response = json_response(as_json(result.receipt))
        await response(scope, receive, send)


STATUS_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


def _bearer(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""
