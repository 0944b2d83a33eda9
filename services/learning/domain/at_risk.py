"""At-risk learners (学习预警, seed 002 annex 1 一.6: 对进度缓慢或有可能弃学的学生进行回访和提醒).

Once a day each student of a running run is measured against four rules, each with its number from the policy in
force (None: the school does not count that rule):
- inactive: no learning activity (video, quiz or exam attempts, assignment submissions) for `inactive_days`;
- behind_pace: the share of the course completed trails the share released to the class by more than
  `behind_points` (of 100);
- missed_items: `missed_items` or more graded items (quizzes, exams, assignments) whose deadline passed with
  nothing handed in;
- cannot_finish: at the pace of the last `pace_days` days the student does not reach 100% of the course hours
  before the exam (the run's exam, else the end of the term).
A flagged student is reminded at most once every `reminder_days` days; a teacher records the follow-up (回访).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from servicekit.errors import InvalidArgument

INACTIVE, BEHIND_PACE, MISSED_ITEMS, CANNOT_FINISH = "inactive", "behind_pace", "missed_items", "cannot_finish"
RULES = (INACTIVE, BEHIND_PACE, MISSED_ITEMS, CANNOT_FINISH)
DAY = timedelta(days=1)

# The platform's defaults, used only where the policy service gives no number (it always does).
DEFAULTS = {"at_risk_inactive_days": 7.0, "at_risk_behind_points": 20.0, "at_risk_missed_items": 2.0,
            "at_risk_pace_days": 14.0, "at_risk_reminder_days": 7.0}

# A follow-up (回访): how the teacher reached the student, and what came of it.
CHANNELS = ("phone", "message", "email", "in_person", "other")
OUTCOMES = ("reached", "no_answer", "plan_agreed", "resolved", "other")
MAX_NOTES = 5_000


@dataclass(frozen=True)
class Thresholds:
    inactive_days: float | None
    behind_points: float | None
    missed_items: float | None
    pace_days: float | None
    reminder_days: float

    @classmethod
    def from_policy(cls, numbers: Mapping[str, float]) -> Thresholds:
        """The policy's numbers (NaN: not counted, as the course peer gives them)."""
        def number(name: str) -> float | None:
            value = numbers.get(name, DEFAULTS[name])
            return None if value is None or math.isnan(value) else float(value)

        reminder = number("at_risk_reminder_days")
        return cls(number("at_risk_inactive_days"), number("at_risk_behind_points"), number("at_risk_missed_items"),
                   number("at_risk_pace_days"), DEFAULTS["at_risk_reminder_days"] if reminder is None else reminder)


@dataclass(frozen=True)
class Learner:
    """What the sweep measured of one student on one run (seconds of video; times in UTC)."""

    started_at: datetime            # when the student could start: joining the run, or the term's start if later
    last_activity_at: datetime | None
    completed_seconds: float        # completed units' video seconds (the course hours done)
    total_seconds: float            # the run's video seconds
    released_seconds: float         # the video seconds of the chapters released to the student's class
    recent_seconds: float           # video seconds of units completed in the last pace_days days
    missed_items: int


@dataclass(frozen=True)
class Reason:
    rule: str
    detail: str
    value: float
    limit: float


def completion_percent(learner: Learner) -> float:
    if learner.total_seconds <= 0:
        return 100.0
    return min(100.0, 100.0 * learner.completed_seconds / learner.total_seconds)


def finished(learner: Learner) -> bool:
    return learner.total_seconds > 0 and learner.completed_seconds >= learner.total_seconds - 0.001


def days_quiet(learner: Learner, now: datetime) -> float:
    """Days since the last activity (or since the student could start, when there was none)."""
    since = max(learner.last_activity_at or learner.started_at, learner.started_at)
    return max(0.0, (now - since) / DAY)


def behind_points(learner: Learner) -> float:
    """Points (of 100) the completed share trails the released share."""
    if learner.total_seconds <= 0:
        return 0.0
    released = min(100.0, 100.0 * learner.released_seconds / learner.total_seconds)
    return released - completion_percent(learner)


def projected_percent(learner: Learner, now: datetime, exam_at: datetime, pace_days: float) -> float:
    """The share of the course hours reached by the exam at the pace of the last `pace_days` days."""
    if learner.total_seconds <= 0:
        return 100.0
    per_day = learner.recent_seconds / pace_days if pace_days > 0 else 0.0
    reached = learner.completed_seconds + per_day * max(0.0, (exam_at - now) / DAY)
    return min(100.0, 100.0 * reached / learner.total_seconds)


def assess(learner: Learner, thresholds: Thresholds, now: datetime, exam_at: datetime | None) -> list[Reason]:
    """The rules the student meets today (empty: not at risk). A student who completed the course hours is not
    flagged for quiet, pace or the exam; missed graded items still count."""
    reasons: list[Reason] = []
    done = finished(learner)
    if thresholds.inactive_days is not None and not done:
        quiet = days_quiet(learner, now)
        if quiet >= thresholds.inactive_days:
            what = "no learning activity" if learner.last_activity_at is None else "no learning activity since " \
                f"{learner.last_activity_at:%Y-%m-%d}"
            reasons.append(Reason(INACTIVE, f"{what} for {int(quiet)} days (policy: {thresholds.inactive_days:g})",
                                  math.floor(quiet), thresholds.inactive_days))
    if thresholds.behind_points is not None and not done:
        behind = behind_points(learner)
        if behind > thresholds.behind_points:
            released = 100.0 * learner.released_seconds / learner.total_seconds
            reasons.append(Reason(BEHIND_PACE, f"{completion_percent(learner):.0f}% of the course hours completed "
                                  f"while {released:.0f}% is released to the class: {behind:.0f} points behind "
                                  f"(policy: more than {thresholds.behind_points:g})",
                                  round(behind, 1), thresholds.behind_points))
    if thresholds.missed_items is not None and thresholds.missed_items > 0 \
            and learner.missed_items >= thresholds.missed_items:
        reasons.append(Reason(MISSED_ITEMS, f"{learner.missed_items} graded items missed (deadline passed, nothing "
                              f"handed in; policy: {thresholds.missed_items:g} or more)",
                              learner.missed_items, thresholds.missed_items))
    if thresholds.pace_days is not None and thresholds.pace_days > 0 and not done and exam_at is not None \
            and exam_at > now and (now - learner.started_at) / DAY >= thresholds.pace_days:
        projected = projected_percent(learner, now, exam_at, thresholds.pace_days)
        if projected < 100.0 - 1e-6:
            reasons.append(Reason(CANNOT_FINISH, f"at the pace of the last {thresholds.pace_days:g} days "
                                  f"({learner.recent_seconds / 60:.1f} minutes of video) only {projected:.0f}% of "
                                  f"the course hours are reached by {exam_at:%Y-%m-%d}; 100% is required before "
                                  f"the exam", round(projected, 1), 100.0))
    return reasons


def reminder_due(last_reminded_on: date | None, today: date, thresholds: Thresholds) -> bool:
    """At most one reminder every `reminder_days` days."""
    return last_reminded_on is None or (today - last_reminded_on).days >= thresholds.reminder_days


def missed(due_at: datetime | None, handed_in: bool, available_from: datetime, now: datetime) -> bool:
    """A graded item is missed when its deadline passed with nothing handed in, and the student was on the run
    before the deadline."""
    return due_at is not None and not handed_in and available_from < due_at <= now


def check_follow_up(contacted_on: str, channel: str, outcome: str, notes: str, today: date) -> date:
    """The follow-up's date (not in the future) and its choices; returns the date."""
    try:
        when = date.fromisoformat(contacted_on)
    except ValueError as error:
        raise InvalidArgument("contacted_on is a date YYYY-MM-DD", reason="BAD_FOLLOW_UP") from error
    if when > today:
        raise InvalidArgument(f"a follow-up is recorded after it happened: {when} is after today ({today})",
                              reason="BAD_FOLLOW_UP")
    if channel not in CHANNELS:
        raise InvalidArgument(f"channel is one of {', '.join(CHANNELS)}", reason="BAD_FOLLOW_UP")
    if outcome not in OUTCOMES:
        raise InvalidArgument(f"outcome is one of {', '.join(OUTCOMES)}", reason="BAD_FOLLOW_UP")
    if not notes.strip():
        raise InvalidArgument("notes say what was discussed", reason="BAD_FOLLOW_UP")
    if len(notes) > MAX_NOTES:
        raise InvalidArgument(f"notes have at most {MAX_NOTES} characters", reason="BAD_FOLLOW_UP")
    return when
