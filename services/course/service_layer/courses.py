"""Parent courses, their materials, and SPOC→MOOC applications; with their plans (plans.py) and runs (runs.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
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
from servicekit.grams import folded
from servicekit.outbox import emit
from servicekit.pagination import fetch_page
from servicekit.pinyin import matches_any as pinyin_matches
from servicekit.pinyin import pinyin_query
from servicekit.reviews import ScopeType, request_review
from servicekit.search import contains
from services.course.adapters.orm import (
    COURSE_GRAMS,
    COURSES_SCOPE,
    Category,
    ClassStudent,
    Course,
    CourseClass,
    Material,
    MoocApplication,
    PlanNode,
    RegistryEntry,
    Run,
    RunMember,
    outbox,
)
from services.course.domain import courses as rules
from services.course.domain import policy as policy_rules
from services.course.domain import runs as run_rules
from services.course.service_layer.plans import PlanHandlers
from services.course.service_layer.policies import PolicyHandlers
from services.course.service_layer.runs import KIND_COURSE_RUN, OWNER, RunHandlers

KIND_MOOC_APPLICATION = "mooc_application"


async def _no_school_lookup(school_id: str) -> str:
    raise NotFound("no such school")


# Asks the media service, on the caller's behalf, whether an asset may be referenced.
Referenceability = Callable[[str], Awaitable[media_pb2.Referenceability]]


async def announce_course(session: AsyncSession, course: Course) -> None:
    """Other services (the sharing lists) follow a course's public facts by this event."""
    await emit(session, outbox, "course.course.changed", course_pb2.CourseChanged(
        course_id=course.id, name=course.name, category=course.category, leader_id=course.leader_id,
        leader_name=course.leader_name, online_credits=course.online_credits, total_credits=course.total_credits))


async def listed_categories(session: AsyncSession, province_code: str) -> list[str]:
    """The categories a course of the province may pick (not retired), in the list's order: the seeds' seven
    while the province's center has not touched its list."""
    rows = list(await session.scalars(
        select(Category).where(Category.province_code == province_code).order_by(Category.position)))
    if not rows:
        return list(rules.SEED_CATEGORIES)
    return [row.name for row in rows if not row.retired]


class CourseHandlers(PlanHandlers, RunHandlers):
    def __init__(self, db: Database, referenceability: Referenceability,
                 clock: Callable[[], datetime] = utcnow, policies: PolicyHandlers | None = None) -> None:
        self.db = db
        self.referenceability = referenceability
        self.clock = clock
        # The policy in force for a school (credits); resolving needs no other service.
        self.policies = policies or PolicyHandlers(db, _no_school_lookup, clock)

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

    @staticmethod
    async def _see_run(session: AsyncSession, caller: Caller, course: Course, run: Run) -> None:
        """One run: the course's school admins, its leader, and the teachers on that run's team."""
        member = await session.get(RunMember, (run.id, caller.user_id)) is not None
        if not run_rules.sees_run_team(caller.user_id, caller.role, caller.school_id, course.leader_id,
                                       course.school_id, member):
            raise NotFound("no such run")

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
            rules.check_listed_category(category, await listed_categories(session, caller.province_code or ""))
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
                rules.check_registry_match(name, caller.user_id, caller.name, entry.id, entry.name, entry.leader_id,
                                           entry.leader_name)
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
        course.class_hours = run.class_hours
        await self._copy_content(session, source.id, run.id, course.id, "")  # its own from now on

    async def get_course(self, caller: Caller, course_id: str) -> tuple[Course, dict]:
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
            await self._see(session, caller, course)
            return course, await self._figures(session, course)

    async def _figures(self, session: AsyncSession, course: Course,
                       policies: dict[str, policy_rules.EffectivePolicy] | None = None) -> dict:
        """Minutes, what the online credits still need under the school's policy in force today, materials, runs.
        `policies` keeps each school's resolved policy across the courses of one listing."""
        owner_course, owner_run = await self._plan_owner(session, course)
        minutes = await self._approved_minutes(session, owner_course, owner_run)
        policies = {} if policies is None else policies
        if course.school_id not in policies:
            policies[course.school_id] = (
                await self.policies.resolve(session, course.school_id, course.province_code)).policy
        policy = policies[course.school_id]
        materials = list(await session.scalars(
            select(Material).where(Material.course_id == course.id, Material.run_id == "").order_by(Material.added_at)))
        runs = await session.scalar(select(func.count()).select_from(Run).where(Run.course_id == course.id)) or 0
        return {
            "approved_video_minutes": minutes,
            "missing_video_minutes": policy_rules.missing_video_minutes(policy, course.online_credits, minutes),
            "missing_class_hours": policy_rules.missing_class_hours(policy, course.online_credits, course.class_hours),
            "credit_policy": policy.sources["minutes_per_credit"].describe(),
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
    async def _approved_video_minutes(session: AsyncSession, course_id: str, run_id: str) -> list[float]:
        """The length of each approved video the plan uses (a video used twice counts once)."""
        rows = (await session.execute(
            select(PlanNode.resource_id, PlanNode.resource_minutes).where(
                PlanNode.course_id == course_id, PlanNode.run_id == run_id, PlanNode.resource_usable.is_(True),
                PlanNode.resource_kind == "course_video"))).all()
        return list(dict(rows).values())

    @classmethod
    async def _approved_minutes(cls, session: AsyncSession, course_id: str, run_id: str) -> float:
        return round(sum(await cls._approved_video_minutes(session, course_id, run_id)), 2)

    async def update_course(self, caller: Caller, request: course_pb2.UpdateCourseRequest) -> tuple[Course, dict]:
        async with self.db.transaction() as session:
            course = await self._course(session, request.id)
            await self._edit(session, caller, course)
            if request.name or request.category:
                if request.name and request.name.strip() != course.name and course.kind == rules.MOOC:
                    raise FailedPrecondition("a MOOC's name follows its registry entry; file a change request there")
                name, category = rules.check_course_fields(
                    request.name or course.name, request.category or course.category)
                if category != course.category:  # a course keeps a category the center retired since
                    rules.check_listed_category(category, await listed_categories(session, course.province_code))
                course.name, course.category = name, category
            if request.cover_asset_id:
                await self._usable_asset(request.cover_asset_id, course)
                course.cover_asset_id = request.cover_asset_id
            if request.set_credits:
                rules.check_online_credits(request.online_credits, request.total_credits)
                course.online_credits, course.total_credits = request.online_credits, request.total_credits
            if request.set_class_hours:
                course.class_hours = policy_rules.check_class_hours(request.class_hours)
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
        rules.check_usable_file(course.school_id, reference.school_id, reference.referenceable, reference.reason)
        return reference

    async def list_courses(self, caller: Caller, kind: str, query: str, page_size: int, page_token: str):  # type: ignore[no-untyped-def]
        statement = select(Course)
        if caller.role == "school_admin":
            statement = statement.where(Course.school_id == caller.school_id)
        elif caller.role == "center_admin":  # the provincial center: its province's courses
            statement = statement.where(Course.province_code == caller.province_code)
        elif caller.role == "teacher":  # led, or taught on a run's team (tutor teachers too)
            teaching = select(Run.course_id).join(RunMember, RunMember.run_id == Run.id).where(
                RunMember.user_id == caller.user_id)
            statement = statement.where(or_(Course.leader_id == caller.user_id, Course.id.in_(teaching)))
        else:
            raise PermissionDenied("teachers, school admins and the provincial center list courses")
        if kind:
            statement = statement.where(Course.kind == kind)
        if query:
            statement = statement.where(or_(contains(Course.name, query.strip()),
                                            *pinyin_matches(Course.name_pinyin, query)))  # "sjjg": 数据结构
        async with self.db.transaction() as session:
            if query.strip():  # candidates off the gram index (servicekit.grams), verified by the LIKE above
                statement = statement.where(Course.id.in_(await COURSE_GRAMS.matching(
                    session, COURSES_SCOPE, {0: folded(query.strip()), 1: pinyin_query(query)})))
            courses, token, total = await fetch_page(
                session, statement.order_by(Course.updated_at.desc()), page_size, page_token)
            policies: dict[str, policy_rules.EffectivePolicy] = {}
            summaries = [await self._usage(session, course, policies) for course in courses]
        return summaries, token, total

    async def _usage(self, session: AsyncSession, course: Course,
                     policies: dict[str, policy_rules.EffectivePolicy] | None = None) -> tuple[Course, dict]:
        runs = list(await session.scalars(select(Run).where(Run.course_id == course.id).order_by(Run.number)))
        run_ids = [r.id for r in runs]
        classes = await session.scalar(select(func.count()).select_from(CourseClass).where(
            CourseClass.run_id.in_(run_ids))) or 0
        students = await session.scalar(select(func.count(func.distinct(ClassStudent.user_id))).join(
            CourseClass, CourseClass.id == ClassStudent.class_id).where(CourseClass.run_id.in_(run_ids))) or 0
        figures = await self._figures(session, course, policies)
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
        reference = await self._usable_asset(asset_id, course)  # the same gate as plan units and the cover
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

    # ---- SPOC -> MOOC ----------------------------------------------------------------------

    async def apply_for_mooc(self, caller: Caller, course_id: str) -> MoocApplication:
        async with self.db.transaction() as session:
            course = await self._course(session, course_id)
            await self._see(session, caller, course)
            if caller.user_id != course.leader_id:
                raise PermissionDenied("the course leader applies")
            minutes = await self._approved_minutes(session, course.id, "")
            runs = await session.scalar(select(func.count()).select_from(Run).where(Run.course_id == course.id)) or 0
            policy = (await self.policies.resolve(session, course.school_id, course.province_code)).policy
            needed = "mooc_application_min_video_minutes"
            rules.spoc_may_apply_for_mooc(course.kind, minutes, runs, float(policy[needed] or 0),
                                          policy.describe(needed))
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
        caller.require_role("school_admin", "center_admin")
        if caller.role == "school_admin":
            statement = select(MoocApplication).where(MoocApplication.school_id == caller.school_id)
        else:  # the provincial center: its province's applications
            statement = select(MoocApplication).join(Course, Course.id == MoocApplication.course_id).where(
                Course.province_code == caller.province_code)
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
                                      name=course.name, leader_id=course.leader_id,
                                      leader_name=course.leader_name, status="approved",
                                      created_by=decided.decided_by, created_at=self.clock())
                session.add(entry)
                await session.flush()
                course.kind, course.registry_entry_id = rules.MOOC, entry.id

    async def asset_changed(self, session: AsyncSession, changed: media_pb2.ReferenceabilityChanged) -> None:
        """Follows media's word on a file. A file that can no longer be used (its owner or the school deleted
        it) disappears from every course that used it: materials, plan units (the unit stays, without its file,
        for the team to point at another one) and covers, in parents, runs and SPOC copies alike."""
        reference = changed.referenceability
        if reference.referenceable:
            for node in await session.scalars(select(PlanNode).where(PlanNode.resource_id == reference.asset_id)):
                node.resource_usable = True
            return
        touched: set[str] = set()
        for node in await session.scalars(select(PlanNode).where(PlanNode.resource_id == reference.asset_id)):
            node.resource_id, node.resource_kind, node.resource_minutes = None, "", 0.0
            node.resource_usable = False
            touched.add(node.course_id)
        for material in await session.scalars(select(Material).where(Material.asset_id == reference.asset_id)):
            await session.delete(material)
            touched.add(material.course_id)
        for course in await session.scalars(select(Course).where(Course.cover_asset_id == reference.asset_id)):
            course.cover_asset_id = ""
            touched.add(course.id)
        for course_id in touched:
            await self._touch(session, course_id)

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
