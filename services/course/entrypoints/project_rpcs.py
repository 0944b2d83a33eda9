"""The course service's project RPCs (course-building projects) and their messages; CourseServicer mixes them in."""

from __future__ import annotations

from contracts.course.v1 import course_pb2 as pb
from servicekit.auth import require_caller
from services.course.domain import projects as rules
from services.course.service_layer.project_funding import FundingHandlers
from services.course.service_layer.projects import ProjectHandlers, ProjectView


def _time(field, value) -> None:  # type: ignore[no-untyped-def]
    if value is not None:
        field.FromDatetime(value)


def form_message(form: rules.Form) -> pb.ProjectForm:
    return pb.ProjectForm(
        course_id=form.course_id, discipline=form.discipline, audience=form.audience, class_hours=form.class_hours,
        leader_title=form.leader_title, leader_degree=form.leader_degree, leader_phone=form.leader_phone,
        leader_email=form.leader_email,
        leader_teaching=[pb.ProjectTeachingRecord(course_name=r.course_name, category=r.category, audience=r.audience,
                                                  class_hours=r.class_hours, listeners_per_year=r.listeners_per_year)
                         for r in form.leader_teaching],
        leader_research=form.leader_research,
        team=[pb.ProjectTeamMember(user_id=m.user_id, name=m.name, kind=m.kind, title=m.title,
                                   discipline=m.discipline, task=m.task, birth_month=m.birth_month)
              for m in form.team],
        foundation=form.foundation, design=form.design, goals_plan=form.goals_plan,
        expected_results=form.expected_results, attachment_ids=list(form.attachment_ids))


def form_from_message(form: pb.ProjectForm) -> rules.Form:
    return rules.Form(
        course_id=form.course_id, discipline=form.discipline, audience=form.audience, class_hours=form.class_hours,
        leader_title=form.leader_title, leader_degree=form.leader_degree, leader_phone=form.leader_phone.strip(),
        leader_email=form.leader_email.strip(),
        leader_teaching=tuple(rules.TeachingRecord(r.course_name, r.category, r.audience, r.class_hours,
                                                   r.listeners_per_year) for r in form.leader_teaching),
        leader_research=form.leader_research,
        team=tuple(rules.TeamMember(m.user_id.strip(), m.name, m.kind, m.title, m.discipline, m.task,
                                    m.birth_month.strip()) for m in form.team),
        foundation=form.foundation, design=form.design, goals_plan=form.goals_plan,
        expected_results=form.expected_results, attachment_ids=tuple(a.strip() for a in form.attachment_ids))


def project_message(view: ProjectView) -> pb.Project:
    project = view.project
    spent = view.spent_by_category
    caps = rules.caps(project.budget, view.policy)
    labels = {milestone: label for milestone, label, _ in rules.TRANCHES}
    message = pb.Project(
        id=project.id, school_id=project.school_id, college_id=project.college_id,
        college_name=project.college_name, course_id=project.course_id, course_name=view.course.name,
        category=view.course.category, leader_id=project.leader_id, leader_name=project.leader_name,
        state=project.state, form=form_message(view.form), reason=project.reason,
        build_overdue=view.build_overdue, rectify_overdue=view.rectify_overdue,
        prelaunch_failures=project.prelaunch_failures, runs_since_check=project.runs_since_check,
        application_score=project.application_score, acceptance_score=project.acceptance_score,
        budget=project.budget, released=view.released, spent=round(sum(spent.values()), 2),
        spending=[pb.SpendingCategory(category=c, label=label, spent=spent.get(c, 0.0), cap=caps[c])
                  for c, (label, _) in rules.SPENDING_CATEGORIES.items()],
        course_title=view.course.title)
    for name in ("applied_at", "approved_at", "build_deadline", "period_end", "rectify_by", "terminated_at",
                 "accepted_at"):
        _time(getattr(message, name), getattr(project, name))
    for tranche in project.tranches:
        added = message.tranches.add(milestone=tranche.milestone, label=labels[tranche.milestone],
                                     amount=tranche.amount, released=tranche.released_at is not None)
        _time(added.released_at, tranche.released_at)
    for spending in project.spendings:
        added_spending = message.spendings.add(id=spending.id, category=spending.category, amount=spending.amount,
                                               note=spending.note, recorded_by=spending.recorded_by)
        _time(added_spending.at, spending.at)
    for event in project.history:
        added_event = message.history.add(action=event.action, actor_id=event.actor_id, reason=event.reason,
                                          panel_mean=event.panel_mean, panel_conclusion=event.panel_conclusion)
        _time(added_event.at, event.at)
    return message


class ProjectRpcs:
    projects: ProjectHandlers
    funding: FundingHandlers

    async def ApplyProject(self, request, context):  # type: ignore[no-untyped-def]
        return project_message(await self.projects.apply(require_caller(), form_from_message(request.form)))

    async def GetProject(self, request, context):  # type: ignore[no-untyped-def]
        return project_message(await self.projects.get(require_caller(), request.project_id))

    async def ListProjects(self, request, context):  # type: ignore[no-untyped-def]
        views = await self.projects.list(require_caller(), request.state, request.school_id)
        return pb.ListProjectsResponse(projects=[project_message(v) for v in views])

    async def RequestPrelaunchCheck(self, request, context):  # type: ignore[no-untyped-def]
        return project_message(await self.projects.request_prelaunch_check(require_caller(), request.project_id))

    async def RequestProjectAcceptance(self, request, context):  # type: ignore[no-untyped-def]
        return project_message(await self.projects.request_acceptance(require_caller(), request.project_id))

    async def RecordSpending(self, request, context):  # type: ignore[no-untyped-def]
        return project_message(await self.funding.record_spending(require_caller(), request.project_id,
                                                                  request.category, request.amount, request.note))
