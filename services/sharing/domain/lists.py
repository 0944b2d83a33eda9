"""The sharing cycle of seed 000: the provincial center gives notice in April and October for the next
term, and publishes the term's sharing list before June and December."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from servicekit.errors import FailedPrecondition, InvalidArgument

# Notice month -> the first day of the month the list must be published before (the same year).
NOTICE_MONTHS = {4: 6, 10: 12}
MAX_LATE_REASON_LENGTH = 500
CHINA_TIME = timezone(timedelta(hours=8), "CST")  # the center's calendar days


@dataclass(frozen=True)
class ListDates:
    notice_on: date
    publish_by: date


def parse_day(value: str, field: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError as error:
        raise InvalidArgument(f"{field} is a date YYYY-MM-DD; got {value!r}", reason="BAD_LIST_DATES") from error


def check_list_dates(notice_on: date, publish_by: date, term_code: str, term_starts_on: date) -> ListDates:
    """The notice goes out in April or October; the list is published before June (April's notice) or
    December (October's), after its notice, and before the term it lists starts."""
    if notice_on.month not in NOTICE_MONTHS:
        raise InvalidArgument(
            f"the notice goes out in April or October (seed 000); {notice_on.isoformat()} is neither",
            reason="NOTICE_NOT_IN_CYCLE")
    if publish_by <= notice_on:
        raise InvalidArgument(
            f"the list is published after its notice; notice {notice_on.isoformat()}, "
            f"publish by {publish_by.isoformat()}", reason="PUBLISH_BEFORE_NOTICE")
    before = date(notice_on.year, NOTICE_MONTHS[notice_on.month], 1)
    if publish_by >= before:
        raise InvalidArgument(
            f"a list noticed in {notice_on.strftime('%B %Y')} is published before {before.isoformat()} "
            f"(seed 000); publish by {publish_by.isoformat()} is too late", reason="PUBLISH_BY_NOT_IN_CYCLE")
    if publish_by >= term_starts_on:
        raise InvalidArgument(
            f"the list is published before its term starts; {term_code} starts {term_starts_on.isoformat()}, "
            f"publish by {publish_by.isoformat()}", reason="PUBLISH_BY_AFTER_TERM_START")
    return ListDates(notice_on, publish_by)


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA_TIME).date()


def is_late(publish_by: date, published_at: datetime) -> bool:
    """Published after its publish-by day (China's calendar day)."""
    return china_day(published_at) > publish_by


def late_reason_for(publish_by: date, now: datetime, reason: str) -> str:
    """Publishing after the publish-by day needs a reason, which is recorded; on time, none is kept."""
    reason = (reason or "").strip()
    if not is_late(publish_by, now):
        return ""
    if not reason:
        raise FailedPrecondition(
            f"the list was due by {publish_by.isoformat()}; publishing it late needs a reason (late_reason)",
            reason="LATE_REASON_REQUIRED")
    if len(reason) > MAX_LATE_REASON_LENGTH:
        raise InvalidArgument(f"a late reason has at most {MAX_LATE_REASON_LENGTH} characters",
                              reason="LATE_REASON_TOO_LONG")
    return reason
