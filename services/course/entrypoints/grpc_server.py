"""Translates course.v1 requests into handler calls."""

from __future__ import annotations

import json
from datetime import UTC

from contracts.course.v1 import course_pb2 as pb
from contracts.course.v1 import course_pb2_grpc
from servicekit.auth import require_caller
from servicekit.errors import InvalidArgument
from servicekit.spreadsheets import table_file
from services.course.adapters.orm import Category, Course, CourseClass, PolicyVersion, RegistryEntry, Run, Term
from services.course.domain import acceptance as acceptance_rules
from services.course.domain import courses as rules
from services.course.domain import policy as policy_rules
from services.course.domain.runs import PERMISSIONS
from services.course.entrypoints.project_rpcs import ProjectRpcs
from services.course.service_layer.acceptance import AcceptanceHandlers, AcceptanceView
from services.course.service_layer.categories import CategoryHandlers
from services.course.service_layer.course_stop import CourseStopHandlers
from services.course.service_layer.courses import CourseHandlers
from services.course.service_layer.learners import EnrolmentView, LearnerHandlers, LearnerView, RosterView
from services.course.service_layer.plans import PlanView
from services.course.service_layer.policies import Resolved, version_numbers
from services.course.service_layer.project_funding import FundingHandlers
from services.course.service_layer.projects import ProjectHandlers
from services.course.service_layer.registry import RegistryHandlers
from services.course.service_layer.statistics import StatisticsHandlers, Table
from services.course.service_layer.teams import RosterReport, TeamHandlers
from services.course.service_layer.workload import TermWorkload, WorkloadHandlers, workload_sheet

SERVICE = "course.v1.CourseService"


def _time(field, value) -> None:  # type: ignore[no-untyped-def]
    if value is not None:
        field.FromDatetime(value)


def entry_message(entry: RegistryEntry) -> pb.RegistryEntry:
    message = pb.RegistryEntry(id=entry.id, school_id=entry.school_id, province_code=entry.province_code,
                               name=entry.name, leader_id=entry.leader_id, leader_name=entry.leader_name,
                               status=entry.status,
                               rejection_reason=entry.rejection_reason)
    _time(message.created_at, entry.created_at)
    for change in entry.changes:
        added = message.changes.add(id=change.id, name=change.name, leader_id=change.leader_id,
                                    leader_name=change.leader_name,
                                    reason=change.reason, status=change.status,
                                    decision_reason=change.decision_reason)
        _time(added.requested_at, change.requested_at)
        _time(added.decided_at, change.decided_at)
    return message


def category_message(category: Category) -> pb.Category:
    return pb.Category(id=category.id, province_code=category.province_code, name=category.name,
                       retired=category.retired, position=category.position)


def term_message(term: Term) -> pb.Term:
    return pb.Term(code=term.code, name=term.name, starts_on=term.starts_on.isoformat(),
                   ends_on=term.ends_on.isoformat(), province_code=term.province_code)


def course_message(course: Course, figures: dict) -> pb.Course:
    message = pb.Course(
        id=course.id, school_id=course.school_id, kind=course.kind, name=course.name, category=course.category,
        leader_id=course.leader_id, leader_name=course.leader_name, registry_entry_id=course.registry_entry_id,
        source_run_id=course.source_run_id, cover_asset_id=course.cover_asset_id,
        online_credits=course.online_credits, total_credits=course.total_credits,
        overview=json.loads(course.overview_json), overview_headings=rules.OVERVIEW_HEADINGS,
        approved_video_minutes=figures["approved_video_minutes"],
        missing_video_minutes=figures["missing_video_minutes"], credit_policy=figures["credit_policy"],
        run_count=figures["run_count"], read_only=course.kind == rules.SPOC_SYNCHRONOUS,
        class_hours=course.class_hours, missing_class_hours=figures["missing_class_hours"],
        stopped=course.stopped_at is not None, stop_reason=course.stop_reason,
        title=course.title, title_revoked_reason=course.title_revoked_reason,
    )
    _time(message.stopped_at, course.stopped_at)
    _time(message.titled_at, course.titled_at)
    for material in figures["materials"]:
        added = message.materials.add(asset_id=material.asset_id, kind=material.kind, title=material.title)
        _time(added.added_at, material.added_at)
    _time(message.updated_at, course.updated_at)
    return message


def policy_numbers(values: dict, sources: dict | None = None) -> list[pb.PolicyNumber]:
    numbers = []
    for name, value in values.items():
        meaning = policy_rules.NUMBERS[name].meaning if name in policy_rules.NUMBERS else ""
        if isinstance(value, str):  # a named setting (video_spec)
            number = pb.PolicyNumber(name=name, text=value, meaning=meaning)
        else:
            number = pb.PolicyNumber(name=name, value=value or 0.0, not_counted=value is None, meaning=meaning)
        source = (sources or {}).get(name)
        if source is not None:
            number.layer, number.scope_id, number.version = source.level, source.scope_id, source.version
            number.effective_from_term = source.effective_from_term
        numbers.append(number)
    return numbers


def policy_layer_refs(policy: policy_rules.EffectivePolicy) -> list[pb.PolicyLayerRef]:
    return [pb.PolicyLayerRef(layer=s.level, scope_id=s.scope_id, version=s.version,
                              effective_from_term=s.effective_from_term) for s in policy.layers]


def effective_policy_message(resolved: Resolved) -> pb.EffectivePolicy:
    policy = resolved.policy
    return pb.EffectivePolicy(
        school_id=resolved.school_id, province_code=resolved.province_code, term_code=resolved.term_code,
        resolved_on=resolved.on.isoformat(), numbers=policy_numbers(dict(policy.values), dict(policy.sources)),
        layers=policy_layer_refs(policy))


def policy_version_message(row: PolicyVersion) -> pb.PolicyLayerVersion:
    message = pb.PolicyLayerVersion(layer=row.level, scope_id=row.scope_id, version=row.version,
                                    effective_from_term=row.effective_from_term,
                                    numbers=policy_numbers(version_numbers(row)), note=row.note,
                                    created_by=row.created_by)
    _time(message.created_at, row.created_at)
    return message


def plan_message(view: PlanView) -> pb.Plan:
    return pb.Plan(
        course_id=view.course_id, run_id=view.run_id,
        nodes=[pb.PlanNode(id=n.id, parent_id=n.parent_id or "", kind=n.kind, title=n.title, position=n.position,
                           resource_id=n.resource_id or "", minutes=n.resource_minutes if n.resource_usable else 0.0,
                           depth=depth) for n, depth in view.nodes],
        chapter_minutes=view.chapter_minutes, total_minutes=view.total_minutes,
    )


def run_message(run: Run, course: Course, state: str, public_class_id: str) -> pb.Run:
    message = pb.Run(id=run.id, course_id=run.course_id, number=run.number, term_code=run.term_code, state=state,
                     reason=run.reason, public_class_id=public_class_id, copied_from_run_id=run.copied_from_run_id,
                     school_id=run.school_id, course_name=course.name, course_kind=course.kind,
                     online_teacher_id=run.online_teacher_id or course.leader_id)
    _time(message.created_at, run.created_at)
    return message


def workload_message(workload: TermWorkload) -> pb.TermWorkload:
    message = pb.TermWorkload(school_id=workload.school_id, term_code=workload.term_code,
                              total_hours=workload.total_hours)
    for teacher in workload.teachers:
        added = message.teachers.add(user_id=teacher.user_id, name=teacher.name, school_id=teacher.school_id,
                                     school_name=teacher.school_name, total_hours=teacher.total_hours,
                                     total_students=teacher.total_students)
        for run in teacher.runs:
            added.runs.add(run_id=run.run_id, course_id=run.course_id, course_name=run.course_name,
                           run_number=run.run_number, coefficient=run.coefficient, class_hours=run.class_hours,
                           hours_basis=run.hours_basis, workload_hours=run.workload_hours, students=run.students,
                           state=run.state)
    return message


def roster_message(report: RosterReport) -> pb.ClassStudentsReport:
    return pb.ClassStudentsReport(
        added=report.added, already_in_class=report.already_in_class, unknown_numbers=report.unknown_numbers,
        errors=[pb.RowError(line=line, field=f, reason=r) for line, f, r in report.errors],
        accounts_created=report.accounts_created, imported=report.imported,
        credentials_sheet_id=report.credentials_sheet[0], credentials_sheet_key=report.credentials_sheet[1],
        over_limit=[pb.OverLimit(number=o.number, name=o.name, courses=list(o.courses), user_id=o.user_id)
                    for o in report.over_limit])


def class_message(course_class: CourseClass, students: int, releases: list[tuple]) -> pb.CourseClass:
    message = pb.CourseClass(id=course_class.id, run_id=course_class.run_id, name=course_class.name,
                             public=course_class.is_public, school_id=course_class.school_id,
                             teacher_id=course_class.created_by, students=students)
    for chapter_id, title, release_at, released in releases:
        release = message.releases.add(chapter_id=chapter_id, chapter_title=title, released=released)
        _time(release.release_at, release_at)
    return message


def learner_context_message(view: LearnerView) -> pb.LearnerContext:
    facts, student, course_class = view.facts, view.student, view.course_class
    message = pb.LearnerContext(
        run=run_message(facts.run, facts.course, facts.state, facts.public_class_id),
        term_starts_on=facts.term.starts_on.isoformat() if facts.term else "",
        term_ends_on=facts.term.ends_on.isoformat() if facts.term else "",
        relation=view.relation, permissions=view.permissions,
        class_id=course_class.id if course_class else "", class_name=course_class.name if course_class else "",
        class_school_id=course_class.school_id if course_class else "", total_minutes=view.total_minutes,
        student_id=student.user_id if student else "", student_number=student.number if student else "",
        student_name=student.name if student else "", student_school_id=view.student_school_id,
        province_code=view.province_code, leader_id=facts.course.leader_id)
    for learner_node in view.nodes:
        node = learner_node.node
        added = message.nodes.add(
            node=pb.PlanNode(id=node.id, parent_id=node.parent_id or "", kind=node.kind, title=node.title,
                             position=node.position, resource_id=node.resource_id or "",
                             minutes=node.resource_minutes if node.resource_usable else 0.0, depth=learner_node.depth),
            released=learner_node.released, chapter_id=learner_node.chapter_id)
        _time(added.release_at, learner_node.release_at)
    return message


def enrolment_message(view: EnrolmentView) -> pb.Enrolment:
    facts = view.facts
    message = pb.Enrolment(run=run_message(facts.run, facts.course, facts.state, facts.public_class_id),
                           class_id=view.course_class.id, class_name=view.course_class.name,
                           term_starts_on=facts.term.starts_on.isoformat() if facts.term else "",
                           term_ends_on=facts.term.ends_on.isoformat() if facts.term else "",
                           total_minutes=view.total_minutes)
    _time(message.joined_at, view.joined_at)
    return message


def class_roster_message(view: RosterView) -> pb.ClassRoster:
    course_class = class_message(view.course_class, len(view.students), view.releases)
    return pb.ClassRoster(**{"class": course_class}, students=[
        pb.RosterStudent(user_id=row.user_id, number=row.number, name=row.name, school_id=school)
        for row, school in view.students])


def acceptance_message(view: AcceptanceView) -> pb.AcceptanceFacts:
    facts, policy = view.facts, view.facts.policy
    applied = {name: policy.values[name] for name in acceptance_rules.POLICY_NUMBERS}
    return pb.AcceptanceFacts(
        course_id=view.course.id, course_name=view.course.name,
        material_kinds=[pb.AcceptanceMaterialKind(kind=kind, measured=measured, count=count, present=count > 0,
                                                  note=note) for kind, measured, count, note in facts.material_kinds],
        units=facts.units, units_online=facts.units_online, all_online=facts.all_online, videos=facts.videos,
        video_minutes=facts.video_minutes,
        norms=[pb.AcceptanceNorm(name=n.name, measured=n.measured, passed=n.passed, total=n.total, share=n.share,
                                 met=n.met, rule=n.rule, note=n.note) for n in facts.norms],
        class_hours=facts.class_hours, videos_3_to_15_minutes=facts.hour_videos,
        videos_needed=facts.hour_videos_needed, videos_per_class_hour=facts.videos_per_class_hour,
        videos_per_class_hour_met=facts.hour_videos_met, run_count=facts.runs, terms=facts.terms,
        students=facts.students,
        evaluations=[pb.AcceptanceEvaluation(term_code=e.term_code, run_number=e.run_number, answers=e.answers,
                                             scored=e.score is not None, score=e.score or 0.0,
                                             grade_name=e.grade_name, closed=e.closed)
                     for e in facts.evaluations or []],
        evaluation_measured=facts.evaluations is not None, evaluation_scored=facts.evaluation_score is not None,
        evaluation_score=facts.evaluation_score or 0.0,
        evaluation_answers=sum(e.answers for e in facts.evaluations or []), evaluation_note=facts.evaluations_note,
        policy=facts.policy_applied,
        policy_layers=policy_layer_refs(policy),
        policy_numbers=policy_numbers(applied, dict(policy.sources)), policy_term_code=view.policy.term_code,
        policy_resolved_on=view.policy.on.isoformat(), videos_per_class_hour_counted=facts.hour_videos_counted)


class CourseServicer(ProjectRpcs, course_pb2_grpc.CourseServiceServicer):
    def __init__(self, registry: RegistryHandlers, courses: CourseHandlers, teams: TeamHandlers,
                 categories: CategoryHandlers, statistics: StatisticsHandlers,
                 learners: LearnerHandlers | None = None, workload: WorkloadHandlers | None = None,
                 acceptance: AcceptanceHandlers | None = None, projects: ProjectHandlers | None = None) -> None:
        self.registry = registry
        if projects is not None:
            self.projects, self.funding = projects, FundingHandlers(projects)
        self.workload = workload or WorkloadHandlers(courses.db, courses)
        self.learners = learners or LearnerHandlers(courses.db, courses, courses.clock)
        self.acceptance = acceptance or AcceptanceHandlers(courses.db, courses)
        self.courses = courses
        self.teams = teams
        self.categories = categories
        self.statistics = statistics

    # registry and terms
    async def CreateRegistryEntry(self, request, context):  # type: ignore[no-untyped-def]
        return entry_message(await self.registry.create_entry(require_caller(), request.name, request.leader_id))

    async def ImportRegistryEntries(self, request, context):  # type: ignore[no-untyped-def]
        rows, created, problems = await self.registry.import_entries(require_caller(), request.filename,
                                                                     request.content)
        return pb.RegistryImportReport(rows=rows, created=created, imported=not problems,
                                       errors=[pb.RowError(line=line, field=f, reason=r) for line, f, r in problems])

    async def GetRegistryTemplate(self, request, context):  # type: ignore[no-untyped-def]
        require_caller()
        return pb.File(filename="MOOC课程库导入模板.xlsx", content=self.registry.template(),
                       content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    async def ListRegistryEntries(self, request, context):  # type: ignore[no-untyped-def]
        items, token, total = await self.registry.list_entries(require_caller(), request.status, request.query,
                                                               request.page_size, request.page_token)
        return pb.ListRegistryEntriesResponse(entries=[entry_message(e) for e in items], next_page_token=token,
                                              total=total)

    async def GetRegistryEntry(self, request, context):  # type: ignore[no-untyped-def]
        return entry_message(await self.registry.get_entry(require_caller(), request.id))

    async def RequestRegistryChange(self, request, context):  # type: ignore[no-untyped-def]
        entry = await self.registry.request_change(require_caller(), request.entry_id, request.name,
                                                   request.leader_id, request.reason)
        return entry_message(entry)

    # course categories
    async def ListCategories(self, request, context):  # type: ignore[no-untyped-def]
        found = await self.categories.list_categories(require_caller(), request.province_code,
                                                      request.include_retired)
        return pb.ListCategoriesResponse(categories=[category_message(c) for c in found])

    async def AddCategory(self, request, context):  # type: ignore[no-untyped-def]
        return category_message(await self.categories.add_category(require_caller(), request.name))

    async def RenameCategory(self, request, context):  # type: ignore[no-untyped-def]
        return category_message(await self.categories.rename_category(require_caller(), request.id, request.name))

    async def RetireCategory(self, request, context):  # type: ignore[no-untyped-def]
        return category_message(await self.categories.retire_category(require_caller(), request.id))

    async def CreateTerm(self, request, context):  # type: ignore[no-untyped-def]
        term = await self.registry.create_term(require_caller(), request.code, request.name, request.starts_on,
                                               request.ends_on)
        return term_message(term)

    async def UpdateTerm(self, request, context):  # type: ignore[no-untyped-def]
        term = await self.courses.update_term(require_caller(), request.code, request.name, request.starts_on,
                                              request.ends_on)
        return term_message(term)

    async def ListTerms(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ListTermsResponse(terms=[term_message(t) for t in await self.registry.list_terms(require_caller())])

    # courses
    async def CreateCourse(self, request, context):  # type: ignore[no-untyped-def]
        course = await self.courses.create_course(require_caller(), request)
        return course_message(*(await self.courses.get_course(require_caller(), course.id)))

    async def GetCourse(self, request, context):  # type: ignore[no-untyped-def]
        return course_message(*(await self.courses.get_course(require_caller(), request.id)))

    async def UpdateCourse(self, request, context):  # type: ignore[no-untyped-def]
        return course_message(*(await self.courses.update_course(require_caller(), request)))

    async def ListCourses(self, request, context):  # type: ignore[no-untyped-def]
        summaries, token, total = await self.courses.list_courses(
            require_caller(), request.kind, request.query, request.page_size, request.page_token)
        return pb.ListCoursesResponse(
            courses=[pb.CourseSummary(course=course_message(course, usage), runs=usage["runs"],
                                      classes=usage["classes"], students=usage["students"],
                                      video_minutes=usage["approved_video_minutes"],
                                      yearly_update_ratio=usage["yearly_update_ratio"],
                                      latest_run_state=usage["latest_run_state"]) for course, usage in summaries],
            next_page_token=token, total=total)

    async def AddMaterial(self, request, context):  # type: ignore[no-untyped-def]
        return course_message(*(await self.courses.add_material(require_caller(), request.course_id,
                                                                request.asset_id, request.title)))

    async def RemoveMaterial(self, request, context):  # type: ignore[no-untyped-def]
        return course_message(*(await self.courses.remove_material(require_caller(), request.course_id,
                                                                   request.asset_id)))

    # a course stopped after its student evaluation
    async def StopCourse(self, request, context):  # type: ignore[no-untyped-def]
        await CourseStopHandlers(self.courses.db, self.courses.clock).stop(require_caller(), request.course_id,
                                                                           request.reason)
        return course_message(*(await self.courses.get_course(require_caller(), request.course_id)))

    async def LiftCourseStop(self, request, context):  # type: ignore[no-untyped-def]
        await CourseStopHandlers(self.courses.db, self.courses.clock).lift(require_caller(), request.course_id)
        return course_message(*(await self.courses.get_course(require_caller(), request.course_id)))

    async def GetLeaderStanding(self, request, context):  # type: ignore[no-untyped-def]
        standing = await CourseStopHandlers(self.courses.db, self.courses.clock).standing(require_caller(),
                                                                                          request.user_id)
        names = "、".join(c.name for c in standing.stopped_courses)
        return pb.LeaderStanding(user_id=standing.user_id, may_apply=standing.may_apply,
                                 stopped_course_ids=[c.id for c in standing.stopped_courses],
                                 reason="" if standing.may_apply else
                                 f"stopped after their students' evaluation, until rectified: {names}")

    # plans
    async def GetPlan(self, request, context):  # type: ignore[no-untyped-def]
        return plan_message(await self.courses.get_plan(require_caller(), request.course_id, request.run_id))

    async def AddPlanNode(self, request, context):  # type: ignore[no-untyped-def]
        return plan_message(await self.courses.add_plan_node(require_caller(), request))

    async def UpdatePlanNode(self, request, context):  # type: ignore[no-untyped-def]
        return plan_message(await self.courses.update_plan_node(require_caller(), request))

    async def MovePlanNode(self, request, context):  # type: ignore[no-untyped-def]
        return plan_message(await self.courses.move_plan_node(require_caller(), request))

    async def DeletePlanNode(self, request, context):  # type: ignore[no-untyped-def]
        return plan_message(await self.courses.delete_plan_node(require_caller(), request))

    # runs
    async def OpenRun(self, request, context):  # type: ignore[no-untyped-def]
        run, _ = await self.courses.open_run(require_caller(), request.course_id, request.term_code)
        return run_message(*(await self.courses.get_run(require_caller(), run.id)))

    async def GetRun(self, request, context):  # type: ignore[no-untyped-def]
        return run_message(*(await self.courses.get_run(require_caller(), request.id)))

    async def ListRuns(self, request, context):  # type: ignore[no-untyped-def]
        runs = await self.courses.list_runs(require_caller(), request.course_id)
        return pb.ListRunsResponse(runs=[run_message(*r) for r in runs])

    async def PublishRun(self, request, context):  # type: ignore[no-untyped-def]
        await self.courses.publish_run(require_caller(), request.id, request.term_code)
        return run_message(*(await self.courses.get_run(require_caller(), request.id)))

    async def TakeDownRun(self, request, context):  # type: ignore[no-untyped-def]
        await self.courses.take_down_run(require_caller(), request.id, request.reason)
        return run_message(*(await self.courses.get_run(require_caller(), request.id)))

    # SPOC -> MOOC
    async def ApplyForMooc(self, request, context):  # type: ignore[no-untyped-def]
        application = await self.courses.apply_for_mooc(require_caller(), request.course_id)
        course, _ = await self.courses.get_course(require_caller(), request.course_id)
        return self._application(application, course.name)

    async def ListMoocApplications(self, request, context):  # type: ignore[no-untyped-def]
        items, token, total = await self.courses.list_mooc_applications(
            require_caller(), request.status, request.page_size, request.page_token)
        return pb.ListMoocApplicationsResponse(applications=[self._application(a, name) for a, name in items],
                                               next_page_token=token, total=total)

    @staticmethod
    def _application(application, course_name: str) -> pb.MoocApplication:  # type: ignore[no-untyped-def]
        message = pb.MoocApplication(
            id=application.id, course_id=application.course_id, course_name=course_name,
            school_id=application.school_id, approved_video_minutes=application.approved_video_minutes,
            run_count=application.run_count, status=application.status, reason=application.reason)
        _time(message.submitted_at, application.submitted_at)
        return message

    # teams and classes
    async def FindTeachers(self, request, context):  # type: ignore[no-untyped-def]
        found = await self.teams.find_teachers(require_caller(), request.query)
        return pb.FindTeachersResponse(teachers=[
            pb.TeacherCard(user_id=t.user_id, name=t.name, username=t.username, school_id=t.school_id,
                           school_name=t.school_name) for t in found.teachers])

    async def _team(self, run_id: str) -> pb.Team:
        course, members = await self.teams.team(require_caller(), run_id)
        team = pb.Team(run_id=run_id)
        team.members.add(user_id=course.leader_id, name=course.leader_name, school_id=course.school_id,
                         permissions=list(PERMISSIONS), leader=True)
        for member in members:
            added = team.members.add(user_id=member.user_id, name=member.name, school_id=member.school_id,
                                     school_name=member.school_name, permissions=json.loads(member.permissions_json))
            _time(added.added_at, member.added_at)
        return team

    async def GetTeam(self, request, context):  # type: ignore[no-untyped-def]
        return await self._team(request.run_id)

    async def AddTeamMember(self, request, context):  # type: ignore[no-untyped-def]
        await self.teams.add_member(require_caller(), request.run_id, request.user_id, list(request.permissions))
        return await self._team(request.run_id)

    async def RemoveTeamMember(self, request, context):  # type: ignore[no-untyped-def]
        await self.teams.remove_member(require_caller(), request.run_id, request.user_id)
        return await self._team(request.run_id)

    async def _class(self, class_id: str, run_id: str) -> pb.CourseClass:
        for message in (await self.ListClasses(pb.ListClassesRequest(run_id=run_id), None)).classes:
            if message.id == class_id:
                return message
        raise AssertionError("the class just written is missing")

    async def CreateClass(self, request, context):  # type: ignore[no-untyped-def]
        created = await self.teams.create_class(require_caller(), request.run_id, request.name, request.school_id)
        return await self._class(created.id, request.run_id)

    async def ListClasses(self, request, context):  # type: ignore[no-untyped-def]
        classes = []
        for course_class, students, releases in await self.teams.classes(require_caller(), request.run_id):
            classes.append(class_message(course_class, students, releases))
        return pb.ListClassesResponse(classes=classes)

    async def AddClassStudents(self, request, context):  # type: ignore[no-untyped-def]
        return roster_message(await self.teams.add_students(require_caller(), request.class_id,
                                                            list(request.student_numbers)))

    async def TeachesStudent(self, request, context):  # type: ignore[no-untyped-def]
        return pb.TeachesStudentResponse(teaches=await self.teams.teaches_student(require_caller(), request.student_id))

    async def ImportClassStudents(self, request, context):  # type: ignore[no-untyped-def]
        return roster_message(await self.teams.import_students(require_caller(), request.class_id, request.filename,
                                                               request.content))

    async def ReleaseChapter(self, request, context):  # type: ignore[no-untyped-def]
        when = None
        if request.HasField("release_at"):
            try:
                when = request.release_at.ToDatetime(tzinfo=UTC)
            except (ValueError, OverflowError) as error:
                raise InvalidArgument("release_at is out of range: give a time between 0001 and 9999 (UTC)",
                                      reason="OUT_OF_RANGE") from error
        await self.teams.release_chapter(require_caller(), request.class_id, request.chapter_id, when)
        course_class = await self.teams.class_run(request.class_id)
        return await self._class(request.class_id, course_class)

    async def JoinRun(self, request, context):  # type: ignore[no-untyped-def]
        class_id, already = await self.teams.join_run(require_caller(), request.run_id, "")
        return pb.JoinRunResponse(class_id=class_id, already_joined=already)

    # learners (the learning service asks on the user's behalf)
    async def GetLearnerContext(self, request, context):  # type: ignore[no-untyped-def]
        return learner_context_message(
            await self.learners.learner_context(require_caller(), request.run_id, request.student_id))

    async def ListEnrolments(self, request, context):  # type: ignore[no-untyped-def]
        found = await self.learners.enrolments(require_caller(), request.student_id)
        return pb.ListEnrolmentsResponse(enrolments=[enrolment_message(e) for e in found])

    async def GetClassRoster(self, request, context):  # type: ignore[no-untyped-def]
        return class_roster_message(await self.learners.roster(require_caller(), request.class_id))

    async def ListRunningRuns(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ListRunningRunsResponse(runs=[
            run_message(f.run, f.course, f.state, f.public_class_id)
            for f in await self.learners.running_runs(require_caller())])

    async def GetRunLearners(self, request, context):  # type: ignore[no-untyped-def]
        view, rosters = await self.learners.run_learners(require_caller(), request.run_id)
        reply = pb.RunLearners(context=learner_context_message(view))
        seen: set[str] = set()
        for roster in sorted(rosters, key=lambda r: r.course_class.is_public):  # a teacher's class before the public
            reply.classes.append(class_message(roster.course_class, len(roster.students), roster.releases))
            for row, school in roster.students:
                if row.user_id not in seen:
                    seen.add(row.user_id)
                    learner = reply.students.add(user_id=row.user_id, number=row.number, name=row.name,
                                                 school_id=school, class_id=roster.course_class.id)
                    _time(learner.joined_at, row.added_at)
        return reply

    async def GetSchoolUsage(self, request, context):  # type: ignore[no-untyped-def]
        classes, students = await self.courses.school_usage(require_caller(), request.run_id, request.school_id)
        return pb.SchoolUsage(classes=classes, students=students)

    # statistics (read-only) and the school's yearly report
    @staticmethod
    def _table(table: Table) -> pb.ReportTable:
        return pb.ReportTable(report=table.report, columns=table.columns, headers=table.headers,
                              rows=[pb.ReportRow(cells=row) for row in table.rows],
                              next_page_token=table.next_page_token, total=table.total, notes=table.notes)

    async def GetReport(self, request, context):  # type: ignore[no-untyped-def]
        return self._table(await self.statistics.report(require_caller(), request.report, dict(request.filters),
                                                        request.page_size, request.page_token))

    async def ExportReport(self, request, context):  # type: ignore[no-untyped-def]
        table = await self.statistics.export(require_caller(), request.report, dict(request.filters))
        filename, content_type, content = table_file(f"{table.report}", table.headers, table.rows,
                                                     request.format or "xlsx")
        return pb.File(filename=filename, content_type=content_type, content=content)

    async def PublishSchoolReport(self, request, context):  # type: ignore[no-untyped-def]
        report = await self.statistics.publish_school_report(require_caller(), request.school_year)
        message = pb.SchoolReportPublication(school_id=report.school_id, school_year=str(report.school_year),
                                             published_by=report.published_by)
        _time(message.published_at, report.published_at)
        return message

    # teaching workload
    async def SetOnlineTeacher(self, request, context):  # type: ignore[no-untyped-def]
        run = await self.workload.set_online_teacher(require_caller(), request.run_id, request.user_id)
        return run_message(*(await self.courses.get_run(require_caller(), run.id)))

    async def GetTermWorkload(self, request, context):  # type: ignore[no-untyped-def]
        workload = await self.workload.term_workload(require_caller(), request.term_code, request.school_id)
        return workload_message(workload)

    async def GetAcceptanceFacts(self, request, context):  # type: ignore[no-untyped-def]
        return acceptance_message(await self.acceptance.acceptance_facts(require_caller(), request.course_id))

    async def RevokeCourseTitle(self, request, context):  # type: ignore[no-untyped-def]
        course = await self.projects.revoke_title(require_caller(), request.course_id, request.reason)
        return course_message(*(await self.courses.get_course(require_caller(), course.id)))

    async def ExportTermWorkload(self, request, context):  # type: ignore[no-untyped-def]
        workload = await self.workload.term_workload(require_caller(), request.term_code, request.school_id)
        headers, rows = workload_sheet(workload)
        filename, content_type, content = table_file(f"workload-{workload.term_code}", headers, rows,
                                                     request.format or "xlsx")
        return pb.File(filename=filename, content_type=content_type, content=content)

    # policies
    async def GetEffectivePolicy(self, request, context):  # type: ignore[no-untyped-def]
        return effective_policy_message(
            await self.courses.policies.effective(require_caller(), request.school_id, request.term_code))

    async def GetPolicyLayer(self, request, context):  # type: ignore[no-untyped-def]
        rows, in_force = await self.courses.policies.layer(require_caller(), request.layer, request.scope_id)
        return pb.PolicyLayer(layer=request.layer, scope_id=request.scope_id, version_in_force=in_force,
                              versions=[policy_version_message(r) for r in rows])

    async def PutPolicyLayer(self, request, context):  # type: ignore[no-untyped-def]
        values: dict[str, policy_rules.Value] = {}
        for number in request.numbers:
            if number.name in values:
                raise InvalidArgument(f"{number.name} is given twice", reason="BAD_POLICY_NUMBER")
            values[number.name] = number.text or (None if number.not_counted else number.value)
        row = await self.courses.policies.put_layer(require_caller(), request.layer, request.scope_id, values,
                                                    request.effective_from_term, request.note)
        return policy_version_message(row)
