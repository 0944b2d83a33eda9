"""Course-building projects (seed 004 四, seed 002 三): the application, its college's recommendation, the expert
panel and the school's approval, the pre-launch check, the completion acceptance and the title — every decision
taken in the review service and applied here — and the tranches they release (spending: project_funding.py)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.review.v1 import review_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.reviews import ScopeType, request_review
from servicekit.text import check_text
from services.course.adapters.orm import Course, LeaderBar, Project, ProjectEvent, ProjectTranche, Run, outbox
from services.course.domain import course_stop as stop_rules
from services.course.domain import projects as rules
from services.course.domain import runs as run_rules
from services.course.service_layer.courses import CourseHandlers
from services.course.service_layer.runs import KIND_COURSE_RUN, OWNER

# The caller's own college, fresh from the identity service: (college id, college name).
CollegeOf = Callable[[], Awaitable[tuple[str, str]]]
# A course's measured acceptance facts as the experts read them (the course service's GetAcceptanceFacts).
FactsOf = Callable[[Caller, str], Awaitable[dict]]


@dataclass(frozen=True)
class ProjectView:
    project: Project
    course: Course
    form: rules.Form
    policy: dict
    now: datetime

    @property
    def build_overdue(self) -> bool:
        return (self.project.state in (rules.BUILDING, rules.RECTIFYING) and self.project.build_deadline is not None
                and self.now > self.project.build_deadline)

    @property
    def rectify_overdue(self) -> bool:
        return (self.project.state == rules.RECTIFYING and self.project.rectify_by is not None
                and self.now > self.project.rectify_by)

    @property
    def released(self) -> float:
        return round(sum(t.amount for t in self.project.tranches if t.released_at is not None), 2)

    @property
    def spent_by_category(self) -> dict[str, float]:
        spent: dict[str, float] = {}
        for spending in self.project.spendings:
            spent[spending.category] = round(spent.get(spending.category, 0.0) + spending.amount, 2)
        return spent


def form_from_json(text: str) -> rules.Form:
    data = json.loads(text)
    return rules.Form(**{**data, "leader_teaching": tuple(rules.TeachingRecord(**r) for r in data["leader_teaching"]),
                         "team": tuple(rules.TeamMember(**m) for m in data["team"]),
                         "attachment_ids": tuple(data["attachment_ids"])})


class ProjectHandlers:
    def __init__(self, db: Database, courses: CourseHandlers, college_of: CollegeOf, facts_of: FactsOf,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.courses = courses
        self.college_of = college_of
        self.facts_of = facts_of
        self.clock = clock

    # ---- the leader --------------------------------------------------------------------------------------------

    async def apply(self, caller: Caller, form: rules.Form) -> ProjectView:
        """The course's leader files the application form with their college (seed 004 四(一)1)."""
        caller.require_role("teacher")
        form = rules.check_form(form, caller.user_id)
        college_id, college_name = await self.college_of()
        if not college_id:
            raise FailedPrecondition("you belong to no college (学院) yet: your school's admin puts teachers in "
                                     "colleges, and applications go through the college", reason="NO_COLLEGE")
        async with self.db.read() as session:
            course = await self._led_course(session, caller, form.course_id)
        for asset_id in form.attachment_ids:  # asked with no transaction held
            await self.courses._usable_asset(asset_id, course)
        now = self.clock()
        async with self.db.transaction() as session:
            course = await self._led_course(session, caller, form.course_id)
            bars = (await session.execute(select(LeaderBar.until, LeaderBar.reason).where(
                LeaderBar.leader_id == caller.user_id))).all()
            rules.check_not_barred([(until, reason) for until, reason in bars], now)
            stop_rules.check_leader_may_apply(await session.scalars(select(Course.name).where(
                Course.leader_id == caller.user_id, Course.stopped_at.is_not(None))))
            rules.check_course_free(await session.scalars(select(Project.state).where(
                Project.course_id == course.id, Project.state.not_in(rules.CLOSED))))
            project = Project(school_id=course.school_id, province_code=course.province_code, college_id=college_id,
                              college_name=college_name, course_id=course.id, leader_id=caller.user_id,
                              leader_name=caller.name or course.leader_name, state=rules.APPLIED,
                              form_json=json.dumps(dataclasses.asdict(form), ensure_ascii=False), applied_at=now,
                              tranches=[], spendings=[], history=[])
            session.add(project)
            await session.flush()
            self._record(project, "applied", caller.user_id, "", now)
            await self._ask(session, project, course, form, rules.KIND_RECOMMENDATION, ScopeType.COLLEGE,
                            college_id, caller.user_id)
            return await self._view(session, project, course, now)

    async def request_prelaunch_check(self, caller: Caller, project_id: str) -> ProjectView:
        """The resources are built: the school checks them before they go online (上线审核), facts attached."""
        facts = await self._facts(caller, project_id)
        now = self.clock()
        async with self.db.transaction() as session:
            project, course = await self._own(session, caller, project_id, "ask for the pre-launch check")
            rules.check_state(project.state, (rules.BUILDING, rules.RECTIFYING), "ask for the pre-launch check")
            project.state = rules.PRELAUNCH_CHECK
            self._record(project, "prelaunch_requested", caller.user_id, "", now)
            await self._ask(session, project, course, form_from_json(project.form_json), rules.KIND_PRELAUNCH,
                            ScopeType.SCHOOL, project.school_id, caller.user_id, facts)
            return await self._view(session, project, course, now)

    async def request_acceptance(self, caller: Caller, project_id: str) -> ProjectView:
        """The completion acceptance (结项验收): the school's panel scores against its rubric, the facts beside."""
        facts = await self._facts(caller, project_id)
        now = self.clock()
        async with self.db.transaction() as session:
            project, course = await self._own(session, caller, project_id, "ask for the completion acceptance")
            rules.check_state(project.state, (rules.ONLINE,), "ask for the completion acceptance")
            rules.check_acceptance_ready(project.runs_since_check)
            project.state = rules.ACCEPTANCE
            self._record(project, "acceptance_requested", caller.user_id, "", now)
            await self._ask(session, project, course, form_from_json(project.form_json), rules.KIND_ACCEPTANCE,
                            ScopeType.SCHOOL, project.school_id, caller.user_id, facts)
            return await self._view(session, project, course, now)

    async def _facts(self, caller: Caller, project_id: str) -> dict:
        async with self.db.read() as session:
            project, _ = await self._own(session, caller, project_id, "ask for a check")
        return await self.facts_of(caller, project.course_id)

    # ---- reading -----------------------------------------------------------------------------------------------

    async def get(self, caller: Caller, project_id: str) -> ProjectView:
        async with self.db.read() as session:
            project, course = await self._readable(session, caller, project_id)
            return await self._view(session, project, course, self.clock())

    async def list(self, caller: Caller, state: str, school_id: str) -> list[ProjectView]:
        if state and state not in rules.STATES:
            raise InvalidArgument(f"a project's state is one of {', '.join(rules.STATES)}")
        statement = select(Project)
        if caller.role == "teacher":
            statement = statement.where(Project.leader_id == caller.user_id)
        elif caller.role == "college_admin" and caller.college_id:
            statement = statement.where(Project.college_id == caller.college_id)
        elif caller.role == "school_admin":
            if school_id and school_id != caller.school_id:
                raise PermissionDenied("school admins read their own school's projects")
            statement = statement.where(Project.school_id == caller.school_id)
        else:
            raise PermissionDenied("projects are read by their leaders, colleges and schools")
        if state:
            statement = statement.where(Project.state == state)
        now = self.clock()
        async with self.db.read() as session:
            projects = list(await session.scalars(statement.order_by(Project.applied_at.desc()).limit(500)))
            courses = {c.id: c for c in await session.scalars(
                select(Course).where(Course.id.in_({p.course_id for p in projects})))}
            policies = {key: await self._policy(session, *key) for key in {(p.school_id, p.province_code)
                                                                           for p in projects}}
            return [ProjectView(p, courses[p.course_id], form_from_json(p.form_json),
                                policies[(p.school_id, p.province_code)], now) for p in projects]

    # ---- decisions, applied from the review service's events --------------------------------------------------

    async def apply_decision(self, session: AsyncSession, decided: review_pb2.ReviewDecided) -> None:
        if decided.kind == KIND_COURSE_RUN:
            if decided.decision == "approved":
                await self._run_approved(session, decided.subject_id)
            return
        if decided.kind not in rules.KINDS:
            return
        project = await session.get(Project, decided.subject_id)
        if project is None:
            return
        course = await session.get(Course, project.course_id)
        assert course is not None
        now = self.clock()
        approved = decided.decision == "approved"
        expected = {rules.KIND_RECOMMENDATION: rules.APPLIED, rules.KIND_APPLICATION: rules.PANEL,
                    rules.KIND_PRELAUNCH: rules.PRELAUNCH_CHECK, rules.KIND_ACCEPTANCE: rules.ACCEPTANCE}
        if project.state != expected[decided.kind]:
            return  # a decision already applied (redelivered), or for a step the project has left
        project.reason = decided.reason
        policy = (await self.courses.policies.resolve(session, project.school_id, project.province_code)).policy
        if decided.kind == rules.KIND_RECOMMENDATION:
            self._record(project, "recommended" if approved else "not_recommended", decided.decided_by,
                         decided.reason, now)
            if not approved:
                project.state = rules.NOT_RECOMMENDED
                return
            project.state = rules.PANEL
            await self._ask(session, project, course, form_from_json(project.form_json), rules.KIND_APPLICATION,
                            ScopeType.SCHOOL, project.school_id, project.leader_id)
        elif decided.kind == rules.KIND_APPLICATION:
            project.application_score = decided.panel_mean
            self._record(project, "approved" if approved else "rejected", decided.decided_by, decided.reason, now,
                         decided)
            if not approved:
                project.state = rules.REJECTED
                return
            self._approve(project, policy, now)
        elif decided.kind == rules.KIND_PRELAUNCH:
            self._prelaunch_decided(session, project, approved, decided, policy, now)
        else:
            project.acceptance_score = decided.panel_mean
            self._record(project, "accepted" if approved else "acceptance_failed", decided.decided_by,
                         decided.reason, now, decided)
            project.state = rules.ACCEPTED if approved else rules.ONLINE
            if approved:
                project.accepted_at = now
                course.title, course.titled_at, course.title_revoked_reason = rules.TITLE, now, ""
        self._release_tranches(project, now)

    def _approve(self, project: Project, policy: dict, now: datetime) -> None:
        """Approved (立项): the building period and the build deadline start, the budget and its tranches are set."""
        project.state = rules.BUILDING
        project.approved_at = now
        project.period_end = rules.add_months(now, int(policy["project_period_months"]))
        project.build_deadline = rules.add_months(now, int(policy["project_build_months"]))
        project.budget = float(policy["project_budget_yuan"])
        amounts = rules.tranche_amounts(project.budget)
        project.tranches = [ProjectTranche(position=i, milestone=milestone, amount=amounts[milestone])
                            for i, (milestone, _, _) in enumerate(rules.TRANCHES)]

    def _prelaunch_decided(self, session: AsyncSession, project: Project, approved: bool,
                           decided: review_pb2.ReviewDecided, policy: dict, now: datetime) -> None:
        if approved:
            project.state, project.rectify_by = rules.ONLINE, None
            self._record(project, "prelaunch_passed", decided.decided_by, decided.reason, now)
            return
        outcome = rules.prelaunch_failed(project.prelaunch_failures)
        project.prelaunch_failures += 1
        project.state = outcome.state
        if not outcome.terminated:
            project.rectify_by = rules.rectify_by(now, int(policy["project_rectify_days"]))
            self._record(project, "prelaunch_failed", decided.decided_by, decided.reason, now)
            return
        project.terminated_at, project.rectify_by = now, None
        until = rules.add_years(now, int(policy["project_bar_years"]))
        self._record(project, "terminated", decided.decided_by, decided.reason, now)
        session.add(LeaderBar(leader_id=project.leader_id, school_id=project.school_id, project_id=project.id,
                              until=until, reason=f"the project's pre-launch check failed twice: {decided.reason}"))

    async def _run_approved(self, session: AsyncSession, run_id: str) -> None:
        """A run of a project's course approved after its pre-launch check (上线审核后开课) is a milestone."""
        run = await session.get(Run, run_id)
        if run is None or run.state != run_rules.PUBLISHED:
            return
        project = await session.scalar(select(Project).where(
            Project.course_id == run.course_id, Project.state.in_((rules.ONLINE, rules.ACCEPTANCE))))
        if project is None:
            return
        now = self.clock()
        project.runs_since_check += 1
        self._record(project, "run_approved", "", f"{run.term_code} #{run.number}", now)
        self._release_tranches(project, now)

    def _release_tranches(self, project: Project, now: datetime) -> None:
        reached = rules.milestones_reached(project.state, project.runs_since_check,
                                           project.state == rules.TERMINATED)
        labels = {milestone: label for milestone, label, _ in rules.TRANCHES}
        for tranche in project.tranches:
            if tranche.milestone in reached and tranche.released_at is None:
                tranche.released_at = now
                self._record(project, "tranche_released", "",
                             f"{labels[tranche.milestone]} {tranche.amount:,.2f} yuan", now)

    # ---- the title --------------------------------------------------------------------------------------------

    async def revoke_title(self, caller: Caller, course_id: str, reason: str) -> Course:
        """The school takes the title away from a course that no longer runs normally (seed 004 四(二)4)."""
        reason = check_text(reason, "the reason", 1_000)
        async with self.db.transaction() as session:
            course = await session.get(Course, course_id)
            if course is None or (caller.role == "school_admin" and caller.school_id != course.school_id):
                raise NotFound("no such course")
            caller.require_school_admin_of(course.school_id)
            if not course.title:
                raise FailedPrecondition("this course holds no title", reason="NO_TITLE")
            course.title, course.title_revoked_reason = "", reason
            return course

    # ---- helpers ----------------------------------------------------------------------------------------------

    @staticmethod
    async def _led_course(session: AsyncSession, caller: Caller, course_id: str) -> Course:
        course = await session.get(Course, course_id) if course_id else None
        if course is None or course.school_id != caller.school_id:
            raise NotFound("no such course of your school")
        if course.leader_id != caller.user_id:
            raise PermissionDenied("only the course's leader applies for its project")
        return course

    async def _own(self, session: AsyncSession, caller: Caller, project_id: str,
                   doing: str) -> tuple[Project, Course]:
        project, course = await self._readable(session, caller, project_id)
        rules.check_leader(caller.user_id, project.leader_id, doing)
        return project, course

    @staticmethod
    async def _readable(session: AsyncSession, caller: Caller, project_id: str) -> tuple[Project, Course]:
        """Its leader and team, its college's admin and its school's admins read a project; others learn nothing."""
        project = await session.get(Project, project_id)
        if project is not None:
            team = rules.conflicts(project.leader_id, form_from_json(project.form_json))
            if (caller.user_id in team
                    or (caller.role == "college_admin" and caller.college_id == project.college_id)
                    or (caller.role == "school_admin" and caller.school_id == project.school_id)):
                course = await session.get(Course, project.course_id)
                assert course is not None
                return project, course
        raise NotFound("no such project")

    async def _view(self, session: AsyncSession, project: Project, course: Course, now: datetime) -> ProjectView:
        policy = await self._policy(session, project.school_id, project.province_code)
        return ProjectView(project, course, form_from_json(project.form_json), policy, now)

    async def _policy(self, session: AsyncSession, school_id: str, province_code: str) -> dict:
        return dict((await self.courses.policies.resolve(session, school_id, province_code)).policy.values)

    @staticmethod
    def _record(project: Project, action: str, actor_id: str, reason: str, now: datetime,
                decided: review_pb2.ReviewDecided | None = None) -> None:
        project.history.append(ProjectEvent(
            action=action, actor_id=actor_id, reason=reason, at=now,
            panel_mean=decided.panel_mean if decided else 0.0,
            panel_conclusion=decided.panel_conclusion if decided else ""))

    @staticmethod
    async def _ask(session: AsyncSession, project: Project, course: Course, form: rules.Form, kind: str,
                   scope_type: str, scope_id: str, requested_by: str, facts: dict | None = None) -> None:
        """One review request: what the deciders (and the experts) see of the project."""
        snapshot = {
            "project_id": project.id, "course_id": course.id, "course_name": course.name,
            "category": course.category, "leader_id": project.leader_id, "leader_name": project.leader_name,
            "college_name": project.college_name, "state": project.state,
            "form": dataclasses.asdict(form),
            "conflicts": rules.conflicts(project.leader_id, form),
            "history": [{"action": e.action, "reason": e.reason, "at": e.at.isoformat()} for e in project.history],
        }
        if facts is not None:
            snapshot["facts"] = facts
        await request_review(session, outbox, owner=OWNER, kind=kind, subject_id=project.id, scope_type=scope_type,
                             scope_id=scope_id, title=f"{course.name}（{project.leader_name}）",
                             snapshot=snapshot, requested_by=requested_by)
