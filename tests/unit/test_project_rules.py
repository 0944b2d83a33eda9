"""Course-building projects' rules (seed 004 四): the form, the life cycle's steps, the tranches and the caps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from servicekit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.course.domain import policy
from services.course.domain import projects as rules

LEADER = "00000000-0000-0000-0000-00000000000a"
ASSISTANT = "00000000-0000-0000-0000-00000000000b"
NOW = datetime(2027, 3, 31, 9, tzinfo=UTC)


def form(**changes: object) -> rules.Form:
    base = rules.Form(
        course_id="c", discipline="计算机科学与技术", audience="本科二年级", class_hours=32, leader_title="副教授",
        leader_degree="博士", leader_phone="13800000000", leader_email="lead@example.edu.cn",
        leader_teaching=(rules.TeachingRecord("数据结构", "专业课", "本科", 48, 120),),
        leader_research="主持省级教改项目一项", team=(
            rules.TeamMember(ASSISTANT, "王助教", "assistant", "讲师", "计算机", "答疑与作业批改", "1990-05"),
            rules.TeamMember("", "李工", "technical", "工程师", "教育技术", "视频拍摄与平台维护", "")),
        foundation="已开设五年", design="线上线下混合", goals_plan="两年建成", expected_results="校级在线开放课程",
        attachment_ids=())
    return replace(base, **changes)


def test_a_complete_form_passes_and_names_who_may_not_judge_it() -> None:
    checked = rules.check_form(form(), LEADER)
    assert checked.discipline == "计算机科学与技术"
    assert rules.conflicts(LEADER, checked) == [LEADER, ASSISTANT]


@pytest.mark.parametrize("changes, words", [
    ({"discipline": " "}, "discipline"),
    ({"foundation": ""}, "foundation"),
    ({"class_hours": 0}, "class hours"),
    ({"leader_teaching": ()}, "three years"),
    ({"leader_email": "not-an-address"}, "e-mail"),
])
def test_an_incomplete_form_is_refused_naming_the_part(changes: dict, words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        rules.check_form(form(**changes), LEADER)


def test_the_team_needs_assistants_and_technical_support_besides_teachers() -> None:
    only_teachers = (rules.TeamMember("", "张老师", "teacher", "", "", "主讲第三章", ""),)
    with pytest.raises(InvalidArgument, match="助教 and 技术支持"):
        rules.check_form(form(team=only_teachers), LEADER)
    with pytest.raises(InvalidArgument, match="leader"):
        rules.check_form(form(team=(*form().team, rules.TeamMember(LEADER, "我", "teacher", "", "", "主讲", ""))),
                         LEADER)


def test_a_barred_leader_is_refused_until_the_bar_ends() -> None:
    until = rules.add_years(NOW, 3)
    with pytest.raises(FailedPrecondition, match=until.date().isoformat()):
        rules.check_not_barred([(until, "terminated")], NOW)
    rules.check_not_barred([(until, "terminated")], until + timedelta(seconds=1))


def test_a_second_failed_check_terminates() -> None:
    assert rules.prelaunch_failed(0) == rules.PrelaunchOutcome(rules.RECTIFYING, False)
    assert rules.prelaunch_failed(1) == rules.PrelaunchOutcome(rules.TERMINATED, True)


def test_months_are_calendar_months() -> None:
    assert rules.add_months(NOW, 6) == datetime(2027, 9, 30, 9, tzinfo=UTC)
    assert rules.add_months(datetime(2027, 8, 31, tzinfo=UTC), 6) == datetime(2028, 2, 29, tzinfo=UTC)
    assert rules.add_months(NOW, 24) == datetime(2029, 3, 31, 9, tzinfo=UTC)


def test_tranches_are_10k_10k_5k_5k_of_30k_and_add_up_for_any_budget() -> None:
    assert rules.tranche_amounts(30_000) == {"approval": 10_000, "first_run": 10_000, "second_run": 5_000,
                                             "acceptance": 5_000}
    assert sum(rules.tranche_amounts(10_000.01).values()) == pytest.approx(10_000.01)


def test_milestones_follow_the_seed_and_stop_at_termination() -> None:
    assert rules.milestones_reached(rules.BUILDING, 0, False) == ["approval"]
    assert rules.milestones_reached(rules.ONLINE, 1, False) == ["approval", "first_run"]
    assert rules.milestones_reached(rules.ACCEPTED, 2, False) == ["approval", "first_run", "second_run",
                                                                  "acceptance"]
    assert rules.milestones_reached(rules.TERMINATED, 0, True) == []
    assert rules.milestones_reached(rules.PANEL, 0, False) == []


def test_spending_stays_within_the_caps_and_the_released_money() -> None:
    caps = rules.caps(30_000, policy.PLATFORM_DEFAULTS)
    assert caps["research_meetings"] == 6_000 and caps["labour"] == 3_000 and caps["production"] == 0
    rules.check_spending("research_meetings", 6_000, {}, 30_000, 10_000, caps)
    with pytest.raises(FailedPrecondition, match="at most 6,000.00"):
        rules.check_spending("research_meetings", 0.01, {"research_meetings": 6_000}, 30_000, 20_000, caps)
    with pytest.raises(FailedPrecondition, match="at most 3,000.00"):
        rules.check_spending("labour", 3_000.5, {}, 30_000, 10_000, caps)
    with pytest.raises(FailedPrecondition, match="released"):
        rules.check_spending("production", 4_001, {"production": 6_000}, 30_000, 10_000, caps)
    with pytest.raises(InvalidArgument):
        rules.check_spending("travel", 10, {}, 30_000, 10_000, caps)
    with pytest.raises(InvalidArgument):
        rules.check_spending("production", -1, {}, 30_000, 10_000, caps)


def test_the_steps_check_state_and_leader() -> None:
    with pytest.raises(FailedPrecondition, match="building"):
        rules.check_state(rules.APPLIED, (rules.BUILDING,), "ask for the pre-launch check")
    with pytest.raises(PermissionDenied):
        rules.check_leader("someone", LEADER, "ask")
    with pytest.raises(FailedPrecondition, match="one run"):
        rules.check_acceptance_ready(0)


def test_the_policy_layers_carry_the_project_numbers() -> None:
    for values in (policy.PLATFORM_DEFAULTS, policy.CHANGSHA_SCHOOL_POLICY):
        assert values["project_budget_yuan"] == 30_000 and values["project_bar_years"] == 3
        assert values["project_period_months"] == 24 and values["project_build_months"] == 6
