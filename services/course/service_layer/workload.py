"""Teaching workload (seed 004 四(三)4): the leader names each run's teacher in charge of the online teaching; the
school admin reads the term's workload of the school's runs per teacher, with each run's students (seed 002 四(八))."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.errors import InvalidArgument, NotFound
from services.course.adapters.orm import ClassStudent, Course, CourseClass, Run, RunMember, Term
from services.course.domain import workload as rules
from services.course.service_layer.courses import CourseHandlers

HOURS_PER_CREDIT = "min_class_hours_per_credit"


async def _no_school_name(school_id: str) -> str:
    return ""


@dataclass
class RunWorkload:
    run_id: str
    course_id: str
    course_name: str
    run_number: int
    coefficient: float
    class_hours: float
    hours_basis: str
    workload_hours: float
    students: int
    state: str


@dataclass
class TeacherWorkload:
    user_id: str
    name: str
    school_id: str
    school_name: str
    runs: list[RunWorkload] = field(default_factory=list)

    @property
    def total_hours(self) -> float:
        return round(sum(r.workload_hours for r in self.runs), 2)

    @property
    def total_students(self) -> int:
        return sum(r.students for r in self.runs)


@dataclass(frozen=True)
class TermWorkload:
    school_id: str
    term_code: str
    teachers: list[TeacherWorkload]

    @property
    def total_hours(self) -> float:
        return round(sum(t.total_hours for t in self.teachers), 2)


class WorkloadHandlers:
    def __init__(self, db: Database, courses: CourseHandlers,
                 school_name: Callable[[str], Awaitable[str]] = _no_school_name) -> None:
        self.db = db
        self.courses = courses
        self.school_name = school_name  # the identity service's name of a school (schools are public)

    async def set_online_teacher(self, caller: Caller, run_id: str, user_id: str) -> Run:
        """The leader names the teacher in charge: themselves or a teacher on the run's team ("" = the leader)."""
        async with self.db.transaction() as session:
            run = await session.get(Run, run_id)
            if run is None:
                raise NotFound("no such run")
            course = await session.get(Course, run.course_id)
            assert course is not None
            await self.courses._see_run(session, caller, course, run)
            team = set(await session.scalars(select(RunMember.user_id).where(RunMember.run_id == run.id)))
            chosen = user_id or course.leader_id
            rules.check_online_teacher(caller.user_id, course.leader_id, chosen, team)
            run.online_teacher_id = "" if chosen == course.leader_id else chosen
            return run

    async def term_workload(self, caller: Caller, term_code: str, school_id: str = "") -> TermWorkload:
        """The school admin's view: every run of the school in the term that ran, under its teacher in charge.
        A tutor teacher of another school counts here, for the school that runs the course."""
        caller.require_school_admin_of(school_id or caller.school_id or "")
        school_id = caller.school_id or ""
        term_code = term_code.strip()
        if not term_code:
            raise InvalidArgument("name the term (term_code, e.g. 2027-spring)", reason="TERM_REQUIRED")
        province = caller.province_code or await self.courses.policies.school_province(school_id)
        async with self.db.read() as session:
            resolved = await self.courses.policies.resolve(session, school_id, province, term_code)
            per_credit = resolved.policy[HOURS_PER_CREDIT]
            term = await session.get(Term, (province, term_code))
            rows = (await session.execute(
                select(Run, Course).join(Course, Course.id == Run.course_id)
                .where(Run.school_id == school_id, Run.term_code == term_code,
                       Run.state.in_(rules.COUNTED_STATES))
                .order_by(Course.name, Run.number))).all()
            run_ids = [run.id for run, _ in rows]
            students = dict((await session.execute(
                select(CourseClass.run_id, func.count(func.distinct(ClassStudent.user_id)))
                .join(ClassStudent, ClassStudent.class_id == CourseClass.id)
                .where(CourseClass.run_id.in_(run_ids)).group_by(CourseClass.run_id))).all()) if run_ids else {}
            members = {(m.run_id, m.user_id): m for m in await session.scalars(
                select(RunMember).where(RunMember.run_id.in_(run_ids)))} if run_ids else {}
        own_school_name = await self.school_name(school_id) if rows else ""
        teachers: dict[str, TeacherWorkload] = {}
        for run, course in rows:
            member = members.get((run.id, run.online_teacher_id)) if run.online_teacher_id else None
            if member is not None:
                teacher = teachers.setdefault(member.user_id, TeacherWorkload(
                    member.user_id, member.name, member.school_id,
                    member.school_name or (own_school_name if member.school_id == school_id else "")))
            else:  # the leader (named, by default, or after the named teacher left the team)
                teacher = teachers.setdefault(course.leader_id, TeacherWorkload(
                    course.leader_id, course.leader_name, course.school_id, own_school_name))
            hours = rules.class_hours(run.class_hours or course.class_hours, run.total_credits or course.total_credits,
                                      per_credit if isinstance(per_credit, int | float) else None)
            teacher.runs.append(RunWorkload(
                run.id, course.id, course.name, run.number, rules.run_coefficient(run.number), hours.hours,
                hours.basis, rules.workload_hours(hours.hours, run.number), int(students.get(run.id, 0)),
                self.courses._state(run, term)))
        ordered = sorted(teachers.values(), key=lambda t: (-t.total_hours, t.name))
        return TermWorkload(school_id, term_code, ordered)


def workload_sheet(workload: TermWorkload) -> tuple[list[str], list[list[str]]]:
    """The export: one row per run under its teacher, then a total row per teacher."""
    headers = ["教师", "学校", "课程", "开课次数", "系数", "学时", "学时依据", "工作量", "选课人数", "状态"]
    rows: list[list[str]] = []
    for teacher in workload.teachers:
        for run in teacher.runs:
            rows.append([teacher.name, teacher.school_name, run.course_name, str(run.run_number),
                         _number(run.coefficient), _number(run.class_hours), run.hours_basis,
                         _number(run.workload_hours), str(run.students), run.state])
        rows.append([teacher.name, teacher.school_name, "合计", "", "", "", "", _number(teacher.total_hours),
                     str(teacher.total_students), ""])
    return headers, rows


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"
