"""Course runs (子课): their states and terms, team permissions, the public class, chapter release."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from servicekit.errors import FailedPrecondition, InvalidArgument

DRAFT = "draft"
PENDING_REVIEW = "pending_review"
PUBLISHED = "published"
RUNNING = "running"
ENDED = "ended"
REJECTED = "rejected"
TAKEN_DOWN = "taken_down"
RUN_STATES = (DRAFT, PENDING_REVIEW, PUBLISHED, RUNNING, ENDED, REJECTED, TAKEN_DOWN)

TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({PENDING_REVIEW}),  # the publish request
    REJECTED: frozenset({PENDING_REVIEW}),  # fixed and resubmitted
    PENDING_REVIEW: frozenset({PUBLISHED, REJECTED}),  # the school admin's decision
    PUBLISHED: frozenset({RUNNING, ENDED, TAKEN_DOWN}),  # ended: the term passed before anyone marked it running
    RUNNING: frozenset({ENDED, TAKEN_DOWN}),
    ENDED: frozenset(),
    TAKEN_DOWN: frozenset(),
}


def check_transition(current: str, target: str) -> None:
    for state in (current, target):
        if state not in RUN_STATES:
            raise InvalidArgument(
                f"unknown run state {state!r}; use one of {', '.join(RUN_STATES)}", reason="UNKNOWN_RUN_STATE"
            )
    if target not in TRANSITIONS[current]:
        raise FailedPrecondition(f"a run that is {current} cannot become {target}", reason="BAD_RUN_TRANSITION")


def state_on(state: str, term_start: date, term_end: date, today: date) -> str:
    """The state a run is in on `today`: published runs start with their term, and end after it (inclusive)."""
    if state in (PUBLISHED, RUNNING) and today > term_end:
        return ENDED
    if state == PUBLISHED and today >= term_start:
        return RUNNING
    return state


APPROVED_STATES = (PUBLISHED, RUNNING)  # the school admin approved it and its term is not over


def check_takes_students(state: str, action: str) -> None:
    """Only an approved run takes students: joining, roster additions and imports, chapter releases.
    A draft, pending, rejected, taken-down or ended run is refused, with the state it is in."""
    if state not in APPROVED_STATES:
        raise FailedPrecondition(
            f"the run is {state}; {action} only on a run the school admin approved (published or running)",
            reason="RUN_NOT_APPROVED",
        )


def has_ended(state: str, term_end: date, today: date) -> bool:
    """An approved run whose term is over has ended (and is marked so, once)."""
    return state in APPROVED_STATES and today > term_end


# --- terms ---------------------------------------------------------------------------------------

TERM_CODE = re.compile(r"^\d{4}-(spring|autumn|summer|winter)$")
MAX_TERM_MONTHS = 8
MAX_TERM_NAME_LENGTH = 50


@dataclass(frozen=True)
class Term:
    code: str
    name: str
    starts_on: date
    ends_on: date


def _months_later(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    if year > date.max.year:  # a term starting in 9999 ends by the calendar's end at the latest
        return date.max
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def check_term(code: str, name: str, starts_on: date, ends_on: date) -> Term:
    """A valid term: code like 2027-spring, a name, and a span of at most eight months."""
    code = (code or "").strip()
    if not TERM_CODE.match(code):
        raise InvalidArgument(
            f"a term code looks like 2027-spring (spring, autumn, summer or winter); got {code!r}",
            reason="BAD_TERM_CODE",
        )
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_TERM_NAME_LENGTH:
        raise InvalidArgument(f"a term name has 1 to {MAX_TERM_NAME_LENGTH} characters", reason="BAD_TERM_NAME")
    if ends_on <= starts_on:
        raise InvalidArgument(
            f"a term must end after it starts; {starts_on.isoformat()} to {ends_on.isoformat()}",
            reason="BAD_TERM_DATES",
        )
    if ends_on > _months_later(starts_on, MAX_TERM_MONTHS):
        raise InvalidArgument(
            f"a term lasts at most {MAX_TERM_MONTHS} months; {starts_on.isoformat()} to {ends_on.isoformat()}",
            reason="TERM_TOO_LONG",
        )
    return Term(code=code, name=name, starts_on=starts_on, ends_on=ends_on)


# --- teams and classes ---------------------------------------------------------------------------

PERMISSIONS = ("edit_content", "manage_classes", "grade", "view_analytics")
PUBLIC_CLASS_NAME = "公共班级"


def check_permissions(perms: Iterable[str]) -> tuple[str, ...]:
    """The permissions sorted and without repeats; an unknown one is refused."""
    chosen = set(perms)
    unknown = sorted(str(p) for p in chosen if p not in PERMISSIONS)
    if unknown:
        raise InvalidArgument(
            f"unknown permission {', '.join(map(repr, unknown))}; use any of {', '.join(PERMISSIONS)}",
            reason="UNKNOWN_PERMISSION",
        )
    return tuple(sorted(chosen))


def sees_run_team(user_id: str, role: str, school_id: str | None, leader_id: str, course_school_id: str,
                  on_this_runs_team: bool) -> bool:
    """A run's team and classes are seen by the course's school admins, its leader and the teachers on
    that very run's team: a tutor teacher added to one run sees nothing of the course's other runs."""
    if role == "school_admin" and school_id == course_school_id:
        return True
    return user_id == leader_id or on_this_runs_team


def check_release(release_at: datetime | None) -> None:
    """A chapter's release time for a class: None releases it now; a time must carry its time zone."""
    if release_at is not None and (release_at.tzinfo is None or release_at.utcoffset() is None):
        raise InvalidArgument("a release time must carry a time zone (e.g. +08:00)", reason="NAIVE_DATETIME")


def is_released(release_at: datetime | None, now: datetime) -> bool:
    return release_at is None or release_at <= now
