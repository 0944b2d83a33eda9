"""The sharing cycle's dates (seed 000), each stated as a test."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from servicekit.errors import FailedPrecondition, InvalidArgument
from services.sharing.domain.lists import check_list_dates, is_late, late_reason_for, parse_day

SPRING_2027 = date(2027, 3, 1)
AUTUMN_2027 = date(2027, 9, 1)


@pytest.mark.parametrize(
    ("notice", "publish_by", "starts"),
    [
        (date(2026, 10, 8), date(2026, 11, 30), SPRING_2027),  # October's notice, published before December
        (date(2027, 4, 1), date(2027, 5, 31), AUTUMN_2027),  # April's notice, published before June
        (date(2026, 10, 31), date(2026, 11, 1), SPRING_2027),
    ],
)
def test_a_list_follows_the_seed_cycle(notice: date, publish_by: date, starts: date) -> None:
    dates = check_list_dates(notice, publish_by, "2027-x", starts)
    assert (dates.notice_on, dates.publish_by) == (notice, publish_by)


@pytest.mark.parametrize(
    ("notice", "publish_by", "starts", "reason"),
    [
        (date(2026, 9, 30), date(2026, 11, 30), SPRING_2027, "NOTICE_NOT_IN_CYCLE"),  # not April / October
        (date(2027, 5, 1), date(2027, 5, 31), AUTUMN_2027, "NOTICE_NOT_IN_CYCLE"),
        (date(2026, 10, 8), date(2026, 12, 1), SPRING_2027, "PUBLISH_BY_NOT_IN_CYCLE"),  # December is too late
        (date(2027, 4, 8), date(2027, 6, 1), AUTUMN_2027, "PUBLISH_BY_NOT_IN_CYCLE"),  # June is too late
        (date(2026, 10, 8), date(2026, 10, 8), SPRING_2027, "PUBLISH_BEFORE_NOTICE"),
        (date(2026, 10, 8), date(2026, 10, 1), SPRING_2027, "PUBLISH_BEFORE_NOTICE"),
        # The term starts before the list would be published.
        (date(2026, 10, 8), date(2026, 11, 30), date(2026, 11, 15), "PUBLISH_BY_AFTER_TERM_START"),
        (date(2026, 10, 8), date(2026, 11, 30), date(2026, 11, 30), "PUBLISH_BY_AFTER_TERM_START"),
    ],
)
def test_a_list_off_the_cycle_is_refused(notice: date, publish_by: date, starts: date, reason: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_list_dates(notice, publish_by, "2027-spring", starts)
    assert refused.value.reason == reason


def test_dates_are_iso_days() -> None:
    assert parse_day(" 2026-10-08 ", "notice_on") == date(2026, 10, 8)
    for bad in ("2026-13-01", "08/10/2026", ""):
        with pytest.raises(InvalidArgument, match="notice_on"):
            parse_day(bad, "notice_on")


def test_publishing_after_publish_by_needs_a_reason_and_is_late() -> None:
    due = date(2026, 11, 30)
    on_time = datetime(2026, 11, 30, 15, 59, tzinfo=UTC)  # 23:59 on the 30th in China
    late = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # already 1 December in China
    assert not is_late(due, on_time) and late_reason_for(due, on_time, "ignored") == ""
    assert is_late(due, late)
    with pytest.raises(FailedPrecondition) as refused:
        late_reason_for(due, late, "  ")
    assert refused.value.reason == "LATE_REASON_REQUIRED"
    with pytest.raises(InvalidArgument):
        late_reason_for(due, late, "x" * 501)
    assert late_reason_for(due, late, " 专家评审延期 ") == "专家评审延期"
