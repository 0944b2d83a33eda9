"""Parent courses, their materials and teaching plans, runs, and SPOC→MOOC applications."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from contracts.media.v1 import media_pb2
from contracts.review.v1 import review_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.outbox import emit
from servicekit.pagination import fetch_page
from servicekit.reviews import ScopeType, request_review
from services.course.adapters.orm import (
    ClassStudent,
    Course,
    CourseClass,
    Material,
    MoocApplication,
    PlanNode,
    RegistryEntry,
    Run,
    RunMember,
    Term,
    outbox,
)
from services.course.domain import courses as rules
from services.course.domain import plan as plan_rules
from services.course.domain import runs as run_rules

OWNER = "course"
KIND_COURSE_RUN = "course_run"
KIND_MOOC_APPLICATION = "mooc_application"

# Asks the media service, on the caller's behalf, whether an asset may be referenced.
Referenceability = Callable[[str], Awaitable[media_pb2.Referenceability]]


@dataclass(frozen=True)
class PlanView:
    course_id: str
    run_id: str
    nodes: list[tuple[PlanNode, int]]  # node, depth
    chapter_minutes: dict[str, float]
    total_minutes: float


async def announce_course(session: AsyncSession, course: Course) -> None:
    """Other services (the sharing lists) follow a course's public facts by this event."""
    await emit(session, outbox, "course.course.changed", course_pb2.CourseChanged(
        course_id=course.id, name=course.name, category=course.category, leader_id=course.leader_id,
        leader_name=course.leader_name, online_credits=course.online_credits, total_credits=course.total_credits))


class CourseHandlers:
    def __init__(self, db: Database, referenceability: Referenceability,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.referenceability = referenceability
        self.clock = clock

    # ---- who may do what ---------------------------------------------------------------

    @staticmethod
    async def _course(session: AsyncSession, course_id: str) -> Course:
        course = await session.get(Course, course_id)
        if course is None:
            raise NotFound("no such course")
        return course

    @staticmethod
    async def _see(session: AsyncSession, caller: Caller, course: Course) -> None:
        """The leader, the school's admins and the teachers on any of its runs see a course."""
        if caller.role == "school_admin" and caller.school_id == course.school_id:
            return
        if caller.user_id == course.leader_id:
            return
        if await session.scalar(select(RunMember.user_id).join(Run, Run.id == RunMember.run_id).where(
                Run.course_id == course.id, RunMember.user_id == caller.user_id)):
            return
        raise NotFound("no such course")

    async def _edit(self, session: AsyncSession, caller: Caller, course: Course) -> None:
        """The parent course is the leader's to edit."""
        await self._see(session, caller, course)
        if caller.user_id != course.leader_id:
            raise PermissionDenied("only the course leader edits the parent course")
        rules.check_editable(course.kind)

    @staticmethod
    async def _permitted(session: AsyncSession, caller: Caller, course: Course, run_id: str, permission: str) -> None:
        """On a run: the leader, or a team member holding the permission."""
        if caller.user_id == course.leader_id:
            return
        member = await session.get(RunMember, (run_id, caller.user_id))
        if member is None or permission not in json.loads(member.permissions_json):
            raise PermissionDenied(f"this needs the {permission} permission on the run's team")

    # ---- parent courses -----------------------------------------------------------------

    async def create_course(self, caller: Caller, request: course_pb2.CreateCourseRequest) -> Course:
        caller.require_role("teacher")
        if request.kind not in rules.COURSE_KINDS:
            raise InvalidArgument(f"kind is one of {', '.join(rules.COURSE_KINDS)}")
        name, category = rules.check_course_fields(request.name, request.category)
        async with self.db.transaction() as session:
            course = Course(
                id=new_id(), school_id=caller.school_id or "", province_code=caller.province_code or "",
                kind=request.kind, name=name, category=category, leader_id=caller.user_id, leader_name=caller.name,
                overview_json=json.dumps(rules.blank_overview(), ensure_ascii=False),
                created_at=self.clock(), updated_at=self.clock(),
            )
            if request.kind == rules.MOOC:
                entry = await session.get(RegistryEntry, request.registry_entry_id)
                if entry is None or entry.school_id != course.school_id or entry.status != "approved":
                    raise FailedPrecondition(
                        "a MOOC needs an approved entry of your school's MOOC registry (registry_entry_id)",
                        reason="NOT_IN_REGISTRY",
                    )
                rules.check_registry_match(name, caller.name, entry.id, entry.name, entry.leader_name)
                course.registry_entry_id = entry.id
            session.add(course)
            if request.kind in (rules.SPOC_SYNCHRONOUS, rules.SPOC_ASYNCHRONOUS):
                await session.flush()  # the copied plan refers to the new course
                await self._bind_to_mooc_run(session, course, request.source_run_id)
            return course

    async def _bind_to_mooc_run(self, session: AsyncSession, course: Course, run_id: str) -> None:
        run = await session.get(Run, run_id)
        source = await session.get(Course, run.course_id) if run else None
        if run is None or source is None or source.kind != rules.MOOC:
            raise NotFound("no such MOOC run")
        state = self._state(run, await self._term(session, run))
        if course.kind == rules.SPOC_SYNCHRONOUS:
            if state != run_rules.RUNNING:
                raise FailedPrecondition(f"a synchronous SPOC follows a running MOOC run; this one is {state}")
            course.source_run_id = run.id  # it shows the run's content, read-only, as it changes
            return
        if state != run_rules.ENDED:
            raise FailedPrecondition(f"an asynchronous SPOC copies an ended MOOC run; this one is {state}")
        course.source_run_id = run.id
        course.overview_json = run.overview_json
        course.online_credits, course.total_credits = run.online_credits, run.total_credits
        await self._copy_content(session, source.id, run.id, course.id, "")  # its own from now on

    async def get_course(self, caller: Caller, course_id: str) -> tuple[Course, dict]:
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
            await self._see(session, caller, course)
            return course, await self._figures(session, course)

    async def _figures(self, session: AsyncSession, course: Course) -> dict:
        owner_course, owner_run = await self._plan_owner(session, course)
        minutes = await self._approved_minutes(session, owner_course, owner_run)
        policy = rules.credit_policy_for_province(course.province_code)
        materials = list(await session.scalars(
            select(Material).where(Material.course_id == course.id, Material.run_id == "").order_by(Material.added_at)))
        runs = await session.scalar(select(func.count()).select_from(Run).where(Run.course_id == course.id)) or 0
        return {
            "approved_video_minutes": minutes,
            "missing_video_minutes": rules.missing_video_minutes(policy, course.online_credits, minutes),
            "credit_policy": policy.name,
            "materials": materials,
            "run_count": runs,
        }

    async def _plan_owner(self, session: AsyncSession, course: Course) -> tuple[str, str]:
        """Whose plan the course shows: a synchronous SPOC shows its MOOC run's."""
        if course.kind == rules.SPOC_SYNCHRONOUS:
            run = await session.get(Run, course.source_run_id)
            assert run is not None
            return run.course_id, run.id
        return course.id, ""

    @staticmethod
    async def _approved_minutes(session: AsyncSession, course_id: str, run_id: str) -> float:
        rows = (await session.execute(
            select(PlanNode.resource_id, PlanNode.resource_minutes).where(
                PlanNode.course_id == course_id, PlanNode.run_id == run_id, PlanNode.resource_usable.is_(True),
                PlanNode.resource_kind == "course_video"))).all()
        return round(sum(dict(rows).values()), 2)

    async def update_course(self, caller: Caller, request: course_pb2.UpdateCourseRequest) -> tuple[Course, dict]:
        async with self.db.transaction() as session:
            course = await self._course(session, request.id)
            await self._edit(session, caller, course)
            if request.name or request.category:
                if request.name and request.name.strip() != course.name and course.kind == rules.MOOC:
                    raise FailedPrecondition("a MOOC's name follows its registry entry; file a change request there")
                course.name, course.category = rules.check_course_fields(
                    request.name or course.name, request.category or course.category)
            if request.cover_asset_id:
                await self._usable_asset(request.cover_asset_id, course)
                course.cover_asset_id = request.cover_asset_id
            if request.set_credits:
                rules.check_online_credits(request.online_credits, request.total_credits)
                course.online_credits, course.total_credits = request.online_credits, request.total_credits
            if request.overview:
                course.overview_json = json.dumps(
                    rules.updated_overview(json.loads(course.overview_json), dict(request.overview)),
                    ensure_ascii=False)
            course.updated_at = self.clock()
            await announce_course(session, course)
            return course, await self._figures(session, course)

    async def _usable_asset(self, asset_id: str, course: Course) -> media_pb2.Referenceability:
        """Only ready assets the school approved, of the course's own school, are referenced."""
        reference = await self.referenceability(asset_id)
        if reference.school_id != course.school_id:
            raise NotFound("no such asset in your school's media")
        if not reference.referenceable:
            raise FailedPrecondition(f"the asset cannot be referenced yet: {reference.reason}",
                                     reason="ASSET_NOT_REFERENCEABLE")
        return reference

    async def list_courses(self, caller: Caller, kind: str, query: str, page_size: int, page_token: str):  # type: ignore[no-untyped-def]
        statement = select(Course)
        if caller.role == "school_admin":
            statement = statement.where(Course.school_id == caller.school_id)
        elif caller.role == "teacher":  # led, or taught on a run's team (tutor teachers too)
            teaching = select(Run.course_id).join(RunMember, RunMember.run_id == Run.id).where(
                RunMember.user_id == caller.user_id)
            statement = statement.where(or_(Course.leader_id == caller.user_id, Course.id.in_(teaching)))
        else:
            raise PermissionDenied("teachers and school admins list courses")
        if kind:
            statement = statement.where(Course.kind == kind)
        if query:
            statement = statement.where(Course.name.like(f"%{query.strip()}%"))
        async with self.db.transaction() as session:
            courses, token, total = await fetch_page(
                session, statement.order_by(Course.updated_at.desc()), page_size, page_token)
            summaries = [await self._usage(session, course) for course in courses]
        return summaries, token, total

    async def _usage(self, session: AsyncSession, course: Course) -> tuple[Course, dict]:
        runs = list(await session.scalars(select(Run).where(Run.course_id == course.id).order_by(Run.number)))
        run_ids = [r.id for r in runs]
        classes = await session.scalar(select(func.count()).select_from(CourseClass).where(
            CourseClass.run_id.in_(run_ids))) or 0
        students = await session.scalar(select(func.count(func.distinct(ClassStudent.user_id))).join(
            CourseClass, CourseClass.id == ClassStudent.class_id).where(CourseClass.run_id.in_(run_ids))) or 0
        figures = await self._figures(session, course)
        added = [(m.asset_id, m.added_at) for m in figures["materials"]]
        added += [(n.id, n.added_at) for n in await session.scalars(
            select(PlanNode).where(PlanNode.course_id == course.id, PlanNode.run_id == "",
                                   PlanNode.resource_id.is_not(None)))]
        start, end = rules.school_year_bounds(self.clock())
        latest = runs[-1] if runs else None
        return course, {
            **figures,
            "runs": len(runs),
            "classes": classes,
            "students": students,
            "yearly_update_ratio": rules.resource_update_ratio(added, start, end),
            "latest_run_state": self._state(latest, await self._term(session, latest)) if latest else "",
        }

    # ---- materials ----------------------------------------------------------------------

    async def add_material(self, caller: Caller, course_id: str, asset_id: str, title: str) -> tuple[Course, dict]:
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
            await self._edit(session, caller, course)
        reference = await self.referenceability(asset_id)
        if reference.school_id != course.school_id:
            raise NotFound("no such asset in your school's media")
        async with self.db.transaction() as session:
            if await session.scalar(select(Material.id).where(
                    Material.course_id == course_id, Material.run_id == "", Material.asset_id == asset_id)):
                raise FailedPrecondition("the asset is already one of the course's materials")
            session.add(Material(course_id=course_id, asset_id=asset_id, kind=reference.kind,
                                 title=(title.strip() or asset_id)[:255], added_at=self.clock()))
            course = await self._course(session, course_id)
            course.updated_at = self.clock()
            return course, await self._figures(session, course)

    async def remove_material(self, caller: Caller, course_id: str, asset_id: str) -> tuple[Course, dict]:
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
            await self._edit(session, caller, course)
            removed = await session.execute(delete(Material).where(
                Material.course_id == course_id, Material.run_id == "", Material.asset_id == asset_id))
            if not removed.rowcount:
                raise NotFound("the asset is not one of the course's materials")
            return course, await self._figures(session, course)

    # ---- teaching plans -----------------------------------------------------------------

    async def _plan_scope(self, session: AsyncSession, caller: Caller, course_id: str, run_id: str,
                          editing: bool) -> tuple[Course, str, str]:
        """(course, plan's course id, plan's run id) after checking the caller may read or edit it."""
        course = await self._course(session, course_id)
        if run_id:
            run = await session.get(Run, run_id)
            if run is None or run.course_id != course.id:
                raise NotFound("no such run of this course")
            if editing or not await self._is_open_mooc_run(session, course, run):
                await self._see(session, caller, course)
            if editing:
                rules.check_editable(course.kind)
                await self._permitted(session, caller, course, run.id, "edit_content")
            return course, course.id, run.id
        if editing:
            await self._edit(session, caller, course)
        else:
            await self._see(session, caller, course)
        owner_course, owner_run = await self._plan_owner(session, course)
        return course, owner_course, owner_run

    @staticmethod
    async def _nodes(session: AsyncSession, course_id: str, run_id: str) -> list[PlanNode]:
        return list(await session.scalars(
            select(PlanNode).where(PlanNode.course_id == course_id, PlanNode.run_id == run_id)))

    @staticmethod
    def _domain(nodes: list[PlanNode]) -> list[plan_rules.PlanNode]:
        return [plan_rules.PlanNode(n.id, n.parent_id, n.kind, n.title, n.position, n.resource_id) for n in nodes]

    async def get_plan(self, caller: Caller, course_id: str, run_id: str) -> PlanView:
        async with self.db.transaction() as session:
            _, owner_course, owner_run = await self._plan_scope(session, caller, course_id, run_id, editing=False)
            return self._view(course_id, run_id, await self._nodes(session, owner_course, owner_run))

    def _view(self, course_id: str, run_id: str, rows: list[PlanNode]) -> PlanView:
        nodes = self._domain(rows)
        by_id = {n.id: n for n in rows}
        minutes = {n.resource_id: n.resource_minutes for n in rows
                   if n.resource_id and n.resource_usable and n.resource_kind == "course_video"}
        chapter_minutes, total = plan_rules.video_minutes(nodes, minutes)
        depth: dict[str, int] = {}
        ordered = []
        for node in plan_rules.ordered(nodes):
            depth[node.id] = 1 if node.parent_id is None else depth[node.parent_id] + 1
            ordered.append((by_id[node.id], depth[node.id]))
        return PlanView(course_id, run_id, ordered, chapter_minutes, total)

    async def _resource(self, course_id: str, resource_id: str) -> media_pb2.Referenceability | None:
        if not resource_id:
            return None
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
        return await self._usable_asset(resource_id, course)

    async def add_plan_node(self, caller: Caller, request: course_pb2.AddPlanNodeRequest) -> PlanView:
        reference = await self._resource(request.course_id, request.resource_id)
        async with self.db.transaction() as session:
            _, owner_course, owner_run = await self._plan_scope(
                session, caller, request.course_id, request.run_id, editing=True)
            rows = await self._nodes(session, owner_course, owner_run)
            nodes = self._domain(rows)
            parent_id = request.parent_id or None
            plan_rules.check_new_node(nodes, parent_id, request.kind, request.title)
            if request.kind == "unit" and reference is None:
                raise InvalidArgument("a unit references one resource (resource_id)")
            if request.kind != "unit" and reference is not None:
                raise InvalidArgument("only units reference a resource")
            node = PlanNode(id=new_id(), course_id=owner_course, run_id=owner_run, parent_id=parent_id,
                            kind=request.kind, title=request.title.strip(),
                            position=plan_rules.next_position(nodes, parent_id), added_at=self.clock())
            self._point(node, reference)
            session.add(node)
            await self._touch(session, request.course_id)
            return self._view(request.course_id, request.run_id, [*rows, node])

    @staticmethod
    def _point(node: PlanNode, reference: media_pb2.Referenceability | None) -> None:
        if reference is None:
            return
        node.resource_id = reference.asset_id
        node.resource_kind = reference.kind
        node.resource_minutes = round(reference.duration_seconds / 60, 2)
        node.resource_usable = reference.referenceable

    async def _touch(self, session: AsyncSession, course_id: str) -> None:
        course = await session.get(Course, course_id)
        if course is not None:
            course.updated_at = self.clock()

    async def update_plan_node(self, caller: Caller, request: course_pb2.UpdatePlanNodeRequest) -> PlanView:
        reference = await self._resource(request.course_id, request.resource_id)
        async with self.db.transaction() as session:
            _, owner_course, owner_run = await self._plan_scope(
                session, caller, request.course_id, request.run_id, editing=True)
            rows = await self._nodes(session, owner_course, owner_run)
            node = next((n for n in rows if n.id == request.node_id), None)
            if node is None:
                raise NotFound("no such plan node")
            if request.title:
                title = request.title.strip()
                if not title or len(title) > 100:
                    raise InvalidArgument("a title has 1 to 100 characters")
                node.title = title
            if reference is not None:
                if node.kind != "unit":
                    raise InvalidArgument("only units reference a resource")
                self._point(node, reference)
                node.added_at = self.clock()  # a replaced resource counts as renewed
            await self._touch(session, request.course_id)
            return self._view(request.course_id, request.run_id, rows)

    async def move_plan_node(self, caller: Caller, request: course_pb2.MovePlanNodeRequest) -> PlanView:
        async with self.db.transaction() as session:
            _, owner_course, owner_run = await self._plan_scope(
                session, caller, request.course_id, request.run_id, editing=True)
            rows = await self._nodes(session, owner_course, owner_run)
            by_id = {n.id: n for n in rows}
            node = by_id.get(request.node_id)
            if node is None:
                raise NotFound("no such plan node")
            if request.new_parent_id:
                plan_rules.check_parent_unchanged(self._domain([node])[0], request.new_parent_id)
            if request.direction not in ("up", "down"):
                raise InvalidArgument("direction is up or down")
            for node_id, position in plan_rules.moved(self._domain(rows), node.id, request.direction):
                by_id[node_id].position = position
            await self._touch(session, request.course_id)
            return self._view(request.course_id, request.run_id, rows)

    async def delete_plan_node(self, caller: Caller, request: course_pb2.DeletePlanNodeRequest) -> PlanView:
        async with self.db.transaction() as session:
            _, owner_course, owner_run = await self._plan_scope(
                session, caller, request.course_id, request.run_id, editing=True)
            rows = await self._nodes(session, owner_course, owner_run)
            if request.node_id not in {n.id for n in rows}:
                raise NotFound("no such plan node")
            doomed = set(plan_rules.check_delete(self._domain(rows), request.node_id, request.recursive))
            await session.execute(delete(PlanNode).where(PlanNode.id.in_(doomed)))
            await self._touch(session, request.course_id)
            return self._view(request.course_id, request.run_id, [n for n in rows if n.id not in doomed])

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
            await self._known_term(session, course, term_code)
            previous = await session.scalar(select(Run).where(Run.course_id == course.id).order_by(Run.number.desc()))
            run = Run(id=new_id(), course_id=course.id, school_id=course.school_id,
                      number=(previous.number + 1) if previous else 1, term_code=term_code,
                      state=run_rules.DRAFT, created_at=self.clock(), updated_at=self.clock())
            if previous is not None:  # a re-run copies the previous run
                run.name, run.overview_json = previous.name, previous.overview_json
                run.online_credits, run.total_credits = previous.online_credits, previous.total_credits
                run.copied_from_run_id = previous.id
                source_course, source_run = course.id, previous.id
            else:  # the first run copies the parent
                run.name, run.overview_json = course.name, course.overview_json
                run.online_credits, run.total_credits = course.online_credits, course.total_credits
                source_course, source_run = await self._plan_owner(session, course)
            session.add(run)
            await session.flush()
            await self._copy_content(session, source_course, source_run, course.id, run.id)
            public = CourseClass(run_id=run.id, name=run_rules.PUBLIC_CLASS_NAME, is_public=True,
                                 school_id=course.school_id, created_by=caller.user_id)
            session.add(public)
            await session.flush()
            return run, public.id

    async def _copy_content(self, session: AsyncSession, from_course: str, from_run: str, to_course: str,
                            to_run: str) -> None:
        """Copies the plan and materials: new nodes, the same media references."""
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

    async def get_run(self, caller: Caller, run_id: str) -> tuple[Run, Course, str, str]:
        async with self.db.transaction() as session:
            run = await session.get(Run, run_id)
            if run is None:
                raise NotFound("no such run")
            course = await self._course(session, run.course_id)
            await self._see(session, caller, course)
            public = await session.scalar(select(CourseClass.id).where(
                CourseClass.run_id == run.id, CourseClass.is_public.is_(True)))
            return run, course, self._state(run, await self._term(session, run)), public or ""

    async def list_runs(self, caller: Caller, course_id: str) -> list[tuple[Run, Course, str, str]]:
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
            await self._see(session, caller, course)
            runs = list(await session.scalars(select(Run).where(Run.course_id == course_id).order_by(Run.number)))
        return [await self.get_run(caller, run.id) for run in runs]

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
            run.term_code, run.state, run.reason = term_code, run_rules.PENDING_REVIEW, ""
            await request_review(
                session, outbox, owner=OWNER, kind=KIND_COURSE_RUN, subject_id=run.id,
                scope_type=ScopeType.SCHOOL, scope_id=course.school_id,
                title=f"子课发布 run review: {course.name} 第{run.number}期 ({term_code})",
                snapshot={"course": course.name, "kind": course.kind, "leader": course.leader_name,
                          "run": run.number, "term": term_code, "term_name": term.name},
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

    async def _announce(self, session: AsyncSession, run: Run, course: Course, subject: str) -> None:
        await emit(session, outbox, subject, course_pb2.RunChanged(
            run=course_pb2.Run(id=run.id, course_id=course.id, number=run.number, term_code=run.term_code,
                               state=run.state, reason=run.reason, school_id=course.school_id,
                               course_name=course.name, course_kind=course.kind),
            leader_name=course.leader_name))

    # ---- SPOC -> MOOC ----------------------------------------------------------------------

    async def apply_for_mooc(self, caller: Caller, course_id: str) -> MoocApplication:
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
            await self._see(session, caller, course)
            if caller.user_id != course.leader_id:
                raise PermissionDenied("the course leader applies")
            minutes = await self._approved_minutes(session, course.id, "")
            runs = await session.scalar(select(func.count()).select_from(Run).where(Run.course_id == course.id)) or 0
            rules.spoc_may_apply_for_mooc(course.kind, minutes, runs)
            if await session.scalar(select(MoocApplication.id).where(
                    MoocApplication.course_id == course.id, MoocApplication.status == "pending")):
                raise FailedPrecondition("an application for this course is already waiting for the center")
            application = MoocApplication(course_id=course.id, school_id=course.school_id,
                                          approved_video_minutes=minutes, run_count=runs,
                                          submitted_by=caller.user_id, submitted_at=self.clock())
            session.add(application)
            await session.flush()
            await request_review(
                session, outbox, owner=OWNER, kind=KIND_MOOC_APPLICATION, subject_id=application.id,
                scope_type=ScopeType.CENTER, scope_id=course.province_code,
                title=f"SPOC转MOOC申请: {course.name} ({course.leader_name})",
                snapshot={"course": course.name, "leader": course.leader_name, "school_id": course.school_id,
                          "approved_video_minutes": minutes, "runs": runs},
                requested_by=caller.user_id,
            )
            return application

    async def list_mooc_applications(self, caller: Caller, status: str, page_size: int, page_token: str):  # type: ignore[no-untyped-def]
        caller.require_role("school_admin")
        statement = select(MoocApplication).where(MoocApplication.school_id == caller.school_id)
        if status:
            statement = statement.where(MoocApplication.status == status)
        async with self.db.transaction() as session:
            items, token, total = await fetch_page(
                session, statement.order_by(MoocApplication.submitted_at), page_size, page_token)
            names = {c.id: c.name for c in await session.scalars(
                select(Course).where(Course.id.in_([a.course_id for a in items])))}
        return [(a, names.get(a.course_id, "")) for a in items], token, total

    # ---- events -----------------------------------------------------------------------------

    async def apply_decision(self, session: AsyncSession, decided: review_pb2.ReviewDecided) -> None:
        approved = decided.decision == "approved"
        if decided.kind == KIND_COURSE_RUN:
            run = await session.get(Run, decided.subject_id)
            if run is None or run.state != run_rules.PENDING_REVIEW:
                return
            run.state = run_rules.PUBLISHED if approved else run_rules.REJECTED
            run.reason = "" if approved else decided.reason
            if approved:
                course = await session.get(Course, run.course_id)
                assert course is not None
                await self._announce(session, run, course, "course.run.published")
        elif decided.kind == KIND_MOOC_APPLICATION:
            application = await session.get(MoocApplication, decided.subject_id)
            if application is None or application.status != "pending":
                return
            application.status = "approved" if approved else "rejected"
            application.reason = decided.reason
            application.decided_at = self.clock()
            course = await session.get(Course, application.course_id)
            if approved and course is not None:
                entry = RegistryEntry(school_id=course.school_id, province_code=course.province_code,
                                      name=course.name, leader_name=course.leader_name, status="approved",
                                      created_by=decided.decided_by, created_at=self.clock())
                session.add(entry)
                await session.flush()
                course.kind, course.registry_entry_id = rules.MOOC, entry.id

    async def asset_changed(self, session: AsyncSession, changed: media_pb2.ReferenceabilityChanged) -> None:
        """Keeps the plans' minutes honest when media approves, rejects or deletes an asset."""
        reference = changed.referenceability
        for node in await session.scalars(select(PlanNode).where(PlanNode.resource_id == reference.asset_id)):
            node.resource_usable = reference.referenceable

    async def school_usage(self, caller: Caller, run_id: str, school_id: str) -> tuple[int, int]:
        """A school's classes and students on a run: for that school's users and the course's team."""
        async with self.db.transaction() as session:
            run = await session.get(Run, run_id)
            if run is None:
                raise NotFound("no such run")
            if caller.school_id != school_id:
                course = await self._course(session, run.course_id)
                await self._see(session, caller, course)
            class_ids = list(await session.scalars(select(CourseClass.id).where(
                CourseClass.run_id == run_id, CourseClass.school_id == school_id)))
            students = await session.scalar(select(func.count(func.distinct(ClassStudent.user_id))).where(
                ClassStudent.class_id.in_(class_ids))) or 0
        return len(class_ids), students
