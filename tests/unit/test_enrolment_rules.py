"""The seed-002 limit (五(二)): a student takes at most N online courses at once, N from the policy in force."""

from __future__ import annotations

from datetime import date

import pytest

from servicekit.errors import FailedPrecondition
from services.course.domain import enrolment, policy


def test_a_student_at_the_limit_may_not_take_another_course() -> None:
    assert enrolment.may_take_another_course(4, ["A", "B", "C"])
    assert not enrolment.may_take_another_course(4, ["A", "B", "C", "D"])
    assert not enrolment.may_take_another_course(2, ["A", "B", "C"])  # over it already (the policy was lowered)
    assert enrolment.may_take_another_course(None, ["A"] * 50)  # None: no limit


def test_the_refusal_names_the_courses_already_taken_and_the_policy() -> None:
    with pytest.raises(FailedPrecondition, match=r"already take 2 online courses.*max_concurrent_online_courses 2, "
                                                 r"school s v1\): 数据结构, 操作系统") as refused:
        enrolment.check_may_take_another_course(2, ["数据结构", "操作系统"], "school s v1")
    assert refused.value.reason == "TOO_MANY_COURSES"
    enrolment.check_may_take_another_course(3, ["数据结构", "操作系统"])


def test_courses_count_when_their_terms_share_a_day_and_the_run_goes_on() -> None:
    autumn = (date(2026, 9, 1), date(2027, 1, 20))
    assert enrolment.terms_overlap(*autumn, date(2027, 1, 20), date(2027, 7, 10))  # the last day is shared
    assert not enrolment.terms_overlap(*autumn, date(2027, 2, 20), date(2027, 7, 10))
    assert enrolment.terms_overlap(*autumn, date(2026, 10, 1), date(2026, 11, 1))  # inside
    assert enrolment.takes_course_at_the_time("running") and enrolment.takes_course_at_the_time("published")
    assert not enrolment.takes_course_at_the_time("ended")
    assert not enrolment.takes_course_at_the_time("taken_down")


def test_changshas_school_policy_sets_four_and_the_platform_none() -> None:
    assert policy.CHANGSHA_SCHOOL_POLICY[enrolment.CONCURRENT_COURSES] == 4
    assert policy.PLATFORM_DEFAULTS[enrolment.CONCURRENT_COURSES] is None


def test_video_completion_slack_and_pass_mark_are_policy_numbers_with_platform_defaults() -> None:
    resolved = policy.resolve([], [], date(2026, 9, 1))
    assert (resolved["video_complete_slack_seconds"], resolved["pass_mark"]) == (5, 60)
    assert policy.check_values({"pass_mark": 75, "video_complete_slack_seconds": 10}) == {
        "pass_mark": 75.0, "video_complete_slack_seconds": 10.0}
    from servicekit.errors import InvalidArgument

    for bad in ({"pass_mark": 101}, {"pass_mark": None}, {"video_complete_slack_seconds": -1}):
        with pytest.raises(InvalidArgument):
            policy.check_values(bad)
