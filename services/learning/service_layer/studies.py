"""What a student studies: their courses (enrolments with progress, the next unit, what is due) and a run's plan as
their class sees it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc

from contracts.course.v1 import course_pb2
from contracts.learning.v1 import learning_pb2 as pb
from servicekit.auth import Caller
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.orm import UnitProgress
from services.learning.service_layer.progress import ProgressHandlers, completion, unit_nodes

# What is due for a student in some runs (quizzes and exams open now): given by the assessments.
DueProvider = Callable[[str, list[str]], Awaitable[dict[str, list[pb.Due]]]]


@dataclass
class StudyHandlers:
    course: CoursePeer
    progress: ProgressHandlers
    due: list[DueProvider] = field(default_factory=list)

    async def my_courses(self, caller: Caller) -> list[pb.MyCourse]:
        caller.require_role("student")
        enrolments = await self.course.enrolments()

        async def one(enrolment: course_pb2.Enrolment) -> pb.MyCourse:
            run = enrolment.run
            course = pb.MyCourse(run_id=run.id, course_id=run.course_id, course_name=run.course_name,
                                 course_kind=run.course_kind, term_code=run.term_code, run_state=run.state,
                                 class_id=enrolment.class_id, class_name=enrolment.class_name, school_id=run.school_id,
                                 term_starts_on=enrolment.term_starts_on, term_ends_on=enrolment.term_ends_on,
                                 total_minutes=enrolment.total_minutes)
            try:
                context = await self.course.learner_context(run.id)
            except grpc.aio.AioRpcError as error:  # a run taken down since: listed, without its plan
                if error.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                                        grpc.StatusCode.FAILED_PRECONDITION):
                    raise
                return course
            units = await self.progress.completed_units(caller.user_id, run.id)
            done, total = completion({u for u, row in units.items() if row.completed_at is not None}, context)
            course.watched_minutes, course.total_minutes = done / 60, total / 60
            course.completion = done / total if total else 0.0
            for unit_id, node in unit_nodes(context).items():
                if node.released and (unit_id not in units or units[unit_id].completed_at is None):
                    course.next_unit_id, course.next_unit_title = unit_id, node.node.title
                    break
            return course

        courses = list(await asyncio.gather(*(one(e) for e in enrolments)))
        run_ids = [c.run_id for c in courses]
        for provider in self.due:
            for run_id, items in (await provider(caller.user_id, run_ids)).items():
                for course in courses:
                    if course.run_id == run_id:
                        course.due.extend(items)
        for course in courses:
            ordered = sorted(course.due, key=lambda d: (d.due_at.seconds or 2**62))
            del course.due[:]
            course.due.extend(ordered)
        return courses

    async def study_plan(self, caller: Caller, run_id: str) -> pb.StudyPlan:
        context = await self.course.learner_context(run_id)
        student = context.relation == "student"
        units: dict[str, UnitProgress] = await self.progress.completed_units(caller.user_id, run_id) if student else {}
        plan = pb.StudyPlan(run_id=run_id, course_id=context.run.course_id, course_name=context.run.course_name,
                            class_id=context.class_id, relation="student" if student else "team",
                            total_minutes=context.total_minutes)
        for item in context.nodes:
            node = item.node
            released = item.released or not student
            study = plan.nodes.add(id=node.id, parent_id=node.parent_id, kind=node.kind, title=node.title,
                                   depth=node.depth, minutes=node.minutes, released=released,
                                   resource_id=node.resource_id if released else "")
            if item.HasField("release_at"):
                study.release_at.CopyFrom(item.release_at)
            if node.id in units:
                study.watched_seconds = units[node.id].credited_seconds
                study.completed = units[node.id].completed_at is not None
        if student:
            done, total = completion({u for u, row in units.items() if row.completed_at is not None}, context)
            plan.completion = done / total if total else 0.0
        return plan
