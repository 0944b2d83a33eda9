"""The rules of assignments and peer grading (services/learning/domain/peer_review.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from servicekit.errors import FailedPrecondition, InvalidArgument
from services.learning.domain import peer_review as peer
from services.learning.domain.peer_review import Candidate, Criterion, PeerPolicy

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def candidate(sid: str, author: str, minutes: int, finished: int = 0, leased: int = 0) -> Candidate:
    return Candidate(sid, author, T0 + timedelta(minutes=minutes), finished, leased)


def test_the_queue_hands_out_the_least_reviewed_then_the_oldest() -> None:
    pool = [candidate("a", "A", 0, finished=2), candidate("b", "B", 5, finished=1), candidate("c", "C", 1, leased=1)]
    assert peer.pick(pool, "R", set(), needed=3).submission_id == "c"  # 1 (leased) ties 1 (finished): older wins
    pool.append(candidate("late", "L", 600))
    assert peer.pick(pool, "R", set(), needed=3).submission_id == "late"  # a late submitter comes first


def test_the_queue_never_gives_ones_own_or_an_already_reviewed_submission() -> None:
    pool = [candidate("mine", "R", 0), candidate("done", "B", 1), candidate("next", "C", 2, finished=2)]
    assert peer.pick(pool, "R", {"done"}, needed=3).submission_id == "next"
    assert peer.pick(pool[:2], "R", {"done"}, needed=3) is None


def test_no_submission_is_reviewed_more_than_needed_while_another_waits() -> None:
    full = candidate("full", "A", 0, finished=3)
    waiting = candidate("waiting", "B", 50, finished=2, leased=0)
    assert peer.pick([full, waiting], "R", set(), needed=3).submission_id == "waiting"
    leased_full = candidate("waiting", "B", 50, finished=2, leased=1)
    # every submission is covered: the reviewer still owes reviews, so the least reviewed goes out
    assert peer.pick([full, leased_full], "R", set(), needed=3).submission_id == "full"


def test_the_grade_is_the_median_and_a_wide_spread_goes_to_the_team() -> None:
    assert peer.peer_outcome([7.0, 9.0], 10, needed=3, spread_percent=30) == peer.PeerOutcome(peer.PENDING, None)
    assert peer.peer_outcome([7.0, 9.0, 8.0], 10, needed=3, spread_percent=30) == peer.PeerOutcome(peer.GRADED, 8.0)
    assert peer.peer_outcome([2.0, 9.0, 8.0], 10, needed=3, spread_percent=30) == \
        peer.PeerOutcome(peer.ESCALATED, 8.0)


def test_the_reviews_needed_drop_after_the_relaxation_time_but_never_to_zero() -> None:
    policy = PeerPolicy.from_policy({"peer_reviews_needed": 3, "peer_relax_after_hours": 48,
                                     "peer_relaxed_reviews_needed": 0})
    assert policy.relaxed_needed == 1
    assert policy.needed_at(T0, T0 + timedelta(hours=47)) == 3
    assert policy.needed_at(T0, T0 + timedelta(hours=48)) == 1


def test_the_policy_falls_back_to_the_defaults_and_a_penalty_not_counted_is_none() -> None:
    policy = PeerPolicy.from_policy({"peer_reviews_each": None, "pass_mark": 60, "peer_spread_percent": float("nan")})
    assert policy == PeerPolicy()
    assert PeerPolicy.from_policy({"peer_missed_review_percent": float("nan")}).missed_review_percent == 0


def test_not_reviewing_costs_a_share_of_ones_own_grade() -> None:
    assert peer.owed(5, 3) == 2 and peer.owed(5, 40) == 5 and peer.owed(5, 1) == 0
    assert peer.with_penalty(80.0, peer.missed_reviews(5, 3), 10) == pytest.approx(64.0)
    assert peer.with_penalty(80.0, 20, 10) == 0.0
    assert peer.score_of(7.5, 10) == 75.0 and peer.score_of(None, 10) is None


def test_a_rubric_and_its_scores_are_checked() -> None:
    rubric = peer.check_rubric([Criterion(" 论证 ", 6), Criterion("格式", 4)])
    assert rubric[0].title == "论证" and peer.total_points(rubric) == 10
    for bad in ([], [Criterion("", 5)], [Criterion("x", 0)], [Criterion("x", float("nan"))]):
        with pytest.raises(InvalidArgument):
            peer.check_rubric(bad)
    assert peer.check_scores(rubric, [6, 0]) == (6.0, 0.0)
    for scores in ([6], [7, 1], [-1, 1], [float("nan"), 1]):
        with pytest.raises(InvalidArgument):
            peer.check_scores(rubric, scores)


def test_submissions_open_close_and_may_be_late_until_the_cut_off() -> None:
    deadline = T0 + timedelta(days=7)
    with pytest.raises(FailedPrecondition, match="not open"):
        peer.check_submission_open(T0, deadline, None, T0 - timedelta(minutes=1))
    assert peer.check_submission_open(T0, deadline, None, T0) is False
    with pytest.raises(FailedPrecondition, match="deadline"):
        peer.check_submission_open(T0, deadline, None, deadline)
    assert peer.check_submission_open(T0, deadline, deadline + timedelta(days=1), deadline) is True
    with pytest.raises(InvalidArgument):
        peer.check_setup(peer.PEER, peer.RUN, None, deadline, deadline)
    with pytest.raises(InvalidArgument):
        peer.check_setup("vote", peer.RUN, None, deadline, None)
    with pytest.raises(FailedPrecondition, match="after the deadline"):
        peer.check_reviewing_open(peer.PEER, deadline, deadline - timedelta(seconds=1))
