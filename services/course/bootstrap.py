"""Wires the course service."""

from __future__ import annotations

from pathlib import Path

from contracts.course.v1 import course_pb2_grpc
from contracts.identity.v1 import identity_pb2, identity_pb2_grpc
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
from services.course.service_layer.teams import IdentityClient, TeamHandlers

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

    identity_stub = identity_pb2_grpc.IdentityServiceStub(identity)

    def on_behalf() -> dict:
        return {"metadata": bearer(current_token()), "timeout": 60}

    async def find_teachers(query: str) -> identity_pb2.FindTeachersResponse:
        return await identity_stub.FindTeachers(identity_pb2.FindTeachersRequest(query=query), **on_behalf())

    async def resolve_students(school_id: str, numbers: list[str]) -> identity_pb2.ResolveStudentsResponse:
        return await identity_stub.ResolveStudents(
            identity_pb2.ResolveStudentsRequest(school_id=school_id, numbers=numbers), **on_behalf())

    async def import_students(school_id: str, filename: str, content: bytes) -> identity_pb2.ImportReport:
        return await identity_stub.ImportAccounts(identity_pb2.ImportAccountsRequest(
            school_id=school_id, role="student", filename=filename, content=content), **on_behalf())

    registry = RegistryHandlers(runtime.db)
    courses = CourseHandlers(runtime.db, referenceability)
    teams = TeamHandlers(runtime.db, courses, IdentityClient(find_teachers, resolve_students, import_students))

    async def decided(session, event: review_pb2.ReviewDecided, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        await registry.apply_decision(session, event)
        await courses.apply_decision(session, event)

    async def asset_changed(session, event: media_pb2.ReferenceabilityChanged, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        await courses.asset_changed(session, event)

    host = ServiceHost("course", CallerInterceptor(TokenVerifier(jwks_from_identity(identity), mesh.token_issuer)))
    servicer = CourseServicer(registry, courses, teams)
    host.add_servicer(course_pb2_grpc.add_CourseServiceServicer_to_server, servicer, SERVICE)
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
