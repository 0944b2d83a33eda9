"""The at-risk rules (seed 002 annex 1 一.6), each with the policy's number, and the reminder's spacing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from servicekit.errors import InvalidArgument
from services.learning.domain import at_risk as rules

NOW = datetime(2027, 4, 1, 12, tzinfo=UTC)
POLICY = rules.Thresholds.from_policy({"at_risk_inactive_days": 7, "at_risk_behind_points": 20,
                                       "at_risk_missed_items": 2, "at_risk_pace_days": 14,
                                       "at_risk_reminder_days": 7})
EXAM = NOW + timedelta(days=30)


def learner(**changes: object) -> rules.Learner:
    values: dict = dict(started_at=NOW - timedelta(days=30), last_activity_at=NOW - timedelta(days=1),
                        completed_seconds=600.0, total_seconds=1000.0, released_seconds=600.0,
                        recent_seconds=300.0, missed_items=0)
    values.update(changes)
    return rules.Learner(**values)


def rule_names(reasons: list[rules.Reason]) -> list[str]:
    return [r.rule for r in reasons]


def test_a_student_keeping_up_is_not_flagged() -> None:
    assert rules.assess(learner(), POLICY, NOW, EXAM) == []


def test_seven_days_without_activity_flag_a_student() -> None:
    assert rule_names(rules.assess(learner(last_activity_at=NOW - timedelta(days=7)), POLICY, NOW, EXAM)) == [
        rules.INACTIVE]
    assert rules.assess(learner(last_activity_at=NOW - timedelta(days=6, hours=23)), POLICY, NOW, EXAM) == []


def test_a_student_who_never_started_is_quiet_since_joining() -> None:
    fresh = learner(started_at=NOW - timedelta(days=3), last_activity_at=None, completed_seconds=0,
                    released_seconds=0, recent_seconds=0)
    assert rules.assess(fresh, POLICY, NOW, EXAM) == []
    quiet = learner(started_at=NOW - timedelta(days=8), last_activity_at=None, completed_seconds=0,
                    released_seconds=0, recent_seconds=0)
    reasons = rules.assess(quiet, POLICY, NOW, EXAM)
    assert rule_names(reasons) == [rules.INACTIVE] and reasons[0].value == 8


def test_more_than_twenty_points_behind_the_released_share_flags_a_student() -> None:
    assert rules.assess(learner(completed_seconds=400, recent_seconds=400), POLICY, NOW, EXAM) == []  # 20: not more
    reasons = rules.assess(learner(completed_seconds=390, recent_seconds=390), POLICY, NOW, EXAM)
    assert rule_names(reasons) == [rules.BEHIND_PACE] and reasons[0].value == 21.0


def test_two_missed_graded_items_flag_a_student() -> None:
    assert rules.assess(learner(missed_items=1), POLICY, NOW, EXAM) == []
    assert rule_names(rules.assess(learner(missed_items=2), POLICY, NOW, EXAM)) == [rules.MISSED_ITEMS]


def test_a_pace_that_misses_full_course_hours_before_the_exam_flags_a_student() -> None:
    # 400 s left, 30 days to go: 14 days that completed 140 s (10 s a day) reach only 300 s more.
    slow = learner(completed_seconds=600, released_seconds=600, recent_seconds=140)
    reasons = rules.assess(slow, POLICY, NOW, EXAM)
    assert rule_names(reasons) == [rules.CANNOT_FINISH] and reasons[0].value == 90.0
    assert rules.assess(learner(recent_seconds=200), POLICY, NOW, EXAM) == []  # 200/14*30 = 428 s: enough


def test_the_pace_is_judged_only_after_a_whole_window_on_the_run() -> None:
    new = learner(started_at=NOW - timedelta(days=10), recent_seconds=0)
    assert rules.assess(new, POLICY, NOW, EXAM) == []


def test_the_pace_rule_stops_at_the_exam() -> None:
    assert rules.assess(learner(recent_seconds=0), POLICY, NOW, NOW - timedelta(hours=1)) == []
    assert rules.assess(learner(recent_seconds=0), POLICY, NOW, None) == []


def test_a_student_who_completed_the_course_hours_is_flagged_only_for_missed_items() -> None:
    done = learner(completed_seconds=1000, released_seconds=1000, last_activity_at=NOW - timedelta(days=20),
                   recent_seconds=0, missed_items=3)
    assert rule_names(rules.assess(done, POLICY, NOW, EXAM)) == [rules.MISSED_ITEMS]


def test_a_rule_the_policy_does_not_count_flags_nobody() -> None:
    none = rules.Thresholds.from_policy({"at_risk_inactive_days": float("nan"), "at_risk_behind_points": 20,
                                         "at_risk_missed_items": float("nan"), "at_risk_pace_days": float("nan"),
                                         "at_risk_reminder_days": 7})
    idle = learner(last_activity_at=NOW - timedelta(days=60), missed_items=5, recent_seconds=0)
    assert rules.assess(idle, none, NOW, EXAM) == []


def test_all_four_rules_at_once_each_say_why() -> None:
    worst = learner(last_activity_at=None, completed_seconds=0, recent_seconds=0, missed_items=2)
    reasons = rules.assess(worst, POLICY, NOW, EXAM)
    assert rule_names(reasons) == list(rules.RULES)
    assert all(r.detail for r in reasons)


def test_a_flagged_student_is_reminded_at_most_once_in_the_policys_days() -> None:
    today = NOW.date()
    assert rules.reminder_due(None, today, POLICY)
    assert not rules.reminder_due(today - timedelta(days=6), today, POLICY)
    assert rules.reminder_due(today - timedelta(days=7), today, POLICY)


def test_an_item_is_missed_only_when_its_deadline_passed_after_the_student_joined() -> None:
    joined = NOW - timedelta(days=10)
    assert rules.missed(NOW - timedelta(days=1), False, joined, NOW)
    assert not rules.missed(NOW - timedelta(days=1), True, joined, NOW)  # handed in
    assert not rules.missed(NOW + timedelta(days=1), False, joined, NOW)  # not due yet
    assert not rules.missed(NOW - timedelta(days=11), False, joined, NOW)  # closed before they came
    assert not rules.missed(None, False, joined, NOW)  # no deadline


@pytest.mark.parametrize(("contacted_on", "channel", "outcome", "notes", "problem"), [
    ("2027-04-02", "phone", "reached", "talked", "after today"),
    ("04/01/2027", "phone", "reached", "talked", "YYYY-MM-DD"),
    ("2027-04-01", "pigeon", "reached", "talked", "channel"),
    ("2027-04-01", "phone", "fine", "talked", "outcome"),
    ("2027-04-01", "phone", "reached", "  ", "notes"),
])
def test_a_follow_up_needs_a_past_date_a_known_channel_and_outcome_and_notes(
        contacted_on: str, channel: str, outcome: str, notes: str, problem: str) -> None:
    with pytest.raises(InvalidArgument, match=problem):
        rules.check_follow_up(contacted_on, channel, outcome, notes, NOW.date())
    assert rules.check_follow_up("2027-03-30", "phone", "reached", "talked", NOW.date()) == date(2027, 3, 30)
