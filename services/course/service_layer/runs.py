"""Runs (子课): opening one for a term, publishing it for review, taking it down, ending it with its term."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from servicekit.auth import Caller
from servicekit.db import new_id
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.outbox import emit
from servicekit.reviews import ScopeType, request_review
from services.course.adapters.orm import (
    Course,
    CourseClass,
    Material,
    PlanNode,
    Run,
    RunMember,
    Term,
    outbox,
)
from services.course.domain import course_stop as stop_rules
from services.course.domain import courses as rules
from services.course.domain import plan as plan_rules
from services.course.domain import policy as policy_rules
from services.course.domain import runs as run_rules

OWNER = "course"
KIND_COURSE_RUN = "course_run"


class RunHandlers:
    """The runs' commands and reads; a part of CourseHandlers (its db, clock, access checks and policies)."""

    # ---- runs -----------------------------------------------------------------------------

    async def _is_open_mooc_run(self, session: AsyncSession, course: Course, run: Run) -> bool:
        """A MOOC's published or running run is open to every school: anyone signed in reads its plan."""
        state = self._state(run, await self._term(session, run))
        return course.kind == rules.MOOC and state in (run_rules.PUBLISHED, run_rules.RUNNING)

    @staticmethod
    async def _term(session: AsyncSession, run: Run | None) -> Term | None:
        if run is None:
            return None
        course = await session.get(Course, run.course_id)
        return await session.get(Term, (course.province_code if course else "", run.term_code))

    def _state(self, run: Run, term: Term | None) -> str:
        if term is None:
            return run.state
        return run_rules.state_on(run.state, term.starts_on, term.ends_on, self.clock().date())

    async def _known_term(self, session: AsyncSession, course: Course, code: str) -> Term:
        term = await session.get(Term, (course.province_code, code))
        if term is None:
            raise InvalidArgument(f"{code} is not in the provincial center's term calendar")
        return term

    async def open_run(self, caller: Caller, course_id: str, term_code: str) -> tuple[Run, str]:
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
            await self._see(session, caller, course)
            if caller.user_id != course.leader_id:
                raise PermissionDenied("the course leader opens runs")
            stop_rules.check_may_open_run(course.name, course.stopped_at, course.stop_reason)
            await self._known_term(session, course, term_code)
            previous = await session.scalar(select(Run).where(Run.course_id == course.id).order_by(Run.number.desc()))
            run = Run(id=new_id(), course_id=course.id, school_id=course.school_id,
                      number=(previous.number + 1) if previous else 1, term_code=term_code,
                      state=run_rules.DRAFT, created_at=self.clock(), updated_at=self.clock())
            if previous is not None:  # a re-run copies the previous run
                run.name, run.overview_json = previous.name, previous.overview_json
                run.online_credits, run.total_credits = previous.online_credits, previous.total_credits
                run.class_hours = previous.class_hours
                run.copied_from_run_id = previous.id
                source_course, source_run = course.id, previous.id
            else:  # the first run copies the parent
                run.name, run.overview_json = course.name, course.overview_json
                run.online_credits, run.total_credits = course.online_credits, course.total_credits
                run.class_hours = course.class_hours
                source_course, source_run = await self._plan_owner(session, course)
            session.add(run)
            await session.flush()
            copied = await self._copy_content(session, source_course, source_run, course.id, run.id)
            public = CourseClass(run_id=run.id, name=run_rules.PUBLIC_CLASS_NAME, is_public=True,
                                 school_id=course.school_id, created_by=caller.user_id)
            session.add(public)
            await session.flush()
            # The learning service copies what it keeps per plan node (the question bank) along this map.
            await emit(session, outbox, "course.run.opened", course_pb2.RunOpened(
                run=self._run_fact(run, course, public.id), source_course_id=source_course,
                source_run_id=source_run,
                nodes=[course_pb2.NodeCopy(from_id=old, to_id=new) for old, new in copied.items()]))
            return run, public.id

    async def _copy_content(self, session: AsyncSession, from_course: str, from_run: str, to_course: str,
                            to_run: str) -> dict[str, str]:
        """Copies the plan and materials: new nodes, the same media references. Returns each copied node's new id
        by its old one (depth first, in the plan's order)."""
        mapping: dict[str, str] = {}
        for node in plan_rules.ordered(self._domain(await self._nodes(session, from_course, from_run))):
            mapping[node.id] = new_id()
        for original in await self._nodes(session, from_course, from_run):
            session.add(PlanNode(
                id=mapping[original.id], course_id=to_course, run_id=to_run,
                parent_id=mapping[original.parent_id] if original.parent_id else None, kind=original.kind,
                title=original.title, position=original.position, resource_id=original.resource_id,
                resource_kind=original.resource_kind, resource_minutes=original.resource_minutes,
                resource_usable=original.resource_usable, added_at=original.added_at))
        for material in await session.scalars(
                select(Material).where(Material.course_id == from_course, Material.run_id == from_run)):
            session.add(Material(course_id=to_course, run_id=to_run, asset_id=material.asset_id,
                                 kind=material.kind, title=material.title, added_at=material.added_at))
        return mapping

    async def get_run(self, caller: Caller, run_id: str) -> tuple[Run, Course, str, str]:
        async with self.db.transaction() as session:
            run = await session.get(Run, run_id)
            if run is None:
                raise NotFound("no such run")
            course = await self._course(session, run.course_id)
            await self._see_run(session, caller, course, run)
            public = await session.scalar(select(CourseClass.id).where(
                CourseClass.run_id == run.id, CourseClass.is_public.is_(True)))
            return run, course, self._state(run, await self._term(session, run)), public or ""

    async def list_runs(self, caller: Caller, course_id: str) -> list[tuple[Run, Course, str, str]]:
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
            await self._see(session, caller, course)
            runs = list(await session.scalars(select(Run).where(Run.course_id == course_id).order_by(Run.number)))
            visible = [run for run in runs if run_rules.sees_run_team(
                caller.user_id, caller.role, caller.school_id, course.leader_id, course.school_id,
                await session.get(RunMember, (run.id, caller.user_id)) is not None)]
        return [await self.get_run(caller, run.id) for run in visible]

    async def publish_run(self, caller: Caller, run_id: str, term_code: str) -> None:
        """Publishing asks for the term and goes to the school admin for review."""
        async with self.db.transaction() as session:
            run = await session.get(Run, run_id)
            if run is None:
                raise NotFound("no such run")
            course = await self._course(session, run.course_id)
            await self._see(session, caller, course)
            if caller.user_id != course.leader_id:
                raise PermissionDenied("the course leader publishes runs")
            if not term_code:
                raise InvalidArgument("publishing asks for the term (term_code)")
            term = await self._known_term(session, course, term_code)
            if term.ends_on < self.clock().date():
                raise FailedPrecondition(f"the term {term_code} is over")
            run_rules.check_transition(run.state, run_rules.PENDING_REVIEW)
            # Credits are earned, not claimed: the run's approved video (and class hours, where counted) must
            # cover its online credits under the policy in force for the school in that term.
            resolved = await self.policies.resolve(session, course.school_id, course.province_code, term_code)
            videos = await self._approved_video_minutes(session, course.id, run.id)
            approved = round(sum(videos), 2)
            policy_rules.check_credits_covered(resolved.policy, run.online_credits, approved, run.class_hours,
                                               what=f"run {run.number}", term_code=term_code, video_minutes=videos)
            credits_check = policy_rules.credits_covered_summary(resolved.policy, run.online_credits, approved,
                                                                 run.class_hours, term_code)
            run.term_code, run.state, run.reason = term_code, run_rules.PENDING_REVIEW, ""
            await request_review(
                session, outbox, owner=OWNER, kind=KIND_COURSE_RUN, subject_id=run.id,
                scope_type=ScopeType.SCHOOL, scope_id=course.school_id,
                title=f"子课发布 run review: {course.name} 第{run.number}期 ({term_code})",
                snapshot={"course": course.name, "kind": course.kind, "leader": course.leader_name,
                          "run": run.number, "term": term_code, "term_name": term.name,
                          "credits_check": credits_check},
                requested_by=caller.user_id,
            )

    async def take_down_run(self, caller: Caller, run_id: str, reason: str) -> None:
        async with self.db.transaction() as session:
            run = await session.get(Run, run_id)
            course = await self._course(session, run.course_id) if run else None
            if run is None or course is None or caller.school_id != course.school_id:
                raise NotFound("no such run")
            caller.require_school_admin_of(course.school_id)
            if not reason.strip():
                raise InvalidArgument("taking a run down needs a reason")
            state = self._state(run, await self._term(session, run))
            run_rules.check_transition(state, run_rules.TAKEN_DOWN)
            run.state, run.reason = run_rules.TAKEN_DOWN, reason.strip()
            await self._announce(session, run, course, "course.run.taken_down")

    # ---- runs end with their term --------------------------------------------------------

    async def end_runs(self, province_code: str = "", term_code: str = "") -> int:
        """Marks ended every approved run whose term is over and says so (`course.run.ended`, which the sharing
        lists follow). Reads already show such a run as ended; this makes it a fact. A periodic sweep calls it,
        and a change to the term calendar for that term at once."""
        async with self.db.transaction() as session:
            return await self._end_runs(session, province_code, term_code)

    async def _end_runs(self, session: AsyncSession, province_code: str, term_code: str) -> int:
        today = self.clock().date()
        statement = (select(Run, Course, Term)
                     .join(Course, Course.id == Run.course_id)
                     .join(Term, (Term.province_code == Course.province_code) & (Term.code == Run.term_code))
                     .where(Run.state.in_(run_rules.APPROVED_STATES), Term.ends_on < today))
        if province_code:
            statement = statement.where(Course.province_code == province_code)
        if term_code:
            statement = statement.where(Run.term_code == term_code)
        ended = 0
        for run, course, term in (await session.execute(statement)).all():
            if not run_rules.has_ended(run.state, term.ends_on, today):
                continue
            run.state, run.updated_at = run_rules.ENDED, self.clock()
            await self._announce(session, run, course, "course.run.ended")
            ended += 1
        return ended

    async def update_term(self, caller: Caller, code: str, name: str, starts_on: str, ends_on: str) -> Term:
        """The provincial center corrects a term of its calendar; runs of a term that is now over end."""
        caller.require_role("center_admin")
        async with self.db.transaction() as session:
            term = await session.get(Term, (caller.province_code or "", code))
            if term is None:
                raise NotFound(f"no term {code} in your province's calendar")
            try:
                start = date.fromisoformat(starts_on) if starts_on else term.starts_on
                end = date.fromisoformat(ends_on) if ends_on else term.ends_on
            except ValueError as error:
                raise InvalidArgument("dates are YYYY-MM-DD", reason="BAD_TERM_DATES") from error
            checked = run_rules.check_term(code, name or term.name, start, end)
            term.name, term.starts_on, term.ends_on = checked.name, checked.starts_on, checked.ends_on
            await session.flush()
            await self._end_runs(session, term.province_code, term.code)
            return term

    async def _announce(self, session: AsyncSession, run: Run, course: Course, subject: str) -> None:
        await emit(session, outbox, subject, course_pb2.RunChanged(
            run=course_pb2.Run(id=run.id, course_id=course.id, number=run.number, term_code=run.term_code,
                               state=run.state, reason=run.reason, school_id=course.school_id,
                               course_name=course.name, course_kind=course.kind),
            leader_name=course.leader_name))

    @staticmethod
    def _run_fact(run: Run, course: Course, public_class_id: str) -> course_pb2.Run:
        fact = course_pb2.Run(id=run.id, course_id=course.id, number=run.number, term_code=run.term_code,
                              state=run.state, reason=run.reason, public_class_id=public_class_id,
                              copied_from_run_id=run.copied_from_run_id, school_id=course.school_id,
                              course_name=course.name, course_kind=course.kind)
        fact.created_at.FromDatetime(run.created_at)
        return fact
