"""Expert panel rules: rubrics, who sits on a panel, scoring, the mean; and the college scope of project kinds."""

from __future__ import annotations

import pytest

from servicekit.auth import Caller
from servicekit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.review.domain import panels, rules
from services.review.domain.panels import RubricItem


def item(key: str, points: int, name: str = "指标") -> RubricItem:
    return RubricItem(key, "组", name, points, "")


def test_the_default_rubrics_follow_the_seeds_and_total_100() -> None:
    acceptance = panels.DEFAULT_RUBRICS["acceptance"]
    assert panels.validate_rubric(acceptance) == acceptance
    groups: dict[str, int] = {}
    for i in acceptance:
        groups[i.group] = groups.get(i.group, 0) + i.max_points
    assert groups == {"课程规范": 40, "教学内容": 25, "课程上线": 25, "课程使用": 5, "教学效果": 5}
    application = panels.DEFAULT_RUBRICS["application"]
    assert panels.validate_rubric(application) == application
    assert [i.key for i in application] == ["leader", "team", "foundation", "design", "plan", "results"]


@pytest.mark.parametrize("items, message", [
    ([item("a", 50), item("a", 50)], "twice"),
    ([item("A-b", 100)], "lowercase"),
    ([item("a", 50), item("b", 50, name=" ")], "name"),
    ([item("a", 110), item("b", -10)], "more than 0"),
    ([item("a", 50), item("b", 40)], "add up to 90"),
    ([], "at least one"),
])
def test_a_rubric_with_bad_keys_names_or_points_is_refused(items: list[RubricItem], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        panels.validate_rubric(items)


def test_a_panel_needs_three_experts_a_leader_among_them_and_nobody_judging_their_own_project() -> None:
    experts = {"u1": "甲", "u2": "乙", "u3": "丙"}
    panels.check_panel(experts, "u1", [("课程A", {"conflicts": ["u9"]})])
    with pytest.raises(InvalidArgument, match="at least 3"):
        panels.check_panel({"u1": "甲", "u2": "乙"}, "u1", [])
    with pytest.raises(InvalidArgument, match="leader"):
        panels.check_panel(experts, "u4", [])
    with pytest.raises(InvalidArgument, match="乙 cannot review '课程B'"):
        panels.check_panel(experts, "u1", [("课程A", {}), ("课程B", {"conflicts": ["u2", "u7"]})])


def test_experts_and_deciders_in_an_items_conflicts_are_refused() -> None:
    snapshot = {"conflicts": ["leader", "member"], "facts": {}}
    with pytest.raises(PermissionDenied, match="your own project"):
        panels.check_may_score("member", snapshot)
    with pytest.raises(PermissionDenied):
        panels.check_may_decide("leader", snapshot)
    panels.check_may_score("outsider", snapshot)
    panels.check_may_decide("outsider", {})


def test_an_expert_scores_every_item_once_within_its_points() -> None:
    rubric = [item("a", 60), item("b", 40)]
    assert panels.score_total(rubric, [("a", 55), ("b", 30.5)]) == 85.5
    for scores, message in [
        ([("a", 55)], "missing: b"),
        ([("a", 55), ("b", 30), ("b", 30)], "twice"),
        ([("a", 61), ("b", 30)], "0 to 60"),
        ([("a", -1), ("b", 30)], "0 to 60"),
        ([("a", 1), ("b", 1), ("c", 1)], "no item 'c'"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            panels.score_total(rubric, scores)


def test_the_mean_is_of_the_experts_totals_and_the_leader_concludes_once_all_have_scored() -> None:
    assert panels.mean([80, 90, 85.5]) == 85.17
    assert panels.mean([]) == 0.0
    panels.check_conclusion("pass", ["u1", "u2", "u3"], ["u3", "u1", "u2"])
    with pytest.raises(FailedPrecondition, match="1 expert"):
        panels.check_conclusion("pass", ["u1", "u2", "u3"], ["u1", "u2"])
    with pytest.raises(InvalidArgument):
        panels.check_conclusion("maybe", ["u1"], ["u1"])


def test_project_kinds_are_known_and_panel_purposes_name_their_kind() -> None:
    rules.check_requested("project_recommendation", "college", "c1")
    for kind in ("project_application", "project_prelaunch", "project_acceptance"):
        rules.check_requested(kind, "school", "s1")
    assert panels.PANEL_KINDS == {"application": "project_application", "acceptance": "project_acceptance"}
    with pytest.raises(InvalidArgument):
        panels.check_purpose("prelaunch")


def test_a_college_admin_decides_for_their_own_college_only() -> None:
    admin = Caller(user_id="u", role="college_admin", school_id="s1", province_code="33", name="n",
                   college_id="c1")
    assert rules.caller_scope(admin) == ("college", "c1")
    assert rules.ROLE_OF_SCOPE["college"] == "college_admin"
    # a college admin of another college has another scope, so the item is not in their queue (404)
    other = Caller(user_id="v", role="college_admin", school_id="s1", province_code="33", name="n",
                   college_id="c2")
    assert rules.caller_scope(other) != ("college", "c1")
    with pytest.raises(PermissionDenied):
        rules.caller_scope(Caller(user_id="w", role="college_admin", school_id="s1", province_code="33", name="n"))
