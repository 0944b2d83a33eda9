"""The course service, as the learning service asks it: who the caller is to a run (the course service owns
classes, rosters, teams and chapter releases, and decides), and the run's school's policy in force."""

from __future__ import annotations

import time

import grpc

from contracts.course.v1 import course_pb2, course_pb2_grpc
from servicekit.auth import current_token
from servicekit.clients import bearer
from servicekit.errors import Unavailable
from servicekit.service_keys import service_metadata

SERVICE = "learning"
TIMEOUT = 30.0
POLICY_CACHE_SECONDS = 60.0


class CoursePeer:
    """Calls made on the caller's behalf (their token travels on), except the policy and team reads, which are the
    learning service's own (granted by the course service to its key)."""

    def __init__(self, channel: grpc.aio.Channel, key: str) -> None:
        self.stub = course_pb2_grpc.CourseServiceStub(channel)
        self.service_metadata = service_metadata(SERVICE, key)
        self._policies: dict[tuple[str, str], tuple[float, dict[str, float]]] = {}

    @staticmethod
    def _on_behalf() -> dict:
        return {"metadata": bearer(current_token()), "timeout": TIMEOUT}

    async def learner_context(self, run_id: str, student_id: str = "") -> course_pb2.LearnerContext:
        """The run, the caller's relation to it (student, team, school_admin) and the plan as the student's class
        sees it; the course service refuses whoever has no business with the run."""
        return await self.stub.GetLearnerContext(
            course_pb2.GetLearnerContextRequest(run_id=run_id, student_id=student_id), **self._on_behalf())

    async def course(self, course_id: str) -> course_pb2.Course:
        return await self.stub.GetCourse(course_pb2.GetCourseRequest(id=course_id), **self._on_behalf())

    async def plan(self, course_id: str, run_id: str = "") -> course_pb2.Plan:
        return await self.stub.GetPlan(course_pb2.GetPlanRequest(course_id=course_id, run_id=run_id),
                                       **self._on_behalf())

    async def enrolments(self, student_id: str = "") -> list[course_pb2.Enrolment]:
        reply = await self.stub.ListEnrolments(course_pb2.ListEnrolmentsRequest(student_id=student_id),
                                               **self._on_behalf())
        return list(reply.enrolments)

    async def roster(self, class_id: str) -> course_pb2.ClassRoster:
        return await self.stub.GetClassRoster(course_pb2.GetClassRosterRequest(class_id=class_id),
                                              **self._on_behalf())

    async def classes(self, run_id: str) -> list[course_pb2.CourseClass]:
        reply = await self.stub.ListClasses(course_pb2.ListClassesRequest(run_id=run_id), **self._on_behalf())
        return list(reply.classes)

    async def running_runs(self) -> list[course_pb2.Run]:
        """The runs running today: the at-risk sweep's own read (no user behind it)."""
        reply = await self.stub.ListRunningRuns(course_pb2.ListRunningRunsRequest(),
                                                metadata=self.service_metadata, timeout=TIMEOUT)
        return list(reply.runs)

    async def run_learners(self, run_id: str) -> course_pb2.RunLearners:
        """A run's plan, classes (with releases) and students, for the at-risk sweep (the service's own read)."""
        return await self.stub.GetRunLearners(course_pb2.GetRunLearnersRequest(run_id=run_id),
                                              metadata=self.service_metadata, timeout=TIMEOUT)

    async def team_ids(self, run_id: str) -> list[str]:
        """The run's team (the leader first), read with the service's own key: reminders have no user behind them."""
        team = await self.stub.GetTeam(course_pb2.GetTeamRequest(run_id=run_id), metadata=self.service_metadata,
                                       timeout=TIMEOUT)
        return [m.user_id for m in team.members]

    async def policy(self, school_id: str, term_code: str) -> dict[str, float]:
        """The numbers in force for a school in a term (kept a minute: a heartbeat must not ask each time)."""
        key = (school_id, term_code)
        cached = self._policies.get(key)
        if cached and time.monotonic() - cached[0] < POLICY_CACHE_SECONDS:
            return cached[1]
        try:
            reply = await self.stub.GetEffectivePolicy(
                course_pb2.GetEffectivePolicyRequest(school_id=school_id, term_code=term_code),
                metadata=self.service_metadata, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise Unavailable(f"the course service did not give the policy in force ({error.code().name}: "
                              f"{error.details()}); try again later", reason="POLICY_UNAVAILABLE") from error
        numbers = {n.name: (float("nan") if n.not_counted else n.value) for n in reply.numbers}
        self._policies[key] = (time.monotonic(), numbers)
        return numbers
