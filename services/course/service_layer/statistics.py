"""Read-only statistics: the center's view of its province, a school's of itself, and the school's yearly report
(resource update ratio per course against the 5–10% target, and the courses' use), which the school publishes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import InvalidArgument, PermissionDenied, Unavailable
from servicekit.pagination import next_page_token
from servicekit.reports import Reports, Table, cell
from services.course.adapters.orm import (
    ClassStudent,
    Course,
    CourseClass,
    Material,
    MoocApplication,
    PlanNode,
    RegistryChange,
    RegistryEntry,
    Run,
    RunMember,
    SchoolReport,
    Term,
)
from services.course.domain import courses as course_rules
from services.course.domain import runs as run_rules
from services.course.domain import statistics as rules

SCHOOL_REPORT = "school-report"
log = logging.getLogger(__name__)


class WatchedMinutes(Protocol):
    """The learning service's count of video minutes credited to students per run (adapters/learning.py)."""

    async def watched_minutes(self, run_ids: Sequence[str]) -> dict[str, float]: ...


def _run_state(today: date) -> Any:
    """A run's state as reads show it: approved runs start with their term and end after it."""
    return case(
        (and_(Run.state.in_(run_rules.APPROVED_STATES), Term.ends_on < today), literal(run_rules.ENDED)),
        (and_(Run.state == run_rules.PUBLISHED, Term.starts_on <= today), literal(run_rules.RUNNING)),
        else_=Run.state)


def _term_of_run() -> Any:
    return and_(Term.province_code == Course.province_code, Term.code == Run.term_code)


def _students_of(*where: Any, runs: Any = None, terms: Any = None, of_term: Any = None) -> Any:
    """Distinct students in the classes (public ones included) that match `where`, joined to a run alias (and
    its term) when given: one correlated level, so the outer query's course is the one counted."""
    statement = select(func.count(func.distinct(ClassStudent.user_id))).join(
        CourseClass, CourseClass.id == ClassStudent.class_id)
    if runs is not None:
        statement = statement.join(runs, runs.id == CourseClass.run_id)
    if terms is not None:
        statement = statement.join(terms, of_term)
    return statement.where(*where).scalar_subquery()


def _classes_of(*where: Any, runs: Any = None, terms: Any = None, of_term: Any = None) -> Any:
    """Classes a teacher made that match `where` (the public class every run has is not counted)."""
    statement = select(func.count(CourseClass.id))
    if runs is not None:
        statement = statement.join(runs, runs.id == CourseClass.run_id)
    if terms is not None:
        statement = statement.join(terms, of_term)
    return statement.where(CourseClass.is_public.is_(False), *where).scalar_subquery()


def _one_of(value: str, allowed: Sequence[str], field: str) -> str:
    if value not in allowed:
        raise InvalidArgument(f"{field} is one of {', '.join(allowed)}; got {value!r}", reason="BAD_FILTER")
    return value


class StatisticsHandlers(Reports):
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow,
                 learning: WatchedMinutes | None = None) -> None:
        self.db = db
        self.clock = clock
        self.learning = learning

    # ---- the reports ----------------------------------------------------------------------

    async def _table(self, caller: Caller, name: str, filters: dict[str, str], limit: int, offset: int) -> Table:
        builders = {"courses": self._courses, "runs": self._runs, "adoptions": self._adoptions,
                    "mooc-applications": self._applications, "registry": self._registry}
        if name not in builders and name != SCHOOL_REPORT:
            raise InvalidArgument(f"unknown report {name!r}; the reports are {', '.join([*builders, SCHOOL_REPORT])}",
                                  reason="UNKNOWN_REPORT")
        allowed = {"courses": {"school_id", "kind", "category", "state"},
                   "runs": {"school_id", "kind", "term_code", "state"},
                   "adoptions": {"school_id", "term_code"},
                   "mooc-applications": {"school_id", "status"},
                   "registry": {"school_id", "status"},
                   SCHOOL_REPORT: {"school_id", "school_year"}}[name]
        unknown = sorted(set(filters) - allowed)
        if unknown:
            raise InvalidArgument(f"the {name} report has no filter {unknown[0]!r}; "
                                  f"it takes {', '.join(sorted(allowed))}", reason="BAD_FILTER")
        filters = {key: value.strip() for key, value in filters.items() if value.strip()}
        if name == SCHOOL_REPORT:  # reads the database, then asks the learning service (no transaction held)
            return await self._school_report(caller, filters, limit, offset)
        async with self.db.read() as session:
            return await builders[name](session, caller, filters, limit, offset)

    @staticmethod
    async def _page(session: AsyncSession, statement: Select, limit: int, offset: int) -> tuple[list, str, int]:
        total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        rows = list((await session.execute(statement.limit(limit).offset(offset))).all())
        return rows, next_page_token(offset, limit, total), total

    @staticmethod
    def _scope(caller: Caller, filters: dict[str, str]) -> rules.Scope:
        return rules.statistics_scope(caller.role, caller.province_code, caller.school_id,
                                      filters.get("school_id", ""))

    async def _courses(self, session: AsyncSession, caller: Caller, filters: dict[str, str], limit: int,
                       offset: int) -> Table:
        """Courses by school, kind, category and state (the state of the latest run; `none` without runs)."""
        scope = self._scope(caller, filters)
        today = self.clock().date()
        of_term = and_(Term.province_code == scope.province_code, Term.code == Run.term_code)
        latest_state = (select(_run_state(today)).select_from(Run).join(Term, of_term, isouter=True)
            .where(Run.course_id == Course.id).order_by(Run.number.desc()).limit(1).scalar_subquery())
        runs = select(func.count(Run.id)).where(Run.course_id == Course.id).scalar_subquery()
        course_runs = aliased(Run)
        statement = select(
            Course.id, Course.school_id, Course.name, Course.kind, Course.category, Course.leader_name,
            func.coalesce(latest_state, "none"), runs,
            _classes_of(course_runs.course_id == Course.id, runs=course_runs),
            _students_of(course_runs.course_id == Course.id, runs=course_runs), Course.created_at,
        ).where(Course.province_code == scope.province_code)
        if scope.school_id:
            statement = statement.where(Course.school_id == scope.school_id)
        if "kind" in filters:
            statement = statement.where(Course.kind == course_rules.check_kind(filters["kind"]))
        if "category" in filters:
            statement = statement.where(Course.category == filters["category"])
        if "state" in filters:
            state = _one_of(filters["state"], ("none", *run_rules.RUN_STATES), "state")
            statement = statement.where(func.coalesce(latest_state, "none") == state)
        rows, token, total = await self._page(
            session, statement.order_by(Course.school_id, Course.kind, Course.category, Course.name, Course.id),
            limit, offset)
        return Table("courses", ["course_id", "school_id", "name", "kind", "category", "leader_name", "state",
                                 "runs", "classes", "students", "created_at"],
                     ["课程ID", "学校ID", "课程名称", "类型", "类别", "课程负责人", "状态", "开课期数", "班级数",
                      "学生数", "创建时间"],
                     [[cell(v) for v in row] for row in rows], token, total)

    async def _runs(self, session: AsyncSession, caller: Caller, filters: dict[str, str], limit: int,
                    offset: int) -> Table:
        """Runs per term with their classes and students (and how many of those come from other schools)."""
        scope = self._scope(caller, filters)
        state = _run_state(self.clock().date())
        from_others = _students_of(CourseClass.run_id == Run.id, CourseClass.school_id != Course.school_id,
                                   CourseClass.is_public.is_(False))
        statement = (select(Run.term_code, Course.school_id, Course.id, Course.name, Course.kind, Run.id,
                            Run.number, state, _classes_of(CourseClass.run_id == Run.id),
                            _students_of(CourseClass.run_id == Run.id), from_others)
                     .join(Course, Course.id == Run.course_id)
                     .join(Term, _term_of_run(), isouter=True)
                     .where(Course.province_code == scope.province_code))
        if scope.school_id:
            statement = statement.where(Course.school_id == scope.school_id)
        if "kind" in filters:
            statement = statement.where(Course.kind == course_rules.check_kind(filters["kind"]))
        if "term_code" in filters:
            statement = statement.where(Run.term_code == filters["term_code"])
        if "state" in filters:
            wanted = _one_of(filters["state"], run_rules.RUN_STATES, "state")
            statement = statement.where(state == wanted)
        rows, token, total = await self._page(
            session, statement.order_by(Run.term_code.desc(), Course.school_id, Course.name, Run.number, Run.id),
            limit, offset)
        return Table("runs", ["term_code", "school_id", "course_id", "course_name", "kind", "run_id", "number",
                              "state", "classes", "students", "students_from_other_schools"],
                     ["学期", "学校ID", "课程ID", "课程名称", "类型", "子课ID", "期次", "状态", "班级数", "学生数",
                      "其中外校学生数"],
                     [[cell(v) for v in row] for row in rows], token, total)

    async def _adoptions(self, session: AsyncSession, caller: Caller, filters: dict[str, str], limit: int,
                         offset: int) -> Table:
        """Who adopts whose courses, with students: classes another school's teachers made on a run (the
        public class's learners are not an adoption). The center sees its province's courses; a school both
        sides, what it adopts and who adopts its courses."""
        scope = self._scope(caller, filters)
        creator = aliased(RunMember)
        statement = (
            select(Run.term_code, Course.school_id, Course.id, Course.name, Course.leader_name, Run.id, Run.number,
                   CourseClass.school_id, func.max(creator.school_name), func.count(func.distinct(CourseClass.id)),
                   func.count(func.distinct(ClassStudent.user_id)))
            .select_from(CourseClass)
            .join(Run, Run.id == CourseClass.run_id).join(Course, Course.id == Run.course_id)
            .join(creator, and_(creator.run_id == CourseClass.run_id, creator.user_id == CourseClass.created_by),
                  isouter=True)
            .join(ClassStudent, ClassStudent.class_id == CourseClass.id, isouter=True)
            .where(CourseClass.is_public.is_(False), CourseClass.school_id != Course.school_id)
            .group_by(Run.term_code, Course.school_id, Course.id, Course.name, Course.leader_name, Run.id, Run.number,
                      CourseClass.school_id))
        if caller.role == "center_admin":
            statement = statement.where(Course.province_code == scope.province_code)
            if scope.school_id:
                statement = statement.where(or_(Course.school_id == scope.school_id,
                                                CourseClass.school_id == scope.school_id))
        else:  # a school admin: its school on either side, whichever province provides
            statement = statement.where(or_(Course.school_id == scope.school_id,
                                            CourseClass.school_id == scope.school_id))
        if "term_code" in filters:
            statement = statement.where(Run.term_code == filters["term_code"])
        rows, token, total = await self._page(
            session, statement.order_by(Run.term_code.desc(), Course.school_id, Course.name, Run.number,
                                        CourseClass.school_id), limit, offset)
        return Table("adoptions", ["term_code", "providing_school_id", "course_id", "course_name", "leader_name",
                                   "run_id", "run_number", "adopting_school_id", "adopting_school_name", "classes",
                                   "students"],
                     ["学期", "开课学校ID", "课程ID", "课程名称", "课程负责人", "子课ID", "期次", "选课学校ID",
                      "选课学校", "班级数", "学生数"],
                     [[cell(v) for v in row] for row in rows], token, total)

    async def _applications(self, session: AsyncSession, caller: Caller, filters: dict[str, str], limit: int,
                            offset: int) -> Table:
        """SPOC→MOOC applications of the province (or the school) and where each stands."""
        scope = self._scope(caller, filters)
        statement = (select(MoocApplication.id, MoocApplication.school_id, MoocApplication.course_id, Course.name,
                            Course.leader_name, MoocApplication.approved_video_minutes, MoocApplication.run_count,
                            MoocApplication.status, MoocApplication.reason, MoocApplication.submitted_at,
                            MoocApplication.decided_at)
                     .join(Course, Course.id == MoocApplication.course_id)
                     .where(Course.province_code == scope.province_code))
        if scope.school_id:
            statement = statement.where(MoocApplication.school_id == scope.school_id)
        if "status" in filters:
            statement = statement.where(MoocApplication.status == _one_of(
                filters["status"], ("pending", "approved", "rejected"), "status"))
        rows, token, total = await self._page(
            session, statement.order_by(MoocApplication.submitted_at.desc(), MoocApplication.id), limit, offset)
        return Table("mooc-applications", ["application_id", "school_id", "course_id", "course_name", "leader_name",
                                           "approved_video_minutes", "run_count", "status", "reason", "submitted_at",
                                           "decided_at"],
                     ["申请ID", "学校ID", "课程ID", "课程名称", "课程负责人", "已审核视频分钟数", "开课期数", "状态",
                      "意见", "提交时间", "审核时间"],
                     [[cell(v) for v in row] for row in rows], token, total)

    async def _registry(self, session: AsyncSession, caller: Caller, filters: dict[str, str], limit: int,
                        offset: int) -> Table:
        """The province's MOOC registry (MOOC课程库), with each entry's change requests still waiting."""
        scope = self._scope(caller, filters)
        waiting = (select(func.count(RegistryChange.id)).where(
            RegistryChange.entry_id == RegistryEntry.id, RegistryChange.status == "pending").scalar_subquery())
        statement = (select(RegistryEntry.id, RegistryEntry.school_id, RegistryEntry.name, RegistryEntry.leader_name,
                            RegistryEntry.status, RegistryEntry.rejection_reason, waiting, RegistryEntry.created_at)
                     .where(RegistryEntry.province_code == scope.province_code))
        if scope.school_id:
            statement = statement.where(RegistryEntry.school_id == scope.school_id)
        if "status" in filters:
            statement = statement.where(RegistryEntry.status == _one_of(
                filters["status"], ("pending", "approved", "rejected"), "status"))
        rows, token, total = await self._page(
            session, statement.order_by(RegistryEntry.school_id, RegistryEntry.name, RegistryEntry.id), limit, offset)
        return Table("registry", ["entry_id", "school_id", "name", "leader_name", "status", "rejection_reason",
                                  "pending_changes", "created_at"],
                     ["条目ID", "学校ID", "课程名称", "课程负责人", "状态", "退回原因", "待审变更", "备案时间"],
                     [[cell(v) for v in row] for row in rows], token, total)

    # ---- the school's yearly report -------------------------------------------------------------

    async def _report_school(self, session: AsyncSession, caller: Caller, asked_school_id: str,
                             year: int) -> tuple[str, str, SchoolReport | None]:
        """(school, province, publication): the school admin reads its own report at any time; the center
        (of the school's province) and the school's own teachers once the school has published it."""
        if caller.role == "school_admin":
            if asked_school_id and asked_school_id != caller.school_id:
                raise PermissionDenied("a school admin sees only their own school's report")
            school_id = caller.school_id or ""
            return school_id, caller.province_code or "", await session.get(SchoolReport, (school_id, year))
        if caller.role == "teacher":
            if asked_school_id and asked_school_id != caller.school_id:
                raise PermissionDenied("a teacher sees only their own school's published report")
            school_id = caller.school_id or ""
        elif caller.role == "center_admin":
            if not asked_school_id:
                raise InvalidArgument("name the school (school_id) whose published report you read",
                                      reason="SCHOOL_REQUIRED")
            school_id = asked_school_id
        else:
            raise PermissionDenied("a school's report is read by its admins, its teachers and its province's center")
        published = await session.get(SchoolReport, (school_id, year))
        if published is None or (caller.role == "center_admin" and published.province_code != caller.province_code):
            raise PermissionDenied(f"the school has not published its report for the school year {year}-{year + 1}",
                                   reason="REPORT_NOT_PUBLISHED")
        return school_id, published.province_code, published

    async def _school_report(self, caller: Caller, filters: dict[str, str], limit: int, offset: int) -> Table:
        """Per course of the school: its resources, how many were added or renewed in the school year, the
        update ratio against the 5–10% target (flagged below 5%), and its use that year (runs of terms starting
        in it, their classes and students, and the minutes of video credited to students on those runs, which
        the learning service counts). Synchronous SPOCs show another school's content and are left out."""
        year, start, end = rules.school_year(filters.get("school_year", ""), self.clock())
        async with self.db.read() as session:
            school_id, province_code, published, page, token, total, added, year_runs = await self._school_rows(
                session, caller, filters, limit, offset, year, start, end)
        minutes, unavailable = await self._minutes_watched([run for runs in year_runs.values() for run in runs])
        rows = []
        for course_id, name, kind, category, leader, run_count, classes, students in page:
            resources = added.get(course_id, [])
            fresh = len({key for key, when in resources if start <= when < end})
            ratio = course_rules.resource_update_ratio(resources, start, end)
            watched = None if unavailable else round(sum(minutes.get(r, 0.0) for r in year_runs.get(course_id, ())), 2)
            rows.append([cell(v) for v in (
                f"{year}-{year + 1}", course_id, name, kind, category, leader, len({k for k, _ in resources}),
                fresh, round(ratio, 4), rules.update_ratio_flag(ratio), run_count, classes, students, watched)])
        low, high = course_rules.UPDATE_RATIO_TARGET
        notes = {"school_id": school_id, "school_year": f"{year}-{year + 1}", "target": f"{low:.0%}-{high:.0%}",
                 "published_at": cell(published.published_at) if published else "",
                 "minutes_watched": unavailable or "minutes of video credited to students (time really watched) on "
                                                   "the course's runs of terms starting in the school year"}
        return Table(SCHOOL_REPORT, ["school_year", "course_id", "name", "kind", "category", "leader_name",
                                     "resources", "updated_resources", "update_ratio", "target", "runs", "classes",
                                     "students", "minutes_watched"],
                     ["学年", "课程ID", "课程名称", "类型", "类别", "课程负责人", "资源数", "本学年更新资源数",
                      "资源更新比例", "对照5%-10%目标", "开课期数", "班级数", "学生数", "观看分钟数"],
                     rows, token, total, notes)

    async def _minutes_watched(self, run_ids: list[str]) -> tuple[dict[str, float], str]:
        """(minutes per run, "") from the learning service; ({}, why) when it does not answer: the report still
        answers, with the column empty."""
        if not run_ids:
            return {}, ""
        if self.learning is None:
            return {}, "unavailable: the learning service is not connected"
        try:
            return await self.learning.watched_minutes(run_ids), ""
        except Unavailable as error:
            log.warning("school report without minutes watched: %s", error.message)
            return {}, "unavailable: the learning service did not answer; try again later"

    async def _school_rows(self, session: AsyncSession, caller: Caller, filters: dict[str, str], limit: int,
                           offset: int, year: int, start: datetime, end: datetime) -> tuple[Any, ...]:
        """The report's page from this service's database: the school, its province and publication, the page of
        courses with their runs, classes and students, their resources, and each course's runs of the year."""
        school_id, province_code, published = await self._report_school(
            session, caller, filters.get("school_id", ""), year)
        year_runs, year_terms = aliased(Run), aliased(Term)
        in_year = (year_runs.course_id == Course.id, year_terms.starts_on >= start.date(),
                   year_terms.starts_on < end.date())
        of_term = and_(year_terms.province_code == province_code, year_terms.code == year_runs.term_code)
        runs = select(func.count(year_runs.id)).join(year_terms, of_term).where(*in_year).scalar_subquery()
        joined = {"runs": year_runs, "terms": year_terms, "of_term": of_term}
        statement = (select(Course.id, Course.name, Course.kind, Course.category, Course.leader_name, runs,
                            _classes_of(*in_year, **joined), _students_of(*in_year, **joined))
                     .where(Course.school_id == school_id, Course.province_code == province_code,
                            Course.kind != course_rules.SPOC_SYNCHRONOUS, Course.created_at < end))
        page, token, total = await self._page(session, statement.order_by(Course.name, Course.id), limit, offset)
        course_ids = [row[0] for row in page]
        added = await self._resources(session, course_ids)
        year_runs_of: dict[str, list[str]] = {}
        if course_ids:
            listed = (select(year_runs.course_id, year_runs.id).join(year_terms, of_term)
                      .where(year_runs.course_id.in_(course_ids), year_terms.starts_on >= start.date(),
                             year_terms.starts_on < end.date()))
            for course_id, run_id in (await session.execute(listed)).all():
                year_runs_of.setdefault(course_id, []).append(run_id)
        return school_id, province_code, published, page, token, total, added, year_runs_of

    @staticmethod
    async def _resources(session: AsyncSession, course_ids: list[str]) -> dict[str, list[tuple[str, datetime]]]:
        """The parent courses' resources and when each was added (materials by file, plan units by unit, as the
        course overview counts them), in one query."""
        if not course_ids:
            return {}
        materials = select(Material.course_id, Material.asset_id.label("key"), Material.added_at).where(
            Material.course_id.in_(course_ids), Material.run_id == "")
        units = select(PlanNode.course_id, PlanNode.id.label("key"), PlanNode.added_at).where(
            PlanNode.course_id.in_(course_ids), PlanNode.run_id == "", PlanNode.resource_id.is_not(None))
        found: dict[str, list[tuple[str, datetime]]] = {}
        for course_id, key, added_at in (await session.execute(union_all(materials, units))).all():
            if added_at.tzinfo is None:  # SQLite's text comes back naive from a bare union; it is UTC
                added_at = added_at.replace(tzinfo=UTC)
            found.setdefault(course_id, []).append((key, added_at))
        return found

    async def publish_school_report(self, caller: Caller, school_year: str) -> SchoolReport:
        """The academic affairs office publishes its report for a school year (again: a newer timestamp)."""
        caller.require_role("school_admin")
        year, _, _ = rules.school_year(school_year, self.clock())
        async with self.db.transaction() as session:
            report = await session.get(SchoolReport, (caller.school_id or "", year))
            if report is None:
                report = SchoolReport(school_id=caller.school_id or "", school_year=year,
                                      province_code=caller.province_code or "", published_at=self.clock(),
                                      published_by=caller.user_id)
                session.add(report)
            else:
                report.published_at, report.published_by = self.clock(), caller.user_id
            return report

