"""Teaching plans (教学计划): chapter → section → unit, the resources their units point at, minutes per chapter."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from contracts.media.v1 import media_pb2
from servicekit.auth import Caller
from servicekit.db import new_id
from servicekit.errors import InvalidArgument, NotFound
from services.course.adapters.orm import (
    Course,
    PlanNode,
    Run,
)
from services.course.domain import courses as rules
from services.course.domain import plan as plan_rules


@dataclass(frozen=True)
class PlanView:
    course_id: str
    run_id: str
    nodes: list[tuple[PlanNode, int]]  # node, depth
    chapter_minutes: dict[str, float]
    total_minutes: float


class PlanHandlers:
    """The plan's commands and reads; a part of CourseHandlers (its db, clock, access checks and media client)."""

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
                await self._see_run(session, caller, course, run)
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
