"""Learners on runs, for the learning service (which asks on the user's behalf): a learner's place on a run (class,
chapter releases, who the caller is to the run), a student's enrolments, a class's roster."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import NotFound, PermissionDenied
from servicekit.service_keys import SERVICE_ROLE
from services.course.adapters.orm import (
    ChapterRelease,
    ClassStudent,
    Course,
    CourseClass,
    PlanNode,
    Run,
    RunMember,
    Term,
)
from services.course.domain import runs as run_rules
from services.course.service_layer.courses import CourseHandlers

STUDENT, TEAM, SCHOOL_ADMIN = "student", "team", "school_admin"
AT_RISK_SWEEPER = "learning"  # the one service whose key lists runs' learners (its daily at-risk sweep)


@dataclass(frozen=True)
class RunFacts:
    run: Run
    course: Course
    state: str
    public_class_id: str
    term: Term | None


@dataclass(frozen=True)
class LearnerNode:
    node: PlanNode
    depth: int
    released: bool
    release_at: datetime | None
    chapter_id: str


@dataclass(frozen=True)
class LearnerView:
    facts: RunFacts
    relation: str
    permissions: list[str]
    course_class: CourseClass | None
    student: ClassStudent | None
    student_school_id: str
    province_code: str
    nodes: list[LearnerNode]
    total_minutes: float


@dataclass(frozen=True)
class EnrolmentView:
    facts: RunFacts
    course_class: CourseClass
    total_minutes: float
    joined_at: datetime


@dataclass(frozen=True)
class RosterView:
    course_class: CourseClass
    releases: list[tuple[str, str, datetime, bool]]  # chapter id, title, release time, released now
    students: list[tuple[ClassStudent, str]]  # the row, the student's school ("" for a public learner)


RosterViews = list[RosterView]


def student_school(row: ClassStudent, course_class: CourseClass) -> str:
    """The student's own school; rows older than that column: their class's, unless it is a public class."""
    return row.school_id or ("" if course_class.is_public else course_class.school_id)


class LearnerHandlers:
    def __init__(self, db: Database, courses: CourseHandlers, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.courses = courses
        self.clock = clock

    # ---- who the caller is to a run -----------------------------------------------------------------

    async def _facts(self, session: AsyncSession, run: Run) -> RunFacts:
        course = await session.get(Course, run.course_id)
        assert course is not None
        term = await self.courses._term(session, run)
        public = await session.scalar(select(CourseClass.id).where(
            CourseClass.run_id == run.id, CourseClass.is_public.is_(True)))
        return RunFacts(run, course, self.courses._state(run, term), public or "", term)

    @staticmethod
    async def _standing(session: AsyncSession, caller: Caller, run: Run, course: Course) -> tuple[str, list[str]]:
        """("team", permissions) for the leader and the run's team, ("school_admin", []) for the run's school's
        admins, ("", []) for anyone else."""
        if caller.user_id == course.leader_id:
            return TEAM, list(run_rules.PERMISSIONS)
        member = await session.get(RunMember, (run.id, caller.user_id))
        if member is not None:
            return TEAM, json.loads(member.permissions_json)
        if caller.role == "school_admin" and caller.school_id == course.school_id:
            return SCHOOL_ADMIN, []
        return "", []

    @staticmethod
    async def _place(session: AsyncSession, run_id: str, student_id: str) -> tuple[ClassStudent, CourseClass] | None:
        """The student's class on the run: the class their teacher made rather than the public one."""
        rows = (await session.execute(
            select(ClassStudent, CourseClass).join(CourseClass, CourseClass.id == ClassStudent.class_id)
            .where(CourseClass.run_id == run_id, ClassStudent.user_id == student_id)
            .order_by(CourseClass.is_public, ClassStudent.added_at))).all()
        return (rows[0][0], rows[0][1]) if rows else None

    # ---- queries ------------------------------------------------------------------------------------

    async def learner_context(self, caller: Caller, run_id: str, student_id: str) -> LearnerView:
        async with self.db.read() as session:
            run = await session.get(Run, run_id)
            if run is None:
                raise NotFound("no such run")
            facts = await self._facts(session, run)
            relation, permissions = await self._standing(session, caller, run, facts.course)
            if not student_id or student_id == caller.user_id:
                if caller.role == STUDENT:
                    place = await self._place(session, run.id, caller.user_id)
                    if place is None:
                        raise PermissionDenied("you are not enrolled in this run", reason="NOT_ENROLLED")
                    return await self._view(session, facts, STUDENT, [], *place)
                if not relation:
                    raise PermissionDenied("a run's learning is seen by its students, its team and its school's "
                                           "admins")
                return await self._view(session, facts, relation, permissions, None, None)
            place = await self._place(session, run.id, student_id)
            if not relation:
                # An adopting school's admin follows its own students on another school's run.
                if caller.role != "school_admin" or place is None or caller.school_id != student_school(*place):
                    raise PermissionDenied("a student's learning on a run is seen by the run's team and the admins "
                                           "of the run's school and of the student's school")
                relation = SCHOOL_ADMIN
            if place is None:
                raise NotFound("the student is in none of this run's classes")
            return await self._view(session, facts, relation, permissions, *place)

    async def _view(self, session: AsyncSession, facts: RunFacts, relation: str, permissions: list[str],
                    student: ClassStudent | None, course_class: CourseClass | None) -> LearnerView:
        rows = await self.courses._nodes(session, facts.course.id, facts.run.id)
        plan = self.courses._view(facts.course.id, facts.run.id, rows)
        by_id = {n.id: n for n in rows}
        releases: dict[str, datetime] = {}
        if course_class is not None:
            releases = {r.chapter_id: r.release_at for r in await session.scalars(
                select(ChapterRelease).where(ChapterRelease.class_id == course_class.id))}
        now = self.clock()
        nodes = []
        for node, depth in plan.nodes:
            chapter = node
            while chapter.kind != "chapter" and chapter.parent_id in by_id:
                chapter = by_id[chapter.parent_id]
            release_at = releases.get(chapter.id)
            released = student is None or (release_at is not None and run_rules.is_released(release_at, now))
            nodes.append(LearnerNode(node, depth, released, release_at, chapter.id))
        school = student_school(student, course_class) if student and course_class else ""
        province = (student.province_code if student else "") or facts.course.province_code
        return LearnerView(facts, relation, permissions, course_class, student, school, province, nodes,
                           plan.total_minutes)

    async def enrolments(self, caller: Caller, student_id: str) -> list[EnrolmentView]:
        """A student's runs (one class each: the teacher's rather than the public one), newest first: for the
        student themself and their school's admins."""
        own = not student_id or student_id == caller.user_id
        if own:
            caller.require_role(STUDENT)
            student_id = caller.user_id
        elif caller.role != "school_admin":
            raise PermissionDenied("a student's enrolments are read by the student and their school's admins")
        async with self.db.read() as session:
            rows = (await session.execute(
                select(ClassStudent, CourseClass).join(CourseClass, CourseClass.id == ClassStudent.class_id)
                .where(ClassStudent.user_id == student_id)
                .order_by(CourseClass.is_public, ClassStudent.added_at))).all()
            if not own and rows and caller.school_id not in {student_school(r, c) for r, c in rows}:
                raise PermissionDenied("a school admin reads the enrolments of their own school's students")
            chosen: dict[str, tuple[ClassStudent, CourseClass]] = {}
            for row, course_class in rows:
                chosen.setdefault(course_class.run_id, (row, course_class))
            found = []
            for run_id, (row, course_class) in chosen.items():
                run = await session.get(Run, run_id)
                assert run is not None
                facts = await self._facts(session, run)
                plan = self.courses._view(run.course_id, run.id,
                                          await self.courses._nodes(session, run.course_id, run.id))
                found.append(EnrolmentView(facts, course_class, plan.total_minutes, row.added_at))
        return sorted(found, key=lambda e: e.joined_at, reverse=True)

    async def roster(self, caller: Caller, class_id: str) -> RosterView:
        """A class's students: for the run's team, the run's school's admins and the class's school's admins."""
        async with self.db.read() as session:
            course_class = await session.get(CourseClass, class_id)
            if course_class is None:
                raise NotFound("no such class")
            run = await session.get(Run, course_class.run_id)
            course = await session.get(Course, run.course_id) if run else None
            assert run is not None and course is not None
            relation, _ = await self._standing(session, caller, run, course)
            own_school = caller.role == "school_admin" and caller.school_id == course_class.school_id
            if not relation and not own_school:
                raise PermissionDenied("a class's roster is read by the run's team and the admins of the run's "
                                       "school and of the class's school")
            chapters = {n.id: n.title for n in await session.scalars(
                select(PlanNode).where(PlanNode.course_id == course.id, PlanNode.run_id == run.id,
                                       PlanNode.kind == "chapter"))}
            now = self.clock()
            releases = [(r.chapter_id, chapters.get(r.chapter_id, ""), r.release_at,
                         run_rules.is_released(r.release_at, now))
                        for r in await session.scalars(select(ChapterRelease).where(
                            ChapterRelease.class_id == course_class.id).order_by(ChapterRelease.release_at))]
            students = list(await session.scalars(select(ClassStudent).where(
                ClassStudent.class_id == course_class.id).order_by(ClassStudent.number, ClassStudent.added_at)))
        return RosterView(course_class, releases, [(s, student_school(s, course_class)) for s in students])

    # ---- the learning service's at-risk sweep (its own key) -----------------------------------------

    @staticmethod
    def _require_sweeper(caller: Caller) -> None:
        if caller.role != SERVICE_ROLE or caller.user_id != f"service:{AT_RISK_SWEEPER}":
            raise PermissionDenied("the runs' learners are listed for the learning service's sweep only")

    async def running_runs(self, caller: Caller) -> list[RunFacts]:
        """The runs running today (approved, their term under way)."""
        self._require_sweeper(caller)
        today = self.clock().date()
        async with self.db.read() as session:
            rows = (await session.execute(
                select(Run).join(Course, Course.id == Run.course_id)
                .join(Term, (Term.province_code == Course.province_code) & (Term.code == Run.term_code))
                .where(Run.state.in_(run_rules.APPROVED_STATES), Term.starts_on <= today, Term.ends_on >= today)
                .order_by(Run.created_at))).scalars().all()
            return [await self._facts(session, run) for run in rows]

    async def run_learners(self, caller: Caller, run_id: str) -> tuple[LearnerView, RosterViews]:
        """A run as its team sees it, its classes (with releases) and its students, each once (in the class their
        teacher made rather than the public one)."""
        self._require_sweeper(caller)
        async with self.db.read() as session:
            run = await session.get(Run, run_id)
            if run is None:
                raise NotFound("no such run")
            view = await self._view(session, await self._facts(session, run), TEAM, [], None, None)
            classes = list(await session.scalars(select(CourseClass).where(CourseClass.run_id == run.id)
                                                 .order_by(CourseClass.created_at)))
            chapters = {n.node.id: n.node.title for n in view.nodes if n.node.kind == "chapter"}
            now = self.clock()
            rosters: RosterViews = []
            for course_class in classes:
                releases = [(r.chapter_id, chapters.get(r.chapter_id, ""), r.release_at,
                             run_rules.is_released(r.release_at, now))
                            for r in await session.scalars(select(ChapterRelease).where(
                                ChapterRelease.class_id == course_class.id).order_by(ChapterRelease.release_at))]
                students = list(await session.scalars(select(ClassStudent).where(
                    ClassStudent.class_id == course_class.id).order_by(ClassStudent.number)))
                rosters.append(RosterView(course_class, releases,
                                          [(s, student_school(s, course_class)) for s in students]))
        return view, rosters
