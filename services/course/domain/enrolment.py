"""Enrolment (选课): how many online courses a student takes at once (seed 002 五(二): at most 4 in Changsha; the
number is the policy's `max_concurrent_online_courses`, None = no limit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from servicekit.errors import FailedPrecondition
from services.course.domain import runs as run_rules

CONCURRENT_COURSES = "max_concurrent_online_courses"


def terms_overlap(starts_on: date, ends_on: date, other_starts_on: date, other_ends_on: date) -> bool:
    """Two terms are at once when their date ranges share a day (both ends inclusive)."""
    return starts_on <= other_ends_on and other_starts_on <= ends_on


def takes_course_at_the_time(state: str) -> bool:
    """An enrolment counts while its run goes on: not once it ended or was taken down."""
    return state not in (run_rules.ENDED, run_rules.TAKEN_DOWN)


def may_take_another_course(limit: float | None, courses_taken: Sequence[str]) -> bool:
    """A student taking `courses_taken` (other runs, terms overlapping, still going on) may take one more while
    they stay under the limit; None: no limit."""
    return limit is None or len(courses_taken) < limit


def check_may_take_another_course(limit: float | None, courses_taken: Sequence[str], applied: str = "") -> None:
    """Joining one more course: refused at the limit, naming the courses already taken."""
    if may_take_another_course(limit, courses_taken):
        return
    assert limit is not None
    where = f", {applied}" if applied else ""
    raise FailedPrecondition(
        f"you already take {len(courses_taken)} online courses at once, the most your policy allows "
        f"({CONCURRENT_COURSES} {limit:g}{where}): {', '.join(courses_taken)}",
        reason="TOO_MANY_COURSES")
