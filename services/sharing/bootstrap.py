"""Wires the sharing service."""

from __future__ import annotations

from pathlib import Path

from contracts.course.v1 import course_pb2, course_pb2_grpc
from contracts.identity.v1 import identity_pb2, identity_pb2_grpc
from contracts.review.v1 import review_pb2
from contracts.sharing.v1 import sharing_pb2_grpc
from servicekit.auth import TokenVerifier, current_token
from servicekit.clients import bearer, channel, jwks_from_identity
from servicekit.consumer import Subscription
from servicekit.grpc_server import CallerInterceptor, ServiceHost
from servicekit.reviews import decided_subject
from servicekit.runtime import Runtime
from services.sharing.adapters.orm import inbox, outbox
from services.sharing.entrypoints.grpc_server import SERVICE, SharingServicer
from services.sharing.service_layer.handlers import OWNER, Peers, SharingHandlers
from services.sharing.service_layer.statistics import SharingStatistics

MIGRATIONS = Path(__file__).parent / "migrations"


def peers(identity: identity_pb2_grpc.IdentityServiceStub, course: course_pb2_grpc.CourseServiceStub) -> Peers:
    def on_behalf() -> dict:
        return {"metadata": bearer(current_token()), "timeout": 30}

    async def get_run(run_id: str) -> course_pb2.Run:
        return await course.GetRun(course_pb2.GetRunRequest(id=run_id), **on_behalf())

    async def get_course(course_id: str) -> course_pb2.Course:
        return await course.GetCourse(course_pb2.GetCourseRequest(id=course_id), **on_behalf())

    async def get_plan(course_id: str, run_id: str) -> course_pb2.Plan:
        return await course.GetPlan(course_pb2.GetPlanRequest(course_id=course_id, run_id=run_id), **on_behalf())

    async def add_team_member(run_id: str, user_id: str, permissions: list[str]) -> course_pb2.Team:
        return await course.AddTeamMember(course_pb2.AddTeamMemberRequest(
            run_id=run_id, user_id=user_id, permissions=permissions), **on_behalf())

    async def create_class(run_id: str, name: str, school_id: str) -> course_pb2.CourseClass:
        return await course.CreateClass(course_pb2.CreateClassRequest(run_id=run_id, name=name, school_id=school_id),
                                        **on_behalf())

    async def school_usage(run_id: str, school_id: str) -> course_pb2.SchoolUsage:
        return await course.GetSchoolUsage(course_pb2.GetSchoolUsageRequest(run_id=run_id, school_id=school_id),
                                           **on_behalf())

    async def get_user(user_id: str) -> identity_pb2.User:
        return await identity.GetUser(identity_pb2.GetUserRequest(id=user_id), **on_behalf())

    async def get_school(school_id: str) -> identity_pb2.School:
        return await identity.GetSchool(identity_pb2.GetSchoolRequest(id=school_id), timeout=30)

    async def list_terms() -> course_pb2.ListTermsResponse:
        return await course.ListTerms(course_pb2.ListTermsRequest(), **on_behalf())

    return Peers(get_run, get_course, get_plan, add_team_member, create_class, school_usage, get_user, get_school,
                 list_terms)


async def build() -> tuple[ServiceHost, Runtime]:
    runtime = await Runtime.start("sharing", MIGRATIONS, "SHARING")
    mesh = runtime.settings.mesh
    identity, course = channel(mesh.identity_addr), channel(mesh.course_addr)
    handlers = SharingHandlers(runtime.db, peers(identity_pb2_grpc.IdentityServiceStub(identity),
                                                 course_pb2_grpc.CourseServiceStub(course)))
    host = ServiceHost("sharing", CallerInterceptor(TokenVerifier(jwks_from_identity(identity), mesh.token_issuer)))
    servicer = SharingServicer(handlers, SharingStatistics(runtime.db))
    host.add_servicer(sharing_pb2_grpc.add_SharingServiceServicer_to_server, servicer, SERVICE)
    runtime.attach(host, outbox, inbox, [
        Subscription(durable="sharing-review-decisions", stream="REVIEW", filter_subject=decided_subject(OWNER),
                     handlers={review_pb2.ReviewDecided: handlers.apply_decision}),
        Subscription(durable="sharing-run-changes", stream="COURSE", filter_subject="course.run.>",
                     handlers={course_pb2.RunChanged: handlers.run_changed}),
        Subscription(durable="sharing-course-changes", stream="COURSE", filter_subject="course.course.changed",
                     handlers={course_pb2.CourseChanged: handlers.course_changed}),
    ])
    host.on_stop.append(identity.close)
    host.on_stop.append(course.close)
    return host, runtime
