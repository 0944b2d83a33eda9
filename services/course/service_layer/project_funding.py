"""A project's spending (seed 004 四(三)2): recorded by category against the money released so far, research and
meetings within 20% of the budget and the team's labour allowances within 10% (the school's policy numbers)."""

from __future__ import annotations

from servicekit.auth import Caller
from servicekit.text import check_text
from services.course.adapters.orm import ProjectSpending
from services.course.domain import projects as rules
from services.course.service_layer.projects import ProjectHandlers, ProjectView

FUNDED = (rules.BUILDING, rules.PRELAUNCH_CHECK, rules.RECTIFYING, rules.ONLINE, rules.ACCEPTANCE, rules.ACCEPTED,
          rules.TERMINATED)


class FundingHandlers:
    def __init__(self, projects: ProjectHandlers) -> None:
        self.projects = projects

    async def record_spending(self, caller: Caller, project_id: str, category: str, amount: float,
                              note: str) -> ProjectView:
        note = check_text(note, "the note", 500, required=False)
        now = self.projects.clock()
        async with self.projects.db.transaction() as session:
            project, course = await self.projects._own(session, caller, project_id, "record its spending")
            rules.check_state(project.state, FUNDED, "record spending")
            view = await self.projects._view(session, project, course, now)
            rules.check_spending(category, amount, view.spent_by_category, project.budget, view.released,
                                 rules.caps(project.budget, view.policy))
            project.spendings.append(ProjectSpending(category=category, amount=amount, note=note,
                                                     recorded_by=caller.user_id, at=now))
            return await self.projects._view(session, project, course, now)
