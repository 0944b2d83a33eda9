"""Student evaluation of teaching (seed 002 四(七)): the window, the questionnaire, the score and its grade, the
flag after terms in a row below good; and the course service's stop that follows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from servicekit.errors import FailedPrecondition, InvalidArgument
from services.course.domain import course_stop
from services.learning.domain import evaluation as rules
from services.learning.domain.evaluation import TermResult


def test_the_window_is_the_terms_last_two_weeks_and_two_weeks_after() -> None:
    window = rules.window(date(2027, 1, 20))
    assert window.opens_at == datetime(2027, 1, 7, tzinfo=UTC)
    assert window.closes_at == datetime(2027, 2, 4, tzinfo=UTC)
    with pytest.raises(FailedPrecondition, match="opens on 2027-01-07"):
        window.check_open(datetime(2027, 1, 6, 23, 59, tzinfo=UTC))
    window.check_open(datetime(2027, 1, 7, tzinfo=UTC))
    window.check_open(datetime(2027, 2, 3, 23, 59, tzinfo=UTC))
    with pytest.raises(FailedPrecondition, match="closed"):
        window.check_open(datetime(2027, 2, 4, tzinfo=UTC))


def test_a_questionnaire_has_distinct_items_and_each_is_rated_one_to_five() -> None:
    assert rules.check_items([" 讲解清楚 ", "答疑及时"]) == ["讲解清楚", "答疑及时"]
    for items in ([], ["a"] * 2, [f"item {n}" for n in range(rules.MAX_ITEMS + 1)], [""]):
        with pytest.raises(InvalidArgument):
            rules.check_items(items)
    assert rules.check_ratings([1, 5, 3], 3) == [1, 5, 3]
    with pytest.raises(InvalidArgument, match="rate each of the 3"):
        rules.check_ratings([5, 5], 3)
    for bad in ([0, 5, 5], [6, 5, 5]):
        with pytest.raises(InvalidArgument, match="1 to 5"):
            rules.check_ratings(bad, 3)
    assert rules.check_comment("  ") == ""


def test_the_score_is_the_mean_rating_times_twenty_each_student_counting_once() -> None:
    assert rules.score([]) is None
    assert rules.score([5.0]) == 100
    assert rules.score([4.0, 3.0]) == 70
    assert rules.score([3.5, 4.5, 4.0]) == 80


@pytest.mark.parametrize(("score", "good", "grade"), [
    (95, 80, "excellent"), (90, 80, "excellent"), (89.99, 80, "good"), (80, 80, "good"), (79.9, 80, "fair"),
    (70, 80, "fair"), (65, 80, "pass"), (60, 80, "pass"), (59.9, 80, "fail"), (84, 85, "fair"), (76, 75, "good"),
])
def test_grades_follow_the_seed_with_good_from_the_policy(score: float, good: float, grade: str) -> None:
    assert rules.grade(score, good) == grade
    assert rules.GRADE_NAMES[grade] in ("优秀", "良好", "中等", "合格", "不合格")


def _term(code: str, month: int, score: float, good: float = 80) -> TermResult:
    return TermResult(code, date(2027, month, 1), score, good)


def test_a_course_below_good_two_evaluated_terms_in_a_row_is_flagged() -> None:
    autumn, spring, summer = _term("2026-autumn", 1, 78), _term("2027-spring", 7, 70), _term("2027-autumn", 12, 85)
    assert rules.course_flagged([spring, autumn]) == [autumn, spring]
    assert rules.course_flagged([autumn]) == []                          # one term is not two in a row
    assert rules.course_flagged([autumn, spring, summer]) == []          # good again last term
    assert rules.course_flagged([autumn, _term("2027-spring", 7, 80)]) == []  # 80 is good
    assert rules.course_flagged([autumn, spring], terms_below=3) == []
    assert rules.course_flagged([_term("x", 1, 60), autumn, spring], terms_below=3) != []
    # The policy's good score in each term decides.
    assert rules.course_flagged([_term("a", 1, 82, good=85), _term("b", 7, 84, good=85)]) != []


def test_a_stopped_course_opens_no_run_and_its_leader_files_no_application() -> None:
    course_stop.check_may_open_run("数据结构", None, "")
    with pytest.raises(FailedPrecondition, match="数据结构 was stopped") as refused:
        course_stop.check_may_open_run("数据结构", datetime(2027, 8, 1, tzinfo=UTC), "评教连续两学期未达良好")
    assert refused.value.reason == "COURSE_STOPPED"
    assert course_stop.leader_may_apply([]) is True
    assert course_stop.leader_may_apply(["course-1"]) is False
    with pytest.raises(FailedPrecondition) as suspended:
        course_stop.check_leader_may_apply(["数据结构"])
    assert suspended.value.reason == "LEADER_SUSPENDED"
    with pytest.raises(InvalidArgument):
        course_stop.check_stop_reason("  ")
