"""Teaching workload (seed 004 四(三)4): class hours × 4.0 / 3.0 / 2.0 by run number, for the teacher in charge."""

from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, PermissionDenied
from services.course.domain import workload as rules


def test_first_run_counts_four_times_second_three_times_later_twice() -> None:
    assert rules.run_coefficient(1) == 4.0
    assert rules.run_coefficient(2) == 3.0
    assert [rules.run_coefficient(n) for n in (3, 4, 10)] == [2.0, 2.0, 2.0]


def test_a_run_number_below_one_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        rules.run_coefficient(0)


def test_workload_is_class_hours_times_the_coefficient() -> None:
    assert rules.workload_hours(32, 1) == 128
    assert rules.workload_hours(32, 2) == 96
    assert rules.workload_hours(32, 3) == 64
    assert rules.workload_hours(0, 1) == 0


def test_recorded_class_hours_are_used_first() -> None:
    hours = rules.class_hours(48, 2, 16)
    assert (hours.hours, hours.basis) == (48, "课程学时")


def test_without_class_hours_credits_count_by_the_policy_or_sixteen_per_credit() -> None:
    assert rules.class_hours(0, 2, 18).hours == 36
    by_default = rules.class_hours(0, 2.5, None)
    assert by_default.hours == 40
    assert by_default.basis == "2.5学分 × 16学时"


def test_only_runs_that_ran_count() -> None:
    assert all(rules.counts_for_workload(s) for s in ("published", "running", "ended"))
    assert not any(rules.counts_for_workload(s) for s in ("draft", "pending_review", "rejected", "taken_down"))


def test_only_the_leader_names_the_teacher_in_charge_among_the_team() -> None:
    rules.check_online_teacher("leader", "leader", "leader", set())
    rules.check_online_teacher("leader", "leader", "tutor", {"tutor"})
    with pytest.raises(PermissionDenied):
        rules.check_online_teacher("tutor", "leader", "tutor", {"tutor"})
    with pytest.raises(InvalidArgument):
        rules.check_online_teacher("leader", "leader", "stranger", {"tutor"})
