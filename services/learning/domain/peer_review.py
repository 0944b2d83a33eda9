"""Assignments (作业) and peer grading (同伴互评), seed 002 annex 1 三.10: an assignment is graded by the run's team on
a rubric, or by the students themselves.

Peer grading: after the deadline every student who submitted reviews `reviews_each` others, and every submission
needs `reviews_needed` reviews, anonymous both ways, scored on the rubric with comments. Reviews are handed out from
a queue — the submission with the fewest finished or leased reviews first, the oldest among equals — so a late
submitter or a quiet class is never left unreviewed while others collect extra reviews; a lease that runs out goes
back to the queue. The grade is the median of the finished reviews; reviews that disagree by more than a share of the
points go to the team; after a while the number of reviews needed drops (never to zero); a student who does not do
their reviews loses a share of their own grade per missing review. The team can always set a grade, with a reason.

The numbers come from the policy in force for the run's school and term (course service), these are the defaults.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from servicekit.errors import FailedPrecondition, InvalidArgument
from servicekit.text import check_text

TEAM, PEER = "team", "peer"
GRADING_MODES = (TEAM, PEER)
RUN, CLASS = "run", "class"
POOLS = (RUN, CLASS)

MAX_TITLE = 200
MAX_BRIEF = 20_000
MAX_ANSWER = 50_000
MAX_COMMENT = 5_000
MAX_REASON = 1_000
MAX_CRITERIA = 20
MAX_CRITERION_POINTS = 1_000.0

# Attachments: at most this many per submission, each at most this big, of these kinds (checked on the bytes).
MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Criterion:
    title: str
    points: float
    description: str = ""


@dataclass(frozen=True)
class PeerPolicy:
    reviews_each: int = 5           # reviews a student who submitted does
    reviews_needed: int = 3         # finished reviews a submission needs for its grade
    lease_hours: float = 4          # how long a handed-out review stays the reviewer's
    spread_percent: float = 30      # reviews disagreeing by more than this share of the points go to the team
    relax_after_hours: float = 72   # after the deadline + this, a submission needs only `relaxed_needed` reviews
    relaxed_needed: int = 1         # never zero
    missed_review_percent: float = 10  # a student's own grade loses this share per review not done

    @classmethod
    def from_policy(cls, values: Mapping[str, float | str | None]) -> PeerPolicy:
        """The policy's numbers (missing or not counted: the defaults), checked to make sense together."""

        def number(name: str, default: float) -> float:
            value = values.get(name)
            return default if not isinstance(value, int | float) or math.isnan(value) else float(value)

        defaults = cls()
        penalty = values.get("peer_missed_review_percent", defaults.missed_review_percent)
        needed = max(1, int(number("peer_reviews_needed", defaults.reviews_needed)))
        return cls(
            reviews_each=max(1, int(number("peer_reviews_each", defaults.reviews_each))),
            reviews_needed=needed,
            lease_hours=max(0.1, number("peer_lease_hours", defaults.lease_hours)),
            spread_percent=max(0.0, number("peer_spread_percent", defaults.spread_percent)),
            relax_after_hours=max(0.0, number("peer_relax_after_hours", defaults.relax_after_hours)),
            relaxed_needed=min(needed, max(1, int(number("peer_relaxed_reviews_needed", defaults.relaxed_needed)))),
            # a policy that does not count the penalty (None, or NaN as the course service sends it) has none
            missed_review_percent=0.0 if penalty is None or (isinstance(penalty, float) and math.isnan(penalty))
            else min(100.0, max(0.0, number("peer_missed_review_percent", defaults.missed_review_percent))),
        )

    def needed_at(self, deadline: datetime, now: datetime) -> int:
        """Reviews a submission needs now: all of them, then fewer once the relaxation time has passed."""
        if now >= deadline + timedelta(hours=self.relax_after_hours):
            return self.relaxed_needed
        return self.reviews_needed


# ---- what a team sets ------------------------------------------------------------------------------------------

def check_rubric(criteria: Sequence[Criterion]) -> tuple[Criterion, ...]:
    """One to MAX_CRITERIA criteria, each titled, each worth a positive number of points."""
    if not criteria:
        raise InvalidArgument("a rubric has at least one criterion (what is scored, and how many points)",
                              reason="RUBRIC_EMPTY")
    if len(criteria) > MAX_CRITERIA:
        raise InvalidArgument(f"a rubric has at most {MAX_CRITERIA} criteria")
    checked = []
    for number, criterion in enumerate(criteria, start=1):
        title = check_text(criterion.title, f"criterion {number}'s title", MAX_TITLE)
        if math.isnan(criterion.points) or not 0 < criterion.points <= MAX_CRITERION_POINTS:
            raise InvalidArgument(f"criterion {number} ({title}) is worth more than 0 and at most "
                                  f"{MAX_CRITERION_POINTS:g} points", reason="BAD_POINTS")
        checked.append(Criterion(title, float(criterion.points), check_text(criterion.description,
                                                                            "a description", MAX_BRIEF, False)))
    return tuple(checked)


def check_setup(grading_mode: str, pool: str, opens_at: datetime | None, deadline: datetime,
                late_until: datetime | None) -> None:
    if grading_mode not in GRADING_MODES:
        raise InvalidArgument(f"the grading mode is one of {', '.join(GRADING_MODES)}", reason="BAD_GRADING_MODE")
    if pool not in POOLS:
        raise InvalidArgument(f"the peer pool is one of {', '.join(POOLS)} (the whole run across schools, or each "
                              "class on its own)", reason="BAD_POOL")
    if opens_at is not None and opens_at >= deadline:
        raise InvalidArgument("the assignment opens before its deadline")
    if late_until is not None and late_until <= deadline:
        raise InvalidArgument("late submissions are accepted until a time after the deadline")


def total_points(criteria: Iterable[Criterion]) -> float:
    return sum(c.points for c in criteria)


def check_scores(criteria: Sequence[Criterion], scores: Sequence[float]) -> tuple[float, ...]:
    """One score per criterion, each from 0 to the criterion's points."""
    if len(scores) != len(criteria):
        raise InvalidArgument(f"score each of the rubric's {len(criteria)} criteria (got {len(scores)} scores)",
                              reason="SCORES_DO_NOT_MATCH_RUBRIC")
    for criterion, score in zip(criteria, scores, strict=True):
        if math.isnan(score) or not 0 <= score <= criterion.points:
            raise InvalidArgument(f"{criterion.title} is scored from 0 to {criterion.points:g} (got {score:g})",
                                  reason="BAD_SCORE")
    return tuple(float(s) for s in scores)


# ---- the student's side -----------------------------------------------------------------------------------------

def check_submission_open(opens_at: datetime | None, deadline: datetime, late_until: datetime | None,
                          now: datetime) -> bool:
    """Whether a submission now is late (after the deadline, before the late cut-off the team allowed); refused
    before the assignment opens and after the last cut-off."""
    if opens_at is not None and now < opens_at:
        raise FailedPrecondition("the assignment is not open yet", reason="NOT_OPEN_YET")
    if now < deadline:
        return False
    if late_until is not None and now < late_until:
        return True
    raise FailedPrecondition("the deadline has passed; the submission can no longer change", reason="DEADLINE_PASSED")


def check_reviewing_open(grading_mode: str, deadline: datetime, now: datetime) -> None:
    if grading_mode != PEER:
        raise FailedPrecondition("this assignment is graded by the team, not by peers", reason="NOT_PEER_GRADED")
    if now < deadline:
        raise FailedPrecondition("peer reviews start after the deadline", reason="REVIEWS_NOT_OPEN")


# ---- the queue ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    submission_id: str
    author_id: str
    submitted_at: datetime
    finished: int    # finished reviews
    leased: int      # reviews handed out whose lease has not run out


def pick(candidates: Iterable[Candidate], reviewer_id: str, already: set[str], needed: int) -> Candidate | None:
    """The submission the reviewer reviews next: never their own nor one they have reviewed; among those that
    still need reviews (finished + leased < needed), the one with the fewest, oldest first; only when none waits,
    the least reviewed of the rest (the reviewer still owes reviews and every submission is covered)."""
    eligible = [c for c in candidates if c.author_id != reviewer_id and c.submission_id not in already]
    if not eligible:
        return None

    def order(c: Candidate) -> tuple[int, datetime, str]:
        return c.finished + c.leased, c.submitted_at, c.submission_id

    waiting = [c for c in eligible if c.finished + c.leased < needed]
    return min(waiting or eligible, key=order)


# ---- the grade ---------------------------------------------------------------------------------------------------

PENDING, GRADED, ESCALATED = "pending", "graded", "escalated"


@dataclass(frozen=True)
class PeerOutcome:
    state: str                 # pending (not enough reviews yet), graded, escalated (to the team)
    points: float | None       # the median of the reviews' totals (before any penalty)


def peer_outcome(totals: Sequence[float], max_points: float, needed: int, spread_percent: float) -> PeerOutcome:
    """The grade from finished reviews: the median once there are enough; reviews that disagree by more than the
    spread go to the team."""
    if len(totals) < needed or not totals:
        return PeerOutcome(PENDING, None)
    median = float(statistics.median(totals))
    if max(totals) - min(totals) > max_points * spread_percent / 100:
        return PeerOutcome(ESCALATED, median)
    return PeerOutcome(GRADED, median)


def owed(reviews_each: int, submissions_in_pool: int) -> int:
    """Reviews a student who submitted owes: the policy's number, or every other submission of a smaller pool."""
    return min(reviews_each, max(0, submissions_in_pool - 1))


def missed_reviews(owes: int, done: int) -> int:
    return max(0, owes - done)


def with_penalty(points: float, missed: int, percent_each: float) -> float:
    """A student's own points after the penalty for reviews not done (never below 0)."""
    return max(0.0, points * (1 - min(1.0, missed * percent_each / 100)))


def score_of(points: float | None, max_points: float) -> float | None:
    """Points as a 0..100 score for the gradebook."""
    if points is None or max_points <= 0:
        return None
    return round(min(100.0, max(0.0, points * 100 / max_points)), 2)
