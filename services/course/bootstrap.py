"""Wires the course service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from google.protobuf.json_format import MessageToDict

from contracts.course.v1 import course_pb2_grpc
from contracts.identity.v1 import identity_pb2, identity_pb2_grpc
from contracts.media.v1 import media_pb2, media_pb2_grpc
from contracts.review.v1 import review_pb2
from contracts.sharing.v1 import sharing_pb2, sharing_pb2_grpc
from servicekit.auth import Caller, TokenVerifier, current_token, require_caller
from servicekit.clients import bearer, channel, jwks_from_identity
from servicekit.consumer import EventMeta, Subscription
from servicekit.grpc_server import CallerInterceptor, ServiceHost
from servicekit.reviews import decided_subject
from servicekit.runtime import Runtime
from servicekit.service_keys import ServiceGrants, service_key
from services.course.adapters.learning import LearningPeer
from services.course.adapters.media import MediaPeer
from services.course.adapters.orm import inbox, outbox
from services.course.entrypoints.grpc_server import SERVICE, CourseServicer, acceptance_message
from services.course.service_layer.acceptance import AcceptanceHandlers
from services.course.service_layer.categories import CategoryHandlers
from services.course.service_layer.courses import CourseHandlers
from services.course.service_layer.learners import AT_RISK_SWEEPER, LearnerHandlers
from services.course.service_layer.policies import POLICY_READING_SERVICES, PolicyHandlers
from services.course.service_layer.projects import ProjectHandlers
from services.course.service_layer.registry import OWNER, RegistryHandlers, Teachers
from services.course.service_layer.statistics import StatisticsHandlers
from services.course.service_layer.teams import TEAM_READING_SERVICES, IdentityClient, TeamHandlers
from services.course.service_layer.workload import WorkloadHandlers

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

    async def resolve_students(school_id: str, numbers: list[str], run_id: str) -> identity_pb2.ResolveStudentsResponse:
        return await identity_stub.ResolveStudents(
            identity_pb2.ResolveStudentsRequest(school_id=school_id, numbers=numbers, run_id=run_id), **on_behalf())

    async def import_students(school_id: str, filename: str, content: bytes) -> identity_pb2.ImportReport:
        return await identity_stub.ImportAccounts(identity_pb2.ImportAccountsRequest(
            school_id=school_id, role="student", filename=filename, content=content), **on_behalf())

    async def get_user(user_id: str) -> identity_pb2.User | None:
        """The account as the caller may see it (a school admin: their school's); None when they may not."""
        try:
            return await identity_stub.GetUser(identity_pb2.GetUserRequest(id=user_id), **on_behalf())
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise

    async def resolve_teachers(school_id: str, keys: list[str]) -> identity_pb2.ResolveTeachersResponse:
        return await identity_stub.ResolveTeachers(
            identity_pb2.ResolveTeachersRequest(school_id=school_id, keys=keys), **on_behalf())

    sharing = channel(mesh.sharing_addr)
    sharing_stub = sharing_pb2_grpc.SharingServiceStub(sharing)

    async def adopted(run_id: str, school_id: str) -> bool:
        return (await sharing_stub.CheckAdoption(
            sharing_pb2.CheckAdoptionRequest(run_id=run_id, school_id=school_id), **on_behalf())).accepted

    registry = RegistryHandlers(runtime.db, Teachers(get_user, resolve_teachers))
    categories = CategoryHandlers(runtime.db)

    async def school_province(school_id: str) -> str:
        """A school's province, from the identity service (schools are public)."""
        school = await identity_stub.GetSchool(identity_pb2.GetSchoolRequest(id=school_id), timeout=60)
        return school.province_code

    courses = CourseHandlers(runtime.db, referenceability, policies=PolicyHandlers(runtime.db, school_province))
    teams = TeamHandlers(runtime.db, courses, IdentityClient(find_teachers, resolve_students, import_students),
                         adopted)

    async def asset_changed(session, event: media_pb2.ReferenceabilityChanged, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        await courses.asset_changed(session, event)

    # The media service (its API and its workers) and the learning service read a school's policy in force with
    # their own keys: a worker's job has no user behind it. Those keys open this one read and nothing else.
    grants = ServiceGrants({name: service_key(name, mesh) for name in POLICY_READING_SERVICES},
                           {f"/{SERVICE}/GetEffectivePolicy": POLICY_READING_SERVICES,
                            # the learning service's daily at-risk sweep lists runs' learners
                            f"/{SERVICE}/ListRunningRuns": (AT_RISK_SWEEPER,),
                            f"/{SERVICE}/GetRunLearners": (AT_RISK_SWEEPER,),
                            # the learning service reminds a run's team of overdue forum questions
                            f"/{SERVICE}/GetTeam": TEAM_READING_SERVICES})
    host = ServiceHost("course", CallerInterceptor(TokenVerifier(jwks_from_identity(identity), mesh.token_issuer),
                                                   service_grants=grants))
    # The school report's minutes watched, and the quizzes and topics of a course's acceptance facts, come from the
    # learning service, asked with this service's own key (no user is behind the figures; the learning service
    # grants the key those reads); the height, subtitles and uploader of its videos likewise from the media service.
    learning = channel(mesh.learning_addr)
    learning_peer = LearningPeer(learning, service_key("course", mesh))
    statistics = StatisticsHandlers(runtime.db, learning=learning_peer)
    async def school_name(school_id: str) -> str:
        return (await identity_stub.GetSchool(identity_pb2.GetSchoolRequest(id=school_id), timeout=60)).name

    acceptance = AcceptanceHandlers(runtime.db, courses, learning_peer, MediaPeer(media, service_key("course", mesh)))

    async def own_college() -> tuple[str, str]:
        """The caller's college as the identity service has it now (the token's may predate a move)."""
        me = await identity_stub.GetUser(identity_pb2.GetUserRequest(id=require_caller().user_id), **on_behalf())
        return me.college_id, me.college_name

    async def facts_of(caller: Caller, course_id: str) -> dict:
        return MessageToDict(acceptance_message(await acceptance.acceptance_facts(caller, course_id)),
                             preserving_proto_field_name=True,
                             always_print_fields_with_no_presence=True)

    projects = ProjectHandlers(runtime.db, courses, own_college, facts_of)
    servicer = CourseServicer(registry, courses, teams, categories, statistics, LearnerHandlers(runtime.db, courses),
                              WorkloadHandlers(runtime.db, courses, school_name), acceptance, projects)

    async def decided(session, event: review_pb2.ReviewDecided, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        await registry.apply_decision(session, event)
        await courses.apply_decision(session, event)
        await projects.apply_decision(session, event)  # after the run's own state is applied

    host.add_servicer(course_pb2_grpc.add_CourseServiceServicer_to_server, servicer, SERVICE)
    runtime.attach(host, outbox, inbox, [
        Subscription(durable="course-review-decisions", stream="REVIEW", filter_subject=decided_subject(OWNER),
                     handlers={review_pb2.ReviewDecided: decided}),
        Subscription(durable="course-media-changes", stream="MEDIA",
                     filter_subject="media.asset.referenceability_changed",
                     handlers={media_pb2.ReferenceabilityChanged: asset_changed}),
    ])
    interval = float(runtime.settings.env("RUN_END_INTERVAL_SECONDS", "300"))

    async def end_runs() -> None:
        """Runs end with their term: a sweep marks them and says so (course.run.ended)."""
        while True:
            await courses.end_runs()
            await asyncio.sleep(interval)

    host.workers.append(end_runs)
    host.on_stop.append(identity.close)
    host.on_stop.append(media.close)
    host.on_stop.append(sharing.close)
    host.on_stop.append(learning.close)
    return host, runtime
