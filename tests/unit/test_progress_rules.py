"""Video progress counts only time really watched (seed 002 五(三))."""

from __future__ import annotations

from services.learning.domain import progress as rules
from services.learning.domain.progress import Report, UnitState


def state(duration: float = 600, elapsed: float = 10_000, intervals=None) -> UnitState:  # type: ignore[no-untyped-def]
    return UnitState(duration=duration, intervals=list(intervals or []), last_seq=0, claimed_seconds=0.0,
                     elapsed_seconds=elapsed)


def test_watching_from_the_start_is_credited_segment_by_segment() -> None:
    unit = state()
    assert unit.apply(Report(1, 0, 10)).added_seconds == 10
    assert unit.apply(Report(2, 10, 25)).added_seconds == 15
    assert unit.credited == 25


def test_skipping_ahead_past_unwatched_time_earns_nothing_until_the_gap_is_watched() -> None:
    unit = state()
    unit.apply(Report(1, 0, 10))
    skipped = unit.apply(Report(2, 300, 310))
    assert not skipped.credited and skipped.refusal.startswith("skipped ahead: watch from 0:10")
    assert unit.credited == 10
    # Watching the gap later credits it, and the segment seen after the seek joins on.
    filled = unit.apply(Report(3, 10, 300))
    assert filled.credited and unit.credited == 310


def test_rewatching_adds_nothing() -> None:
    unit = state()
    unit.apply(Report(1, 0, 60))
    again = unit.apply(Report(2, 0, 60))
    assert again.credited and again.added_seconds == 0 and unit.credited == 60


def test_a_segment_longer_than_the_clock_allows_at_double_speed_is_refused() -> None:
    unit = state(elapsed=10)  # ten seconds since the play started: 20 s at 2x, plus the tolerance
    assert unit.apply(Report(1, 0, 20)).credited
    too_fast = unit.apply(Report(2, 20, 40))
    assert not too_fast.credited and "faster than the clock" in too_fast.refusal
    assert unit.credited == 20


def test_time_played_while_the_page_was_hidden_is_not_credited() -> None:
    unit = state()
    hidden = unit.apply(Report(1, 0, 10, hidden=True))
    assert not hidden.credited and hidden.refusal == rules.HIDDEN and unit.credited == 0


def test_a_sequence_number_sent_again_is_answered_once() -> None:
    unit = state()
    unit.apply(Report(1, 0, 10))
    duplicate = unit.apply(Report(1, 0, 10))
    assert duplicate.refusal == rules.DUPLICATE and unit.claimed_seconds == 10


def test_segments_outside_the_video_or_backwards_are_refused() -> None:
    unit = state(duration=60)
    assert unit.apply(Report(1, 10, 5)).refusal == rules.OUT_OF_RANGE
    assert unit.apply(Report(2, 100, 110)).refusal == rules.OUT_OF_RANGE
    clipped = unit.apply(Report(3, 0, 70))  # past the end: only the video's length counts
    assert clipped.credited and unit.credited == 60


def test_a_unit_is_complete_when_all_but_the_slack_is_watched() -> None:
    assert rules.is_complete(596, 600, 5)
    assert not rules.is_complete(594, 600, 5)
    # A short video is forgiven 5% at most, and nothing watched is never complete.
    assert not rules.is_complete(0, 4, 5) and not rules.is_complete(3.7, 4, 5) and rules.is_complete(3.8, 4, 5)


def test_intervals_merge_and_the_prefix_starts_at_zero() -> None:
    assert rules.merge([(10, 20), (0, 11), (30, 40)]) == [(0, 20), (30, 40)]
    assert rules.watched_prefix([(5, 20)]) == 0
    assert rules.watched_prefix([(1, 20)]) == 20  # a player starting at 1 s still starts at the beginning
    assert rules.load(rules.dump([(0, 1.23456)])) == [(0, 1.235)]
