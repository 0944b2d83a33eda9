"""The rules of quizzes and exams: valid questions, auto-grading per kind, grading methods, answer visibility, the
exam's server deadline, the course-hours gate's refusal and offline marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from servicekit.errors import InvalidArgument
from services.learning.domain import assessments as rules
from services.learning.domain.assessments import AnswerGiven, Item, ItemMark, Key, QuestionContent

SINGLE = QuestionContent(rules.SINGLE_CHOICE, "1+1=?", ("1", "2", "3"), Key(correct=(1,)))
MULTI = QuestionContent(rules.MULTIPLE_CHOICE, "primes?", ("2", "3", "4", "5"), Key(correct=(0, 1, 3)))
TRUE = QuestionContent(rules.TRUE_FALSE, "the sky is blue", key=Key(truth=True))
BLANK = QuestionContent(rules.FILL_BLANK, "the capital of China", key=Key(accepted=("北京", "Beijing")))
OPEN = QuestionContent(rules.OPEN, "discuss", key=Key(reference="anything sensible"))


@pytest.mark.parametrize("content, message", [
    (QuestionContent("essay", "x"), "unknown question kind"),
    (QuestionContent(rules.SINGLE_CHOICE, "  "), "needs its text"),
    (QuestionContent(rules.SINGLE_CHOICE, "x", ("a",), Key(correct=(0,))), "2 to 10 options"),
    (QuestionContent(rules.SINGLE_CHOICE, "x", ("a", "b"), Key(correct=(0, 1))), "exactly one correct"),
    (QuestionContent(rules.SINGLE_CHOICE, "x", ("a", "b"), Key(correct=())), "exactly one correct"),
    (QuestionContent(rules.SINGLE_CHOICE, "x", ("a", "b"), Key(correct=(2,))), "outside 0..1"),
    (QuestionContent(rules.MULTIPLE_CHOICE, "x", ("a", "a"), Key(correct=(0,))), "same text"),
    (QuestionContent(rules.MULTIPLE_CHOICE, "x", ("a", "b"), Key()), "at least one correct"),
    (QuestionContent(rules.TRUE_FALSE, "x", ("a", "b")), "has no options"),
    (QuestionContent(rules.FILL_BLANK, "x", key=Key(accepted=(" ",))), "at least one accepted answer"),
])
def test_a_question_that_cannot_be_graded_is_refused_with_what_is_wrong(content: QuestionContent,
                                                                       message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        rules.validate_question(content)


def test_single_choice_and_true_false_are_right_or_wrong() -> None:
    assert rules.auto_share(SINGLE, AnswerGiven(choices=(1,))) == 1.0
    assert rules.auto_share(SINGLE, AnswerGiven(choices=(0,))) == 0.0
    assert rules.auto_share(SINGLE, None) == 0.0
    assert rules.auto_share(TRUE, AnswerGiven(truth=True)) == 1.0
    assert rules.auto_share(TRUE, AnswerGiven(truth=False)) == 0.0
    assert rules.auto_share(TRUE, AnswerGiven()) == 0.0


def test_multiple_choice_earns_half_for_a_correct_subset_and_nothing_with_a_wrong_option() -> None:
    assert rules.auto_share(MULTI, AnswerGiven(choices=(0, 1, 3))) == 1.0
    assert rules.auto_share(MULTI, AnswerGiven(choices=(0, 3))) == rules.MULTIPLE_CHOICE_PARTIAL_SHARE == 0.5
    assert rules.auto_share(MULTI, AnswerGiven(choices=(0, 1, 2, 3))) == 0.0
    assert rules.auto_share(MULTI, AnswerGiven(choices=())) == 0.0


def test_fill_in_accepts_any_accepted_answer_trimmed_case_and_width_insensitive() -> None:
    assert rules.auto_share(BLANK, AnswerGiven(text="  北京 ")) == 1.0
    assert rules.auto_share(BLANK, AnswerGiven(text="BEIJING")) == 1.0
    assert rules.auto_share(BLANK, AnswerGiven(text="ＢＥＩＪＩＮＧ")) == 1.0  # full-width letters
    assert rules.auto_share(BLANK, AnswerGiven(text="上海")) == 0.0
    assert rules.auto_share(BLANK, AnswerGiven(text="")) == 0.0


def test_open_answers_wait_for_the_team_and_keep_its_mark() -> None:
    items = [Item("s", 2, SINGLE), Item("o", 8, OPEN)]
    graded = rules.grade_attempt(items, {"s": AnswerGiven(choices=(1,)), "o": AnswerGiven(text="my essay")})
    assert (graded.points, graded.max_points, graded.pending_count, graded.score) == (2, 10, 1, 20)
    marked = rules.grade_attempt(items, {"s": AnswerGiven(choices=(1,)), "o": AnswerGiven(text="my essay")},
                                 {"o": ItemMark(6, 8)})
    assert (marked.points, marked.pending_count, marked.score) == (8, 0, 80)
    empty = rules.grade_attempt(items, {"s": AnswerGiven(choices=(0,))})
    assert (empty.points, empty.pending_count) == (0, 0)  # nothing written: nothing to grade


@pytest.mark.parametrize("method, expected", [("highest", 80), ("last", 40), ("average", 60)])
def test_the_grading_method_combines_the_attempts(method: str, expected: float) -> None:
    assert rules.combine(method, [60, 80, 40]) == expected
    assert rules.combine(method, []) is None


def test_answers_are_shown_only_when_the_policy_allows() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert not rules.answers_visible(rules.AFTER_SUBMIT, False, now, None)
    assert rules.answers_visible(rules.AFTER_SUBMIT, True, now, None)
    assert not rules.answers_visible(rules.AFTER_CLOSE, True, now, now + timedelta(minutes=1))
    assert rules.answers_visible(rules.AFTER_CLOSE, False, now, now)
    assert not rules.answers_visible(rules.AFTER_CLOSE, True, now, None)
    assert not rules.answers_visible(rules.NEVER, True, now, now - timedelta(days=1))


def test_the_exam_deadline_is_the_time_allowed_plus_extra_time_but_never_past_the_window() -> None:
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert rules.exam_deadline(start, 60, 0, None) == start + timedelta(minutes=60)
    assert rules.exam_deadline(start, 60, 15, start + timedelta(hours=2)) == start + timedelta(minutes=75)
    assert rules.exam_deadline(start, 60, 15, start + timedelta(minutes=70)) == start + timedelta(minutes=70)


def test_the_exam_needs_all_course_hours_and_the_refusal_says_how_far_and_what_remains() -> None:
    refusal = rules.course_hours_refusal(480, 600, ["第二章 视频1"])
    assert refusal is not None
    assert refusal.startswith("80% of the course hours done (8.0 of 10.0 minutes)")
    assert refusal.endswith("remaining: 第二章 视频1")
    assert rules.course_hours_refusal(600, 600, []) is None


def test_offline_marks_list_every_bad_line() -> None:
    rows = [["学号", "姓名", "成绩"], ["S1", "甲", "90"], ["S9", "外人", "80"], ["S2", "乙", "120"],
            ["S1", "甲", "70"], ["S3", "丙", "abc"]]
    marks, problems = rules.parse_exam_marks(rows, {"S1": "u1", "S2": "u2", "S3": "u3"})
    assert marks == {"S1": ("u1", 90.0)}
    assert [line for line, _ in problems] == [3, 4, 5, 6]
    assert "not a student of this class" in problems[0][1]
    assert rules.parse_exam_marks([["name", "x"]], {})[1] == [
        (1, "the header needs a 学号 (number) column and a 成绩 (score) column")]
