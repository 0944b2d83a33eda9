"""Who sees which statistics, and where a yearly update ratio stands against the 5–10% target (seed 002)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from servicekit.errors import InvalidArgument, PermissionDenied
from services.course.domain.statistics import (
    ABOVE_TARGET,
    BELOW_TARGET,
    ON_TARGET,
    Scope,
    school_year,
    statistics_scope,
    update_ratio_flag,
)


def test_the_center_sees_its_province_and_may_narrow_it_to_one_school() -> None:
    assert statistics_scope("center_admin", "41", None, "") == Scope("41", "")
    assert statistics_scope("center_admin", "41", None, "school-x") == Scope("41", "school-x")


def test_a_school_admin_sees_only_their_own_school() -> None:
    assert statistics_scope("school_admin", "33", "mine", "") == Scope("33", "mine")
    assert statistics_scope("school_admin", "33", "mine", "mine") == Scope("33", "mine")
    with pytest.raises(PermissionDenied):
        statistics_scope("school_admin", "33", "mine", "theirs")


@pytest.mark.parametrize("role", ["teacher", "student", "platform_admin", "college_admin"])
def test_nobody_else_sees_the_statistics(role: str) -> None:
    with pytest.raises(PermissionDenied):
        statistics_scope(role, "33", "mine", "")


def test_a_center_admin_without_a_province_sees_nothing() -> None:
    with pytest.raises(PermissionDenied):
        statistics_scope("center_admin", None, None, "")


def test_update_ratios_below_five_percent_are_flagged() -> None:
    assert update_ratio_flag(0.0) == BELOW_TARGET
    assert update_ratio_flag(0.0499) == BELOW_TARGET
    assert update_ratio_flag(0.05) == ON_TARGET
    assert update_ratio_flag(0.10) == ON_TARGET
    assert update_ratio_flag(0.11) == ABOVE_TARGET


def test_a_school_year_runs_from_september_and_years_to_come_are_refused() -> None:
    today = datetime(2026, 11, 23, tzinfo=UTC)
    assert school_year("", today) == (2026, datetime(2026, 9, 1, tzinfo=UTC), datetime(2027, 9, 1, tzinfo=UTC))
    assert school_year("", datetime(2027, 3, 1, tzinfo=UTC))[0] == 2026
    assert school_year("2024", today)[0] == school_year("2024-2025", today)[0] == 2024
    for bad in ("2027", "1999", "twenty", "2026-2028", "2026-"):
        with pytest.raises(InvalidArgument):
            school_year(bad, today)
