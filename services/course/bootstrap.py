"""Wires the course service."""

from __future__ import annotations

from pathlib import Path

from contracts.course.v1 import course_pb2_grpc
from contracts.media.v1 import media_pb2, media_pb2_grpc
from contracts.review.v1 import review_pb2
from servicekit.auth import TokenVerifier, current_token
from servicekit.clients import bearer, channel, jwks_from_identity
from servicekit.consumer import EventMeta, Subscription
from servicekit.grpc_server import CallerInterceptor, ServiceHost
from servicekit.reviews import decided_subject
from servicekit.runtime import Runtime
from services.course.adapters.orm import inbox, outbox
from services.course.entrypoints.grpc_server import SERVICE, CourseServicer
from services.course.service_layer.courses import CourseHandlers
from services.course.service_layer.registry import OWNER, RegistryHandlers

MIGRATIONS = Path(__file__).parent / "migrations"


async def build() -> tuple[ServiceHost, Runtime]:
    runtime = await Runtime.start("course", MIGRATIONS, "COURSE")
    mesh = runtime.settings.mesh
    identity, media = channel(mesh.identity_addr), channel(mesh.media_addr)
    media_stub = media_pb2_grpc.MediaServiceStub(media)

    async def referenceability(asset_id: str) -> media_pb2.Referenceability:
        """Asks the media service on the caller's behalf (their token goes along)."""
        return await media_stub.GetReferenceability(
            media_pb2.GetReferenceabilityRequest(id=asset_id), metadata=bearer(current_token()), timeout=10)

    registry = RegistryHandlers(runtime.db)
    courses = CourseHandlers(runtime.db, referenceability)

    async def decided(session, event: review_pb2.ReviewDecided, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        await registry.apply_decision(session, event)
        await courses.apply_decision(session, event)

    async def asset_changed(session, event: media_pb2.ReferenceabilityChanged, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        await courses.asset_changed(session, event)

    host = ServiceHost("course", CallerInterceptor(TokenVerifier(jwks_from_identity(identity), mesh.token_issuer)))
    host.add_servicer(course_pb2_grpc.add_CourseServiceServicer_to_server, CourseServicer(registry, courses), SERVICE)
    runtime.attach(host, outbox, inbox, [
        Subscription(durable="course-review-decisions", stream="REVIEW", filter_subject=decided_subject(OWNER),
                     handlers={review_pb2.ReviewDecided: decided}),
        Subscription(durable="course-media-changes", stream="MEDIA",
                     filter_subject="media.asset.referenceability_changed",
                     handlers={media_pb2.ReferenceabilityChanged: asset_changed}),
    ])
    host.on_stop.append(identity.close)
    host.on_stop.append(media.close)
    return host, runtime
