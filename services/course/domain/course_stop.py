"""A course stopped after its student evaluation (seed 002 四(七)): rated below good two terms in a row (the learning
service flags it), its school stops it from opening new runs and its leader from filing new course-building
applications (申报其他在线开放课程) until it is rectified (整改完毕) and the school lifts the stop."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from servicekit.errors import FailedPrecondition, InvalidArgument
from servicekit.text import check_text

MAX_REASON = 1_000


def check_stop_reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidArgument("stopping a course needs a reason (the students' evaluation it follows)",
                              reason="STOP_REASON_REQUIRED")
    return check_text(reason, "the reason", MAX_REASON)


def check_may_open_run(course_name: str, stopped_at: datetime | None, stop_reason: str) -> None:
    """A stopped course opens no new run until its school lifts the stop."""
    if stopped_at is not None:
        raise FailedPrecondition(
            f"the course {course_name} was stopped from opening new runs by its school on "
            f"{stopped_at.date().isoformat()} ({stop_reason}); it opens runs again once the school lifts the stop "
            f"after rectification (整改完毕)", reason="COURSE_STOPPED")


def leader_may_apply(stopped_courses_led: Iterable[str]) -> bool:
    """A leader of a stopped course files no new course-building application (暂停该课程负责人参加申报其他在线开放
    课程) until every course of theirs that is stopped has been lifted."""
    return not any(True for _ in stopped_courses_led)


def check_leader_may_apply(stopped_courses_led: Iterable[str]) -> None:
    names = list(stopped_courses_led)
    if not leader_may_apply(names):
        raise FailedPrecondition(f"the courses {', '.join(names)} you lead are stopped after their students' "
                                 f"evaluation; you may apply again once they are rectified", reason="LEADER_SUSPENDED")
