"""Student evaluation of teaching (网上评教), seed 002 四(七): at the end of a run its students rate it once with
their school's questionnaire, anonymously; the run's score is the mean rating × 20 (of 100), graded 优秀 / 良好 /
中等 / 合格 / 不合格; a course rated below good (良好) for `evaluation_terms_below` terms in a row is flagged to its
school, which may stop it from opening new runs until it is rectified (整改完毕; the course service keeps the stop).

The window: from `OPENS_DAYS_BEFORE_END` days before the last day of the run's term until `CLOSES_DAYS_AFTER_END`
days after it (a run ends with its term). When the window closes the run's score is final and counts for its term.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from servicekit.errors import FailedPrecondition, InvalidArgument
from servicekit.text import check_text

MIN_RATING, MAX_RATING = 1, 5
SCORE_PER_RATING_POINT = 20  # a mean rating of 5 is 100
MAX_ITEMS = 30
MAX_ITEM_TEXT = 300
MAX_COMMENT = 2_000
MAX_TITLE = 100

OPENS_DAYS_BEFORE_END = 14   # the last two weeks of the term
CLOSES_DAYS_AFTER_END = 14   # and two weeks after the run ended

# Grade codes and their names (the seed's words). 良好's threshold is the policy's evaluation_good_score.
EXCELLENT, GOOD, FAIR, PASS, FAIL = "excellent", "good", "fair", "pass", "fail"
GRADE_NAMES = {EXCELLENT: "优秀", GOOD: "良好", FAIR: "中等", PASS: "合格", FAIL: "不合格"}
EXCELLENT_SCORE = 90.0
FAIR_SCORE = 70.0
PASS_SCORE = 60.0
DEFAULT_GOOD_SCORE = 80.0
DEFAULT_TERMS_BELOW = 2

# The questionnaire of a school that has not set its own (and of public learners, who have no school).
DEFAULT_TITLE = "学生网上评教"
DEFAULT_ITEMS = (
    "教师教学态度认真，按时发布课程内容和通知",
    "课程内容充实，讲解清楚，重点难点突出",
    "作业、测验与讨论有助于掌握课程内容",
    "教师（含辅导教师）及时答疑、批改作业",
    "总体而言，我对本课程的教学感到满意",
)


@dataclass(frozen=True)
class Window:
    opens_at: datetime
    closes_at: datetime

    def check_open(self, now: datetime) -> None:
        if now < self.opens_at:
            raise FailedPrecondition(f"evaluation of this run opens on {self.opens_at.date().isoformat()} "
                                     f"(the last {OPENS_DAYS_BEFORE_END} days of its term)",
                                     reason="EVALUATION_NOT_OPEN")
        if now >= self.closes_at:
            raise FailedPrecondition(f"evaluation of this run closed on {self.closes_at.date().isoformat()}",
                                     reason="EVALUATION_CLOSED")


def window(term_ends_on: date) -> Window:
    """The run's evaluation window, in UTC days: its term's last `OPENS_DAYS_BEFORE_END` days (the last day
    included) and `CLOSES_DAYS_AFTER_END` days after it."""
    end = datetime.combine(term_ends_on, time(), UTC) + timedelta(days=1)  # the end of the term's last day
    return Window(end - timedelta(days=OPENS_DAYS_BEFORE_END), end + timedelta(days=CLOSES_DAYS_AFTER_END))


def check_items(items: Sequence[str]) -> list[str]:
    """A questionnaire's items: 1..MAX_ITEMS statements, each rated 1–5 by the students."""
    if not items:
        raise InvalidArgument("a questionnaire needs at least one item", reason="QUESTIONNAIRE_EMPTY")
    if len(items) > MAX_ITEMS:
        raise InvalidArgument(f"a questionnaire has at most {MAX_ITEMS} items", reason="QUESTIONNAIRE_TOO_LONG")
    checked = [check_text(item, f"item {n}", MAX_ITEM_TEXT) for n, item in enumerate(items, 1)]
    if len(set(checked)) != len(checked):
        raise InvalidArgument("two items of the questionnaire are the same", reason="QUESTIONNAIRE_DUPLICATE_ITEM")
    return checked


def check_ratings(ratings: Sequence[int], items: int) -> list[int]:
    """One whole rating 1..5 per item, none skipped."""
    if len(ratings) != items:
        raise InvalidArgument(f"rate each of the {items} items (got {len(ratings)} ratings)",
                              reason="RATINGS_COUNT")
    for n, rating in enumerate(ratings, 1):
        if rating != int(rating) or not MIN_RATING <= rating <= MAX_RATING:
            raise InvalidArgument(f"item {n}: a rating is a whole number from {MIN_RATING} to {MAX_RATING}",
                                  reason="RATING_OUT_OF_RANGE")
    return [int(r) for r in ratings]


def check_comment(comment: str) -> str:
    return check_text(comment, "the comment", MAX_COMMENT, required=False)


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else math.nan


def score(answer_means: Iterable[float]) -> float | None:
    """The score of 100 of a set of answers: the mean of the answers' mean ratings × 20 (each student counts once,
    however many items their school's questionnaire has); None without answers."""
    average = mean(answer_means)
    return None if math.isnan(average) else round(average * SCORE_PER_RATING_POINT, 2)


def grade(value: float, good_score: float = DEFAULT_GOOD_SCORE) -> str:
    """优秀 ≥ 90, 良好 ≥ the policy's good score, 中等 ≥ 70, 合格 ≥ 60, else 不合格."""
    if value >= EXCELLENT_SCORE:
        return EXCELLENT
    if value >= good_score:
        return GOOD
    if value >= FAIR_SCORE:
        return FAIR
    if value >= PASS_SCORE:
        return PASS
    return FAIL


def below_good(value: float, good_score: float) -> bool:
    return value < min(good_score, EXCELLENT_SCORE)


@dataclass(frozen=True)
class TermResult:
    term_code: str
    term_ends_on: date
    score: float
    good_score: float

    @property
    def below_good(self) -> bool:
        return below_good(self.score, self.good_score)


def course_flagged(results: Iterable[TermResult], terms_below: int = DEFAULT_TERMS_BELOW) -> list[TermResult]:
    """The terms that flag a course: its last `terms_below` evaluated terms (terms whose evaluation closed with at
    least one answer), when each of them is below good; else none. A term without evaluation (no run, or no
    answers) neither breaks nor extends the row."""
    ordered = sorted(results, key=lambda r: (r.term_ends_on, r.term_code))
    needed = max(1, int(terms_below))
    last = ordered[-needed:]
    return last if len(last) == needed and all(r.below_good for r in last) else []
