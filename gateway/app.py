"""The gateway application: wiring, health, and the routes under /api/v1."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from grpc_health.v1 import health_pb2, health_pb2_grpc
from starlette.exceptions import HTTPException

from contracts.course.v1 import course_pb2_grpc
from contracts.identity.v1 import identity_pb2_grpc
from contracts.learning.v1 import (
    assessments_pb2_grpc,
    assignments_pb2_grpc,
    at_risk_pb2_grpc,
    evaluation_pb2_grpc,
    forum_pb2_grpc,
    grades_pb2_grpc,
    inbox_pb2_grpc,
    learning_pb2_grpc,
    notices_pb2_grpc,
)
from contracts.media.v1 import media_pb2_grpc
from contracts.review.v1 import review_pb2_grpc
from contracts.sharing.v1 import sharing_pb2_grpc
from gateway import problems
from gateway.console import mount_console
from gateway.heartbeats import HeartbeatBatcher, HeartbeatFastPath
from gateway.limits import BodyLimitMiddleware
from gateway.openapi_types import Jwks, health_responses, returns
from gateway.ratelimit import RateLimits, configured_limits
from gateway.routes import (
    accounts,
    assessments,
    assignments,
    at_risk,
    courses,
    evaluation,
    forum,
    grades,
    inbox,
    learning,
    media,
    policies,
    projects,
    reviews,
    sharing,
    statistics,
    workload,
)
from gateway.routing import API_PREFIX
from servicekit import tracing
from servicekit.auth import TokenVerifier
from servicekit.clients import channel, jwks_from_identity
from servicekit.config import MeshSettings
from servicekit.messaging import connect
from servicekit.metrics import HttpMetricsMiddleware
from servicekit.stopping import stop_tasks


@dataclass
class Backends:
    """The channels and stubs of the services the gateway forwards to."""

    channels: dict[str, grpc.aio.Channel]
    identity: identity_pb2_grpc.IdentityServiceStub
    review: review_pb2_grpc.ReviewServiceStub
    media: media_pb2_grpc.MediaServiceStub
    course: course_pb2_grpc.CourseServiceStub
    sharing: sharing_pb2_grpc.SharingServiceStub
    learning: learning_pb2_grpc.LearningServiceStub
    assessments: assessments_pb2_grpc.AssessmentServiceStub
    assignments: assignments_pb2_grpc.AssignmentServiceStub
    notices: notices_pb2_grpc.NoticeServiceStub
    grades: grades_pb2_grpc.GradebookServiceStub
    forum: forum_pb2_grpc.ForumServiceStub
    inbox: inbox_pb2_grpc.InboxServiceStub
    at_risk: at_risk_pb2_grpc.AtRiskServiceStub
    evaluation: evaluation_pb2_grpc.EvaluationServiceStub
    verifier: TokenVerifier

    @classmethod
    def connect(cls, mesh: MeshSettings) -> Backends:
        channels = {
            "identity": channel(mesh.identity_addr),
            "review": channel(mesh.review_addr),
            "media": channel(mesh.media_addr),
            "course": channel(mesh.course_addr),
            "sharing": channel(mesh.sharing_addr),
            "learning": channel(mesh.learning_addr),
        }
        return cls(
            channels=channels,
            identity=identity_pb2_grpc.IdentityServiceStub(channels["identity"]),
            review=review_pb2_grpc.ReviewServiceStub(channels["review"]),
            media=media_pb2_grpc.MediaServiceStub(channels["media"]),
            course=course_pb2_grpc.CourseServiceStub(channels["course"]),
            sharing=sharing_pb2_grpc.SharingServiceStub(channels["sharing"]),
            learning=learning_pb2_grpc.LearningServiceStub(channels["learning"]),
            assessments=assessments_pb2_grpc.AssessmentServiceStub(channels["learning"]),
            assignments=assignments_pb2_grpc.AssignmentServiceStub(channels["learning"]),
            notices=notices_pb2_grpc.NoticeServiceStub(channels["learning"]),
            grades=grades_pb2_grpc.GradebookServiceStub(channels["learning"]),
            forum=forum_pb2_grpc.ForumServiceStub(channels["learning"]),
            inbox=inbox_pb2_grpc.InboxServiceStub(channels["learning"]),
            at_risk=at_risk_pb2_grpc.AtRiskServiceStub(channels["learning"]),
            evaluation=evaluation_pb2_grpc.EvaluationServiceStub(channels["learning"]),
            verifier=TokenVerifier(jwks_from_identity(channels["identity"]), mesh.token_issuer),
        )

    async def close(self) -> None:
        for ch in self.channels.values():
            await ch.close()


def create_app(mesh: MeshSettings | None = None) -> FastAPI:
    mesh = mesh or MeshSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = configured_limits()
        app.state.backends = Backends.connect(mesh)
        app.state.heartbeats = HeartbeatBatcher(app.state.backends.learning)
        # NATS: revoked sessions (the token verifier's deny list) and the replicas' shared rate limits.
        app.state.nats = await connect(mesh.nats_url, "gateway")
        js = app.state.nats.jetstream()
        follower = asyncio.create_task(app.state.backends.verifier.revocations.follow(js))
        app.state.rate_limits = await RateLimits.over_nats(js, limits)
        yield
        await stop_tasks([follower])
        await app.state.nats.close()
        await app.state.backends.close()

    app = FastAPI(
        title="Open course platform",
        version="1",
        description="Cross-school online open courses: accounts, schools, reviews. "
        "Sign in at POST /api/v1/auth/login and send `Authorization: Bearer <access_token>`.",
        lifespan=lifespan,
        # FastAPI's own spans would carry raw paths and query strings (playback grants, sheet keys): the gateway's
        # span is servicekit.tracing's, named by the route's template only.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.add_exception_handler(grpc.aio.AioRpcError, problems.rpc_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, problems.validation_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, problems.http_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, problems.unhandled_error_handler)
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=int(os.environ.get("GATEWAY_MAX_BODY_BYTES", 1024 * 1024)),
        limits_by_suffix={
            "/imports": int(os.environ.get("GATEWAY_MAX_IMPORT_BYTES", 20 * 1024 * 1024)),
            "/media/stream": int(os.environ.get("GATEWAY_MAX_STREAM_BYTES", 200 * 1000 * 1000)),
            "/subtitles": 5 * 1024 * 1024,
            "/submission": 55 * 1024 * 1024,  # an assignment's answer: up to 5 files of 10 MiB
        },
    )
    app.add_middleware(HeartbeatFastPath)  # outermost of these: the hottest route skips the body limit's wrapping
    app.add_middleware(HttpMetricsMiddleware)  # outside them all: it times and counts every answer
    if tracing.enabled():  # outermost: the request's span holds everything else (nothing when off)
        app.add_middleware(tracing.AsgiTracingMiddleware)
    app.include_router(accounts.router, prefix=API_PREFIX)
    app.include_router(reviews.router, prefix=API_PREFIX)
    app.include_router(media.router, prefix=API_PREFIX)
    app.include_router(courses.router, prefix=API_PREFIX)
    app.include_router(policies.router, prefix=API_PREFIX)
    app.include_router(projects.router, prefix=API_PREFIX)
    app.include_router(sharing.router, prefix=API_PREFIX)
    app.include_router(statistics.router, prefix=API_PREFIX)
    app.include_router(learning.router, prefix=API_PREFIX)
    app.include_router(learning.heartbeats, prefix=API_PREFIX)
    app.include_router(assessments.router, prefix=API_PREFIX)
    app.include_router(forum.router, prefix=API_PREFIX)
    app.include_router(inbox.router, prefix=API_PREFIX)
    app.include_router(at_risk.router, prefix=API_PREFIX)
    app.include_router(evaluation.router, prefix=API_PREFIX)
    app.include_router(assignments.router, prefix=API_PREFIX)
    app.include_router(grades.router, prefix=API_PREFIX)
    app.include_router(workload.router, prefix=API_PREFIX)

    @app.get("/healthz", tags=["health"], **health_responses())
    async def healthz(request: Request) -> JSONResponse:
        """200 when every service the gateway needs is serving and NATS answers; else 503 naming what is down."""
        backends: Backends = request.app.state.backends

        async def check(name: str) -> tuple[str, str]:
            try:
                reply = await health_pb2_grpc.HealthStub(backends.channels[name]).Check(
                    health_pb2.HealthCheckRequest(), timeout=2
                )
                return name, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError as error:
                return name, error.code().name

        async def check_nats() -> str:
            """The event bus, through the gateway's own connection: a PING answered in time."""
            nc = getattr(request.app.state, "nats", None)
            if nc is None or not nc.is_connected:
                return "RECONNECTING" if nc is not None and nc.is_reconnecting else "DISCONNECTED"
            try:
                await nc.flush(timeout=2)
            except Exception as error:  # noqa: BLE001 - any failure is "not answering"
                return f"NOT_ANSWERING ({type(error).__name__})"
            return "CONNECTED"

        statuses, nats_status = await asyncio.gather(
            asyncio.gather(*(check(name) for name in backends.channels)), check_nats())
        services = dict(statuses)
        down = [name for name, status in services.items() if status != "SERVING"]
        if nats_status != "CONNECTED":
            down.append("nats")
        return JSONResponse(
            {"status": "unavailable" if down else "ok", "down": down, "services": services, "nats": nats_status},
            status_code=503 if down else 200,
        )

    @app.get("/.well-known/jwks.json", tags=["auth"], **returns(Jwks))
    async def jwks(request: Request) -> JSONResponse:
        """The public keys that sign access tokens, for clients that verify them."""
        import json

        from contracts.identity.v1 import identity_pb2

        reply = await request.app.state.backends.identity.GetJwks(identity_pb2.GetJwksRequest(), timeout=5)
        return JSONResponse(json.loads(reply.json))

    mount_console(app)  # last: its catch-all route answers only what no API route does
    return app
