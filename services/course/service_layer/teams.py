"""Run teams, classes, rosters and chapter releases.

The leader manages the team (tutor teachers of other schools included) and chooses each
member's permissions; members with manage_classes create classes for their own school's
students, fill them, and open chapters to them on dates of their choosing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.identity.v1 import identity_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
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
from services.course.domain import enrolment as enrolment_rules
from services.course.domain import runs as run_rules
from services.course.service_layer.courses import CourseHandlers


@dataclass(frozen=True)
class IdentityClient:
    """The identity service, called on the caller's behalf."""

    find_teachers: Callable[[str], Awaitable[identity_pb2.FindTeachersResponse]]
    resolve_students: Callable[[str, list[str], str], Awaitable[identity_pb2.ResolveStudentsResponse]]
    import_students: Callable[[str, str, bytes], Awaitable[identity_pb2.ImportReport]]


@dataclass(frozen=True)
class OverLimit:
    """A student not added: they already take the most online courses at once their policy allows."""

    user_id: str
    number: str
    name: str
    courses: tuple[str, ...]  # the names of the courses they take


@dataclass(frozen=True)
class RosterReport:
    added: int
    already_in_class: int
    unknown_numbers: list[str]
    errors: list[tuple[int, str, str]]
    accounts_created: int
    imported: bool
    credentials_sheet: tuple[str, str] = ("", "")  # (id, key) of the created accounts' one-time passwords
    over_limit: list[OverLimit] = field(default_factory=list)


# Services that read a run's team with their own key (servicekit.service_keys): the learning service's reminders.
TEAM_READING_SERVICES = ("learning",)


class TeamHandlers:
    def __init__(self, db: Database, courses: CourseHandlers, identity: IdentityClient,
                 adopted: Callable[[str, str], Awaitable[bool]], clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.courses = courses
        self.identity = identity
        self.adopted = adopted  # (run_id, school_id): did the school adopt the caller's run (sharing service)
        self.clock = clock

    async def _run_and_course(self, session: AsyncSession, caller: Caller, run_id: str) -> tuple[Run, Course]:
        """A run's team and classes: its school's admins, the leader, and the teachers on this run's team
        (a tutor of run 2 does not see run 1's)."""
        run = await session.get(Run, run_id)
        if run is None:
            raise NotFound("no such run")
        course = await session.get(Course, run.course_id)
        assert course is not None
        await self.courses._see_run(session, caller, course, run)
        return run, course

    # ---- the team -------------------------------------------------------------------------

    async def find_teachers(self, caller: Caller, query: str) -> identity_pb2.FindTeachersResponse:
        caller.require_role("teacher")
        return await self.identity.find_teachers(query)

    async def team(self, caller: Caller, run_id: str) -> tuple[Course, list[RunMember]]:
        """The run's team; also to the learning service's own key (`TEAM_READING_SERVICES`: its reminders of
        overdue forum questions have no user behind them)."""
        async with self.db.transaction() as session:
            if caller.role == SERVICE_ROLE:
                run = await session.get(Run, run_id)
                if run is None:
                    raise NotFound("no such run")
                course = await session.get(Course, run.course_id)
                assert course is not None
            else:
                run, course = await self._run_and_course(session, caller, run_id)
            members = list(await session.scalars(
                select(RunMember).where(RunMember.run_id == run.id).order_by(RunMember.added_at)))
            return course, members

    async def add_member(self, caller: Caller, run_id: str, user_id: str, permissions: list[str]) -> None:
        chosen = run_rules.check_permissions(permissions)
        async with self.db.transaction() as session:
            _, course = await self._run_and_course(session, caller, run_id)
        if caller.user_id != course.leader_id:
            raise PermissionDenied("only the course leader manages the team")
        if user_id == course.leader_id:
            raise InvalidArgument("the leader is on every run's team already")
        # The teacher is found by the identity service, across schools.
        teacher = None
        for candidate in (await self.identity.find_teachers(user_id)).teachers:
            teacher = candidate if candidate.user_id == user_id else teacher
        if teacher is None:
            raise NotFound("no such teacher (search with FindTeachers first)")
        async with self.db.transaction() as session:
            member = await session.get(RunMember, (run_id, user_id))
            if member is None:
                session.add(RunMember(run_id=run_id, user_id=user_id, name=teacher.name, school_id=teacher.school_id,
                                      school_name=teacher.school_name, permissions_json=json.dumps(list(chosen)),
                                      added_at=self.clock()))
            else:  # adding again changes the permissions
                member.permissions_json = json.dumps(list(chosen))

    async def remove_member(self, caller: Caller, run_id: str, user_id: str) -> None:
        """Removing a member keeps the classes they made."""
        async with self.db.transaction() as session:
            _, course = await self._run_and_course(session, caller, run_id)
            if caller.user_id != course.leader_id:
                raise PermissionDenied("only the course leader manages the team")
            member = await session.get(RunMember, (run_id, user_id))
            if member is None:
                raise NotFound("not a member of this run's team")
            await session.delete(member)
            run = await session.get(Run, run_id)
            if run is not None and run.online_teacher_id == user_id:  # the leader is in charge again
                run.online_teacher_id = ""

    # ---- classes ----------------------------------------------------------------------------

    async def create_class(self, caller: Caller, run_id: str, name: str, school_id: str = "") -> CourseClass:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidArgument("a class name has 1 to 100 characters")
        async with self.db.transaction() as session:
            run, course = await self._run_and_course(session, caller, run_id)
            await self.courses._permitted(session, caller, course, run.id, "manage_classes")
            state = self.courses._state(run, await self.courses._term(session, run))
            if state in (run_rules.ENDED, run_rules.TAKEN_DOWN):
                raise FailedPrecondition(f"the run is {state}")
            if school_id and school_id != caller.school_id and caller.user_id != course.leader_id:
                raise PermissionDenied("only the course leader makes classes for another school's students")
        if school_id and school_id != caller.school_id and not await self.adopted(run.id, school_id):
            raise PermissionDenied("a class for another school's students goes only on a run that school "
                                   "adopted (its adoption accepted by you)", reason="NOT_ADOPTED")
        async with self.db.transaction() as session:
            if await session.scalar(select(CourseClass.id).where(CourseClass.run_id == run.id,
                                                                 CourseClass.name == name)):
                raise InvalidArgument(f"the run already has a class named {name}")
            course_class = CourseClass(run_id=run.id, name=name, is_public=False,
                                       school_id=school_id or caller.school_id or "", created_by=caller.user_id,
                                       created_at=self.clock())
            session.add(course_class)
            await session.flush()
            return course_class

    async def classes(self, caller: Caller, run_id: str) -> list[tuple[CourseClass, int, list[tuple]]]:
        async with self.db.transaction() as session:
            run, course = await self._run_and_course(session, caller, run_id)
            rows = list(await session.scalars(
                select(CourseClass).where(CourseClass.run_id == run.id).order_by(CourseClass.created_at)))
            chapters = {n.id: n.title for n in await session.scalars(
                select(PlanNode).where(PlanNode.course_id == course.id, PlanNode.run_id == run.id,
                                       PlanNode.kind == "chapter"))}
            result = []
            for course_class in rows:
                students = await session.scalar(select(func.count()).select_from(ClassStudent).where(
                    ClassStudent.class_id == course_class.id)) or 0
                releases = [(r.chapter_id, chapters.get(r.chapter_id, ""), r.release_at,
                             run_rules.is_released(r.release_at, self.clock()))
                            for r in await session.scalars(select(ChapterRelease).where(
                                ChapterRelease.class_id == course_class.id).order_by(ChapterRelease.release_at))]
                result.append((course_class, students, releases))
            return result

    async def _managed_class(self, session: AsyncSession, caller: Caller, class_id: str) -> tuple[CourseClass, Run]:
        """A class its maker manages; the public class, any teacher with manage_classes; the leader, all."""
        course_class = await session.get(CourseClass, class_id)
        if course_class is None:
            raise NotFound("no such class")
        run, course = await self._run_and_course(session, caller, course_class.run_id)
        await self.courses._permitted(session, caller, course, run.id, "manage_classes")
        if caller.user_id not in (course.leader_id, course_class.created_by) and not course_class.is_public:
            raise PermissionDenied("a class is managed by the teacher who made it (and the course leader)")
        return course_class, run

    async def _taking_students(self, session: AsyncSession, run: Run, action: str) -> None:
        """Students come only to an approved run whose term is not over."""
        run_rules.check_takes_students(self.courses._state(run, await self.courses._term(session, run)), action)

    async def add_students(self, caller: Caller, class_id: str, numbers: list[str]) -> RosterReport:
        async with self.db.transaction() as session:
            course_class, run = await self._managed_class(session, caller, class_id)
            await self._taking_students(session, run, "students are added")
            course = await session.get(Course, run.course_id)
            assert course is not None
        school = course_class.school_id or caller.school_id or ""
        province = await self._province_of_school(caller, course, school)
        resolved = await self.identity.resolve_students(school, numbers, course_class.run_id)
        added, present, over = await self._enrol(class_id, [(s.user_id, s.number, s.name) for s in resolved.students],
                                                 school, province)
        return RosterReport(added, present, list(resolved.unknown_numbers), [], 0, True, over_limit=over)

    async def import_students(self, caller: Caller, class_id: str, filename: str, content: bytes) -> RosterReport:
        """A CSV/XLSX of students: accounts that are missing are created by the identity service."""
        async with self.db.transaction() as session:
            course_class, run = await self._managed_class(session, caller, class_id)
            await self._taking_students(session, run, "rosters are imported")
            course = await session.get(Course, run.course_id)
            assert course is not None
        school = course_class.school_id or caller.school_id or ""
        province = await self._province_of_school(caller, course, school)
        report = await self.identity.import_students(school, filename, content)
        errors = [(e.line, e.field, e.reason) for e in report.errors]
        if not report.imported:
            return RosterReport(0, 0, [], errors, 0, False)
        resolved = await self.identity.resolve_students(school, [a.number for a in report.accounts],
                                                        course_class.run_id)
        added, present, over = await self._enrol(class_id, [(s.user_id, s.number, s.name) for s in resolved.students],
                                                 school, province)
        sheet = (report.credentials_sheet.id, report.credentials_sheet.key)
        return RosterReport(added, present, list(resolved.unknown_numbers), errors, report.created, True, sheet,
                            over_limit=over)

    async def teaches_student(self, caller: Caller, student_id: str) -> bool:
        """The identity service asks before a teacher resets a student's password: is the student in a class
        the caller made and teaches? (Not a public class: anyone may join one, a leader is not their teacher.)"""
        if caller.role != "teacher":
            return False
        async with self.db.read() as session:
            found = await session.scalar(
                select(ClassStudent.class_id)
                .join(CourseClass, CourseClass.id == ClassStudent.class_id)
                .where(ClassStudent.user_id == student_id, CourseClass.created_by == caller.user_id,
                       CourseClass.is_public.is_(False))
                .limit(1))
        return found is not None

    async def _province_of_school(self, caller: Caller, course: Course, school_id: str) -> str:
        """The province of the class's school (its students'): the course's, the caller's, or identity's word."""
        if not school_id or school_id == course.school_id:
            return course.province_code
        if school_id == caller.school_id and caller.province_code:
            return caller.province_code
        return await self.courses.policies.school_province(school_id)

    async def _enrol(self, class_id: str, students: list[tuple[str, str, str]], school_id: str,
                     province_code: str) -> tuple[int, int, list[OverLimit]]:
        """Adds the students of one school to a class, but not those at their limit of courses at once: counted
        and written in one transaction, so two classes filled at the same time cannot both take the last place."""
        async with self.db.transaction() as session:
            course_class = await session.get(CourseClass, class_id)
            assert course_class is not None
            run = await session.get(Run, course_class.run_id)
            assert run is not None
            present = set(await session.scalars(select(ClassStudent.user_id).where(ClassStudent.class_id == class_id)))
            new = [s for s in dict.fromkeys(students) if s[0] not in present]
            limit, _ = await self._course_limit(session, run, school_id, province_code)
            taken = await self._courses_taken(session, run, [s[0] for s in new]) if limit is not None else {}
            over: list[OverLimit] = []
            for user_id, number, name in new:
                courses = taken.get(user_id)
                if courses is not None and not enrolment_rules.may_take_another_course(limit, courses):
                    over.append(OverLimit(user_id, number, name, tuple(courses)))
                    continue
                session.add(ClassStudent(class_id=class_id, user_id=user_id, number=number, name=name,
                                         school_id=school_id, province_code=province_code, added_at=self.clock()))
        return len(new) - len(over), len(students) - len(new), over

    async def _course_limit(self, session: AsyncSession, run: Run, school_id: str,
                            province_code: str) -> tuple[float | None, str]:
        """The most courses at once for a student of the school (none: the run's province's layer and the
        platform's), under the policy in force on the first day of the run's term; and which version said so."""
        course = await session.get(Course, run.course_id)
        term = await self.courses._term(session, run)
        assert course is not None and term is not None
        policy = await self.courses.policies.resolve_on(session, school_id, province_code or course.province_code,
                                                        term.starts_on)
        limit = policy[enrolment_rules.CONCURRENT_COURSES]
        assert not isinstance(limit, str)
        return limit, policy.sources[enrolment_rules.CONCURRENT_COURSES].describe()

    async def _courses_taken(self, session: AsyncSession, run: Run, user_ids: list[str]) -> dict[str, list[str]]:
        """Per student who is not in this run yet: the courses they take in other runs at the same time (terms
        overlapping this run's, not ended or taken down), each run once. Students already in one of this run's
        classes are left out: another class of the same run is not another course."""
        if not user_ids:
            return {}
        if not self.db.is_sqlite:  # SQLite writers are serialised already (BEGIN IMMEDIATE)
            await session.execute(text(
                "SELECT pg_advisory_xact_lock(hashtext('enrolment:' || id)) "
                "FROM (SELECT unnest(CAST(:ids AS text[])) AS id ORDER BY 1) AS students"), {"ids": sorted(user_ids)})
        term = await self.courses._term(session, run)
        assert term is not None
        in_this_run = set(await session.scalars(
            select(ClassStudent.user_id).join(CourseClass, CourseClass.id == ClassStudent.class_id)
            .where(CourseClass.run_id == run.id, ClassStudent.user_id.in_(user_ids))))
        rows = (await session.execute(
            select(ClassStudent.user_id, Run.id, Run.state, Course.name, Term.starts_on, Term.ends_on)
            .join(CourseClass, CourseClass.id == ClassStudent.class_id)
            .join(Run, Run.id == CourseClass.run_id)
            .join(Course, Course.id == Run.course_id)
            .join(Term, (Term.province_code == Course.province_code) & (Term.code == Run.term_code))
            .where(ClassStudent.user_id.in_(user_ids), Run.id != run.id)
            .order_by(Run.created_at))).all()
        today = self.clock().date()
        taken: dict[str, dict[str, str]] = {user_id: {} for user_id in user_ids if user_id not in in_this_run}
        for user_id, run_id, state, name, starts_on, ends_on in rows:
            if user_id not in taken or not enrolment_rules.terms_overlap(term.starts_on, term.ends_on, starts_on,
                                                                          ends_on):
                continue
            if enrolment_rules.takes_course_at_the_time(run_rules.state_on(state, starts_on, ends_on, today)):
                taken[user_id][run_id] = name
        return {user_id: list(courses.values()) for user_id, courses in taken.items()}

    async def release_chapter(self, caller: Caller, class_id: str, chapter_id: str,
                              release_at: datetime | None) -> None:
        run_rules.check_release(release_at)
        async with self.db.transaction() as session:
            course_class, run = await self._managed_class(session, caller, class_id)
            await self._taking_students(session, run, "chapters are released")
            chapter = await session.get(PlanNode, chapter_id)
            if chapter is None or chapter.run_id != run.id or chapter.kind != "chapter":
                raise NotFound("no such chapter in this run's plan")
            when = release_at or self.clock()
            release = await session.get(ChapterRelease, (class_id, chapter_id))
            if release is None:
                session.add(ChapterRelease(class_id=class_id, chapter_id=chapter_id, release_at=when))
            else:
                release.release_at = when

    async def class_run(self, class_id: str) -> str:
        async with self.db.transaction() as session:
            course_class = await session.get(CourseClass, class_id)
        if course_class is None:
            raise NotFound("no such class")
        return course_class.run_id

    async def join_run(self, caller: Caller, run_id: str, number: str) -> tuple[str, bool]:
        """A student joins without a class: into the public class. MOOC runs are open to every school,
        a SPOC's runs to its own school's students only."""
        caller.require_role("student")
        async with self.db.transaction() as session:
            run = await session.get(Run, run_id)
            course = await session.get(Course, run.course_id) if run else None
            if run is None or course is None or (course.kind != "mooc" and course.school_id != caller.school_id):
                raise NotFound("no such run")
            await self._taking_students(session, run, "students join")
            public = await session.scalar(select(CourseClass).where(
                CourseClass.run_id == run.id, CourseClass.is_public.is_(True)))
            assert public is not None
            if await session.get(ClassStudent, (public.id, caller.user_id)):
                return public.id, True
            school, province = caller.school_id or "", caller.province_code or ""
            limit, applied = await self._course_limit(session, run, school, province)
            if limit is not None:
                taken = await self._courses_taken(session, run, [caller.user_id])
                if caller.user_id in taken:
                    enrolment_rules.check_may_take_another_course(limit, taken[caller.user_id], applied)
            session.add(ClassStudent(class_id=public.id, user_id=caller.user_id, number=number, name=caller.name,
                                     school_id=school, province_code=province, added_at=self.clock()))
            return public.id, False
