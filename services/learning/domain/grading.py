"""A course's grade (seed 002 五(四)): six categories with integer weights summing to 100, published before the run
starts and frozen once it is approved; items weigh equally within a category unless set otherwise; a student
passes at the policy's pass mark; those who pass get a certificate (课程学习考核合格证, 四(九))."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from servicekit.errors import FailedPrecondition, InvalidArgument

VIDEO, QUIZZES, ASSIGNMENTS, FACE_TO_FACE, FORUM, FINAL_EXAM = (
    "video", "quizzes", "assignments", "face_to_face", "forum", "final_exam")
CATEGORIES = (VIDEO, QUIZZES, ASSIGNMENTS, FACE_TO_FACE, FORUM, FINAL_EXAM)
CATEGORY_NAMES = {VIDEO: "视频学习进度", QUIZZES: "章节测试", ASSIGNMENTS: "平时作业", FACE_TO_FACE: "见面课",
                  FORUM: "论坛讨论", FINAL_EXAM: "期末考试"}
WEIGHT_TOTAL = 100

# A run whose leader set no scheme is graded by this one (and students see it as the default): video progress and
# the final exam carry most, as in the seeds' course rules; forum activity is not graded until the leader says so.
DEFAULT_WEIGHTS: dict[str, int] = {VIDEO: 30, QUIZZES: 20, ASSIGNMENTS: 10, FACE_TO_FACE: 10, FORUM: 0,
                                   FINAL_EXAM: 30}
DEFAULT_PASS_MARK = 60.0

# The scheme is the leader's until the school admin approves the run; students see it from the first day.
EDITABLE_RUN_STATES = ("draft", "pending_review", "rejected")
# The results are final once the run teaches (after its final exam) or has ended.
FINALISABLE_RUN_STATES = ("running", "ended")

MARK_MIN, MARK_MAX = 0.0, 100.0
MAX_SESSION_TITLE = 100
MAX_ITEM_WEIGHT = 1000.0


def check_weights(weights: Mapping[str, int]) -> dict[str, int]:
    """Every category, an integer 0..100, summing to 100; else InvalidArgument naming what is wrong."""
    unknown = sorted(set(weights) - set(CATEGORIES))
    if unknown:
        raise InvalidArgument(f"unknown categories {', '.join(unknown)}; use {', '.join(CATEGORIES)}",
                              reason="UNKNOWN_CATEGORY")
    checked = {c: weights.get(c, 0) for c in CATEGORIES}
    for category, weight in checked.items():
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= WEIGHT_TOTAL:
            raise InvalidArgument(f"the weight of {category} is a whole number from 0 to 100 (got {weight!r})",
                                  reason="BAD_WEIGHT")
    total = sum(checked.values())
    if total != WEIGHT_TOTAL:
        raise InvalidArgument(f"the weights sum to {total}; they must sum to exactly {WEIGHT_TOTAL}",
                              reason="WEIGHTS_NOT_100")
    return checked


def check_scheme_editable(run_state: str) -> None:
    if run_state not in EDITABLE_RUN_STATES:
        raise FailedPrecondition(f"the grading scheme is frozen since the run was approved (the run is {run_state}); "
                                 "students were told it before the course started", reason="SCHEME_FROZEN")


def check_finalisable(run_state: str) -> None:
    if run_state not in FINALISABLE_RUN_STATES:
        raise FailedPrecondition(f"the run is {run_state}; results are finalised once it runs (after its final "
                                 "exam) or when it has ended", reason="RUN_NOT_STARTED")


def pass_mark_of(policy: Mapping[str, float]) -> float:
    """The policy's pass mark; a policy without one (or that does not count it) uses the default 60."""
    mark = policy.get("pass_mark", DEFAULT_PASS_MARK)
    return DEFAULT_PASS_MARK if mark is None or math.isnan(mark) else float(mark)


def check_mark(text: str) -> float:
    """A face-to-face mark as typed in a sheet: a number from 0 to 100."""
    try:
        mark = float(text)
    except ValueError:
        raise InvalidArgument(f"the mark {text!r} is not a number") from None
    if math.isnan(mark) or not MARK_MIN <= mark <= MARK_MAX:
        raise InvalidArgument(f"the mark {text!r} is outside 0..100")
    return mark


def check_item_weight(weight: float) -> float:
    """An item's weight within its category: 0 (unset) means 1, so items weigh equally unless set otherwise."""
    if math.isnan(weight) or weight < 0 or weight > MAX_ITEM_WEIGHT:
        raise InvalidArgument(f"an item's weight is from 0 (equal) to {MAX_ITEM_WEIGHT:g}", reason="BAD_WEIGHT")
    return weight or 1.0


@dataclass(frozen=True)
class Item:
    """One scored thing of a category (a quiz, the exam, a face-to-face session); score None: not done (0)."""

    category: str
    item_id: str
    title: str
    weight: float
    score: float | None


def category_score(items: Iterable[Item]) -> float:
    """The weighted mean of the items' scores (unset weights, 0 or None, weigh 1; a missing score counts 0)."""
    total_weight = total = 0.0
    for item in items:
        weight = item.weight if item.weight and item.weight > 0 else 1.0
        total_weight += weight
        total += weight * min(MARK_MAX, max(MARK_MIN, item.score or 0.0))
    return total / total_weight if total_weight else 0.0


def effective_weights(weights: Mapping[str, int], counted: Iterable[str]) -> dict[str, float]:
    """The weights applied: a category with nothing to score in the class (no quiz set, no face-to-face session
    held, assignments and forum not graded yet) is left out and the others are scaled back to 100. Scoring such a
    category 0 would take its share away from every student for work that was never set, and make the pass mark
    unreachable for a course that, say, held no face-to-face session; the scheme's proportions stay as published."""
    present = [c for c in CATEGORIES if c in set(counted) and weights.get(c, 0) > 0]
    base = sum(weights[c] for c in present)
    return {c: (weights[c] * WEIGHT_TOTAL / base if c in present else 0.0) for c in CATEGORIES}


@dataclass(frozen=True)
class Grade:
    scores: dict[str, float]     # every category's score 0..100 (0 when it has nothing to score)
    weights: dict[str, float]    # the effective weights (percent)
    total: float
    passed: bool


def grade(scores: Mapping[str, float], weights: Mapping[str, float], pass_mark: float) -> Grade:
    """The course result: sum of score x effective weight / 100, to two decimals; passed at or above the mark."""
    total = round(sum(scores.get(c, 0.0) * weights.get(c, 0.0) for c in CATEGORIES) / WEIGHT_TOTAL + 1e-9, 2)
    return Grade({c: round(scores.get(c, 0.0), 2) for c in CATEGORIES}, dict(weights), total, total >= pass_mark)


def certificate_number(issued_at: datetime) -> str:
    """A certificate's number: the year and a random part (unique in the table; checked there)."""
    return f"KC{issued_at:%Y}{uuid.uuid4().hex[:10].upper()}"
