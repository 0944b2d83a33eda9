"""Course-building projects (在线开放课程立项建设): seed 004 四 and annex 1, seed 002 三(一).

The leader applies with the school's form (申报表, seed 004 annex 1) through their college (教学单位), which
recommends the best (择优推荐); the school's expert panel scores and the school approves (主管校长批准). The
online resources are built within 6 months of approval, checked before they go online (上线审核); a failed check
gets a deadline to rectify (限期整改) and a second failure terminates the project, stops its funding and bars the
leader from applying for 3 years (seed 004 四(二)3). At the end of the 2-year period the panel accepts it (结项验收)
against the school's rubric and the course earns the title 校级在线开放课程, which the school may take away when
the course stops running normally (四(二)4). Funding (四(三)): 30,000 yuan in tranches — 10,000 at approval, 10,000
after the pre-launch check and the first run, 5,000 after the second run, 5,000 after the acceptance; research and
meetings take at most 20%, the team's labour allowances at most 10%. The numbers come from the school's policy.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from servicekit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from servicekit.text import check_text

TITLE = "校级在线开放课程"

# States, in the order a project lives them.
APPLIED = "applied"                # at its college
NOT_RECOMMENDED = "not_recommended"
PANEL = "panel"                    # recommended: the expert panel scores, the school decides
REJECTED = "rejected"
BUILDING = "building"              # approved: the online resources are being built
PRELAUNCH_CHECK = "prelaunch_check"
RECTIFYING = "rectifying"          # the check failed once
ONLINE = "online"                  # passed the check: runs
ACCEPTANCE = "acceptance"          # the completion acceptance asked for
ACCEPTED = "accepted"
TERMINATED = "terminated"
STATES = (APPLIED, NOT_RECOMMENDED, PANEL, REJECTED, BUILDING, PRELAUNCH_CHECK, RECTIFYING, ONLINE, ACCEPTANCE,
          ACCEPTED, TERMINATED)
CLOSED = (NOT_RECOMMENDED, REJECTED, ACCEPTED, TERMINATED)  # a course may have a new project after these

# The review kinds a project goes through (services/review/domain/rules.py decides who decides them).
KIND_RECOMMENDATION = "project_recommendation"   # the college's admin
KIND_APPLICATION = "project_application"         # the school, after its expert panel
KIND_PRELAUNCH = "project_prelaunch"             # the school
KIND_ACCEPTANCE = "project_acceptance"           # the school, after its expert panel
KINDS = (KIND_RECOMMENDATION, KIND_APPLICATION, KIND_PRELAUNCH, KIND_ACCEPTANCE)

# Funding tranches (seed 004 四(三)3) as shares of the budget: 10k / 10k / 5k / 5k of 30k.
APPROVAL, FIRST_RUN, SECOND_RUN, ACCEPTANCE_PAID = "approval", "first_run", "second_run", "acceptance"
TRANCHES: tuple[tuple[str, str, int], ...] = (  # milestone, label, sixths of the budget
    (APPROVAL, "立项后", 2),
    (FIRST_RUN, "通过上线审核第一次开课后", 2),
    (SECOND_RUN, "第二次开课后", 1),
    (ACCEPTANCE_PAID, "结项验收合格后", 1),
)

# Spending categories (seed 004 四(三)2) and the policy number capping each (a share of the budget).
SPENDING_CATEGORIES: dict[str, tuple[str, str]] = {
    "research_meetings": ("调研及会议交流", "project_research_meetings_cap_percent"),
    "production": ("教学视频等课程资源制作", ""),
    "equipment": ("教学使用的小型仪器", ""),
    "maintenance": ("课程在线运行维护", ""),
    "labour": ("课程团队成员劳务津贴", "project_labour_cap_percent"),
    "other": ("其他与课程建设相关的费用", ""),
}

TEAM_KINDS = {"teacher": "主讲教师", "assistant": "助教", "technical": "技术支持"}
LONG_TEXT = 5_000
SHORT_TEXT = 100
MAX_TEAM = 30
MAX_TEACHING_RECORDS = 20
MAX_ATTACHMENTS = 20
MAX_AMOUNT = 10_000_000.0
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_ID = re.compile(r"^[0-9a-f-]{36}$")


@dataclass(frozen=True)
class TeachingRecord:
    course_name: str
    category: str
    audience: str
    class_hours: float
    listeners_per_year: int


@dataclass(frozen=True)
class TeamMember:
    user_id: str
    name: str
    kind: str
    title: str
    discipline: str
    task: str
    birth_month: str


@dataclass(frozen=True)
class Form:
    course_id: str
    discipline: str
    audience: str
    class_hours: float
    leader_title: str
    leader_degree: str
    leader_phone: str
    leader_email: str
    leader_teaching: tuple[TeachingRecord, ...]
    leader_research: str
    team: tuple[TeamMember, ...]
    foundation: str
    design: str
    goals_plan: str
    expected_results: str
    attachment_ids: tuple[str, ...]


def _required(value: str, what: str, limit: int) -> str:
    return check_text(value or "", what, limit)


def _optional(value: str, what: str, limit: int) -> str:
    return check_text(value or "", what, limit, required=False)


def check_form(form: Form, leader_id: str) -> Form:
    """The application form as the seed's annex 1 asks for it: every part filled in, the team with assistants and
    technical support besides the teachers (seed 004 二: 除主讲教师外，还需配备助教和相关技术人员)."""
    if not 0 < form.class_hours <= 1_000:
        raise InvalidArgument("the class hours (学时) are a number above 0 and at most 1000",
                              reason="PROJECT_FORM_INCOMPLETE")
    if not form.leader_teaching:
        raise InvalidArgument("the form needs the courses the leader taught in the last three years (近三年主讲情况)",
                              reason="PROJECT_FORM_INCOMPLETE")
    if len(form.leader_teaching) > MAX_TEACHING_RECORDS or len(form.team) > MAX_TEAM:
        raise InvalidArgument(f"at most {MAX_TEACHING_RECORDS} courses taught and {MAX_TEAM} team members")
    records = tuple(TeachingRecord(_required(r.course_name, "each taught course's name", SHORT_TEXT),
                                   _optional(r.category, "a taught course's category", SHORT_TEXT),
                                   _optional(r.audience, "a taught course's audience", SHORT_TEXT),
                                   _hours(r.class_hours), _listeners(r.listeners_per_year))
                    for r in form.leader_teaching)
    team = tuple(_member(m, leader_id) for m in form.team)
    kinds = {m.kind for m in team}
    missing = [TEAM_KINDS[k] for k in ("assistant", "technical") if k not in kinds]
    if missing:
        raise InvalidArgument(f"besides its teachers the team needs {' and '.join(missing)} (seed 004 二)",
                              reason="PROJECT_TEAM_INCOMPLETE")
    members = [m.user_id for m in team if m.user_id]
    if len(members) != len(set(members)):
        raise InvalidArgument("a team member is listed twice")
    if len(form.attachment_ids) > MAX_ATTACHMENTS or len(set(form.attachment_ids)) != len(form.attachment_ids):
        raise InvalidArgument(f"at most {MAX_ATTACHMENTS} different attachments")
    if form.leader_phone and not re.fullmatch(r"\+?[0-9 -]{5,20}", form.leader_phone):
        raise InvalidArgument("the leader's phone is not a phone number")
    if form.leader_email and not re.fullmatch(r"[^@\s]{1,64}@[^@\s]{1,190}", form.leader_email):
        raise InvalidArgument("the leader's e-mail is not an address")
    return Form(
        course_id=form.course_id,
        discipline=_required(form.discipline, "the discipline (所属学科)", SHORT_TEXT),
        audience=_required(form.audience, "the audience (授课对象)", SHORT_TEXT),
        class_hours=form.class_hours,
        leader_title=_required(form.leader_title, "the leader's title (专业技术职务)", SHORT_TEXT),
        leader_degree=_optional(form.leader_degree, "the leader's degree", SHORT_TEXT),
        leader_phone=form.leader_phone, leader_email=form.leader_email,
        leader_teaching=records,
        leader_research=_required(form.leader_research, "the leader's teaching research (教学研究情况)", LONG_TEXT),
        team=team,
        foundation=_required(form.foundation, "the course's foundation (课程建设基础)", LONG_TEXT),
        design=_required(form.design, "the course's design (课程设计)", LONG_TEXT),
        goals_plan=_required(form.goals_plan, "the goals and plan (建设目标和实施方案)", LONG_TEXT),
        expected_results=_required(form.expected_results, "the expected results (预期成果和效果)", LONG_TEXT),
        attachment_ids=form.attachment_ids,
    )


def _hours(value: float) -> float:
    if not 0 <= value <= 1_000:
        raise InvalidArgument("a taught course's class hours are between 0 and 1000")
    return value


def _listeners(value: int) -> int:
    if not 0 <= value <= 1_000_000:
        raise InvalidArgument("a taught course's listeners per year are between 0 and 1000000")
    return value


def _member(member: TeamMember, leader_id: str) -> TeamMember:
    if member.kind not in TEAM_KINDS:
        raise InvalidArgument(f"a team member is one of {', '.join(TEAM_KINDS)}; got {member.kind!r}")
    if member.user_id and not _ID.match(member.user_id):
        raise InvalidArgument(f"{member.user_id!r} is not an account id")
    if member.user_id == leader_id:
        raise InvalidArgument("the leader is not listed again among the team")
    if member.birth_month and not _MONTH.match(member.birth_month):
        raise InvalidArgument("a birth month is written YYYY-MM")
    return TeamMember(member.user_id, _required(member.name, "each team member's name", SHORT_TEXT), member.kind,
                      _optional(member.title, "a team member's title", SHORT_TEXT),
                      _optional(member.discipline, "a team member's discipline", SHORT_TEXT),
                      _required(member.task, "each team member's task (承担教学任务)", SHORT_TEXT * 5),
                      member.birth_month)


def conflicts(leader_id: str, form: Form) -> list[str]:
    """Who may neither sit on the project's panels nor decide it: its leader and the team's accounts."""
    return [leader_id, *(m.user_id for m in form.team if m.user_id)]


# ---- the leader's standing --------------------------------------------------------------------------------------

def check_not_barred(bars: Iterable[tuple[datetime, str]], now: datetime) -> None:
    """A leader whose project was terminated applies for nothing for the policy's years (seed 004 四(二)3)."""
    active = sorted(until for until, _ in bars if until > now)
    if active:
        raise FailedPrecondition(
            f"a project you led was terminated after failing its pre-launch check twice; you may apply again from "
            f"{active[-1].date().isoformat()} (seed 004 四(二)3)", reason="LEADER_BARRED")


def check_course_free(open_states: Iterable[str]) -> None:
    states = list(open_states)
    if states:
        raise FailedPrecondition(f"this course already has a project ({states[0]}); one at a time",
                                 reason="PROJECT_EXISTS")


# ---- the life cycle -------------------------------------------------------------------------------------------

def check_state(state: str, allowed: tuple[str, ...], doing: str) -> None:
    if state not in allowed:
        raise FailedPrecondition(f"a project that is {state} cannot {doing} (it must be {' or '.join(allowed)})",
                                 reason="PROJECT_STATE")


def check_leader(caller_id: str, leader_id: str, doing: str) -> None:
    if caller_id != leader_id:
        raise PermissionDenied(f"only the project's leader may {doing}")


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def add_years(moment: datetime, years: int) -> datetime:
    return add_months(moment, 12 * years)


def rectify_by(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)


@dataclass(frozen=True)
class PrelaunchOutcome:
    state: str
    terminated: bool


def prelaunch_failed(failures_before: int) -> PrelaunchOutcome:
    """The first failed check gets a deadline to rectify; the second terminates the project."""
    if failures_before >= 1:
        return PrelaunchOutcome(TERMINATED, True)
    return PrelaunchOutcome(RECTIFYING, False)


def check_acceptance_ready(runs_since_check: int) -> None:
    """The acceptance looks at the course's building, use and running (建设、应用和运行情况): it has run at least
    once since it went online."""
    if runs_since_check < 1:
        raise FailedPrecondition("the completion acceptance needs at least one run of the course since it passed "
                                 "the pre-launch check", reason="PROJECT_NOT_RUN")


# ---- money ------------------------------------------------------------------------------------------------------

def tranche_amounts(budget: float) -> dict[str, float]:
    """Each tranche's amount; the last takes what rounding leaves, so they add up to the budget."""
    amounts: dict[str, float] = {}
    for milestone, _, sixths in TRANCHES[:-1]:
        amounts[milestone] = round(budget * sixths / 6, 2)
    amounts[TRANCHES[-1][0]] = round(budget - sum(amounts.values()), 2)
    return amounts


def milestones_reached(state: str, runs_since_check: int, terminated: bool) -> list[str]:
    """The tranches a project has earned: nothing after it was terminated beyond what it had."""
    if terminated:
        return []
    reached = [APPROVAL] if state not in (APPLIED, NOT_RECOMMENDED, PANEL, REJECTED) else []
    if runs_since_check >= 1:
        reached.append(FIRST_RUN)
    if runs_since_check >= 2:
        reached.append(SECOND_RUN)
    if state == ACCEPTED:
        reached.append(ACCEPTANCE_PAID)
    return reached


def caps(budget: float, policy: Mapping[str, object]) -> dict[str, float]:
    """The most each capped category may take: its policy share of the budget (0: no cap of its own)."""
    result = {}
    for category, (_, number) in SPENDING_CATEGORIES.items():
        share = policy.get(number) if number else None
        result[category] = round(budget * float(share) / 100, 2) if isinstance(share, (int, float)) else 0.0
    return result


def check_spending(category: str, amount: float, spent: Mapping[str, float], budget: float, released: float,
                   category_caps: Mapping[str, float]) -> None:
    """A spending is recorded against the money released so far, within its category's cap."""
    if category not in SPENDING_CATEGORIES:
        raise InvalidArgument(f"a spending is one of {', '.join(SPENDING_CATEGORIES)}; got {category!r}",
                              reason="UNKNOWN_SPENDING_CATEGORY")
    if not 0 < amount <= MAX_AMOUNT or round(amount, 2) != amount:
        raise InvalidArgument("an amount is above 0 yuan, in fen at most", reason="BAD_AMOUNT")
    label = SPENDING_CATEGORIES[category][0]
    cap = category_caps.get(category, 0.0)
    already = spent.get(category, 0.0)
    if cap and already + amount > cap + 1e-9:
        raise FailedPrecondition(
            f"{label} may take at most {cap:,.2f} yuan of the {budget:,.2f} budget; {already:,.2f} is spent, "
            f"{amount:,.2f} more would pass the cap (seed 004 四(三)2)", reason="SPENDING_CAP")
    total = sum(spent.values())
    if total + amount > released + 1e-9:
        raise FailedPrecondition(
            f"{released:,.2f} yuan has been released so far and {total:,.2f} is spent; {amount:,.2f} more is more "
            f"than was released", reason="SPENDING_OVER_RELEASED")
