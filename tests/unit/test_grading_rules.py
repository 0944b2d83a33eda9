"""The grade's rules (seed 002 五(四)): categories and integer weights summing to 100, frozen once the run is
approved, items weighing equally unless set, categories without items left out, the pass mark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.course.v1 import course_pb2
from servicekit.db import Database
from servicekit.errors import FailedPrecondition, InvalidArgument
from services.learning.adapters.grade_tables import GradingSchemeRow
from services.learning.adapters.orm import Base, UnitProgress
from services.learning.domain import grading as rules
from services.learning.service_layer.grades import GradeHandlers, Student, parse_marks


def test_the_scheme_has_six_categories_and_the_default_sums_to_100() -> None:
    assert rules.CATEGORIES == ("video", "quizzes", "assignments", "face_to_face", "forum", "final_exam")
    assert sum(rules.DEFAULT_WEIGHTS.values()) == 100
    assert rules.check_weights(rules.DEFAULT_WEIGHTS) == rules.DEFAULT_WEIGHTS


@pytest.mark.parametrize("weights, reason", [
    ({"video": 30, "quizzes": 20, "final_exam": 40}, "WEIGHTS_NOT_100"),
    ({"video": 60, "quizzes": 50, "final_exam": -10}, "BAD_WEIGHT"),
    ({"video": 101, "final_exam": -1}, "BAD_WEIGHT"),
    ({"video": 50.5, "final_exam": 49.5}, "BAD_WEIGHT"),
    ({"video": 50, "attendance": 50}, "UNKNOWN_CATEGORY"),
])
def test_weights_are_whole_percentages_summing_to_100(weights: dict, reason: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        rules.check_weights(weights)
    assert refused.value.reason == reason


def test_missing_categories_weigh_zero() -> None:
    assert rules.check_weights({"video": 40, "final_exam": 60})["forum"] == 0


@pytest.mark.parametrize("state", ["draft", "pending_review", "rejected"])
def test_the_leader_may_change_the_scheme_until_the_run_is_approved(state: str) -> None:
    rules.check_scheme_editable(state)


@pytest.mark.parametrize("state", ["published", "running", "ended", "taken_down"])
def test_the_scheme_is_frozen_once_the_run_is_approved(state: str) -> None:
    with pytest.raises(FailedPrecondition, match="frozen since the run was approved"):
        rules.check_scheme_editable(state)


def test_results_are_finalised_only_once_the_run_teaches_or_ended() -> None:
    rules.check_finalisable("running")
    rules.check_finalisable("ended")
    with pytest.raises(FailedPrecondition):
        rules.check_finalisable("published")


def test_items_weigh_equally_unless_set_and_a_missing_score_counts_zero() -> None:
    equal = [rules.Item("quizzes", "a", "A", 0, 80), rules.Item("quizzes", "b", "B", 0, 60),
             rules.Item("quizzes", "c", "C", 0, None)]
    assert rules.category_score(equal) == pytest.approx(140 / 3)
    weighted = [rules.Item("face_to_face", "a", "A", 3, 100), rules.Item("face_to_face", "b", "B", 1, 0)]
    assert rules.category_score(weighted) == pytest.approx(75)
    assert rules.category_score([]) == 0


def test_categories_without_items_are_left_out_and_the_rest_scaled_to_100() -> None:
    weights = {"video": 30, "quizzes": 20, "assignments": 10, "face_to_face": 10, "forum": 0, "final_exam": 30}
    effective = rules.effective_weights(weights, {"video", "face_to_face"})
    assert effective["video"] == pytest.approx(75) and effective["face_to_face"] == pytest.approx(25)
    assert effective["assignments"] == effective["quizzes"] == effective["final_exam"] == 0
    assert sum(effective.values()) == pytest.approx(100)
    # Every category with items: the published weights as they are.
    assert rules.effective_weights(weights, set(rules.CATEGORIES)) == pytest.approx(
        {c: float(w) for c, w in weights.items()})


def test_the_total_is_the_weighted_sum_and_passes_at_the_mark() -> None:
    effective = {"video": 75.0, "face_to_face": 25.0}
    passing = rules.grade({"video": 50.0, "face_to_face": 90.0}, effective, 60)
    assert passing.total == pytest.approx(60.0) and passing.passed  # 37.5 + 22.5: exactly the mark passes
    failing = rules.grade({"video": 50.0, "face_to_face": 89.9}, effective, 60)
    assert failing.total == pytest.approx(59.98) and not failing.passed


def test_the_pass_mark_comes_from_the_policy_default_60() -> None:
    assert rules.pass_mark_of({"pass_mark": 70}) == 70
    assert rules.pass_mark_of({}) == 60
    assert rules.pass_mark_of({"pass_mark": float("nan")}) == 60


def test_an_item_weight_of_zero_means_equal() -> None:
    assert rules.check_item_weight(0) == 1
    assert rules.check_item_weight(2.5) == 2.5
    with pytest.raises(InvalidArgument):
        rules.check_item_weight(-1)


def test_a_marks_sheet_lists_every_bad_line() -> None:
    roster = {"S1": "u1", "S2": "u2", "S3": "u3"}
    rows = [["学号", "姓名", "成绩"], ["S1", "甲", "88"], ["", "", ""], ["S9", "外人", "70"], ["S2", "乙", "101"],
            ["S1", "甲", "90"], ["S3", "丙", "九十"]]
    marks, problems = parse_marks(rows, roster)
    assert marks == {"S1": ("u1", 88.0)}
    assert [(line, f) for line, f, _ in problems] == [(4, "number"), (5, "mark"), (6, "number"), (7, "mark")]
    assert "not a student of this class" in problems[0][2]


def test_a_marks_sheet_needs_its_header() -> None:
    with pytest.raises(InvalidArgument, match="学号"):
        parse_marks([["S1", "88"]], {"S1": "u1"})


def test_certificate_numbers_differ() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    numbers = {rules.certificate_number(now) for _ in range(1000)}
    assert len(numbers) == 1000 and all(n.startswith("KC2026") for n in numbers)


@dataclass(frozen=True)
class FakeScored:
    """The assessments' ScoredItem as run_scores gives it."""

    item_id: str
    title: str
    category: str
    weight: float
    score: float | None


async def test_quizzes_and_the_exam_come_from_the_assessments_scores(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'grades.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    scores = {"u1": [FakeScored("q1", "测验1", "quizzes", 0, 80), FakeScored("q2", "测验2", "quizzes", 0, None),
                     FakeScored("x", "期末", "final_exam", 0, 90)],
              "u2": [FakeScored("q1", "测验1", "quizzes", 0, 100)]}  # u2 has no entry for q2 or the exam: 0

    async def run_scores(session, run_id: str) -> dict:  # type: ignore[no-untyped-def]
        assert run_id == "r1"
        return scores

    handlers = GradeHandlers(db, course=None, run_scores=lambda: run_scores)  # type: ignore[arg-type]
    context = course_pb2.LearnerContext(run=course_pb2.Run(id="r1"), nodes=[course_pb2.LearnerNode(
        node=course_pb2.PlanNode(id="v1", kind="unit", resource_id="a1", minutes=2))])
    async with db.transaction() as session:
        session.add(UnitProgress(user_id="u1", run_id="r1", unit_id="v1", duration_seconds=120,
                                 credited_seconds=120, completed_at=datetime.now(UTC)))
        session.add(GradingSchemeRow(run_id="r1", video=20, quizzes=30, assignments=10, face_to_face=10, forum=0,
                                     final_exam=30, set_by="leader"))
    students = [Student("u1", "S1", "甲", "sch"), Student("u2", "S2", "乙", "sch")]
    grades = await handlers.compute(context, "c1", students, pass_mark=60)
    # assignments and face-to-face have nothing to score: 20/30/30 of 80 -> 25%, 37.5%, 37.5%
    assert grades.counted == {"video", "quizzes", "final_exam"}
    assert grades.effective["quizzes"] == pytest.approx(37.5) and grades.effective["face_to_face"] == 0
    first, second = grades.students
    assert first.grade.scores == pytest.approx({"video": 100, "quizzes": 40, "assignments": 0, "face_to_face": 0,
                                                "forum": 0, "final_exam": 90})
    assert first.grade.total == pytest.approx(25 + 15 + 33.75) and first.grade.passed  # 73.75
    assert second.grade.scores["quizzes"] == pytest.approx(50) and second.grade.scores["final_exam"] == 0
    assert second.grade.total == pytest.approx(18.75) and not second.grade.passed
    assert [i.item_id for i in second.items] == ["q1", "q2", "x"]
    await db.dispose()
