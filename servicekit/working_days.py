"""China's working days (the `chinese-calendar` package's public holidays and adjusted working days): the one
calendar every "within N working days" rule counts on — a school application's answer, a forum question's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import chinese_calendar

CHINA_TIME = timezone(timedelta(hours=8), "CST")  # working days are China's days (no daylight saving)
# The years the holiday package has official data for (its own bounds, read once).
WORKING_CALENDAR_YEARS = (min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year)


def is_working_day(day: date) -> bool:
    """A working day in mainland China: the `chinese-calendar` package's public holidays and adjusted
    working days (调休, e.g. a Saturday worked before National Day). For a year its data does not cover
    (it ships each year's State Council notice, so the next year is missing until a release adds it),
    Monday to Friday are working days: the deadline is then an estimate that ignores holidays."""
    if working_calendar_covers(day):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def working_calendar_covers(day: date) -> bool:
    """Whether the holiday calendar has the official data for `day`'s year."""
    return WORKING_CALENDAR_YEARS[0] <= day.year <= WORKING_CALENDAR_YEARS[1]


def working_days_later(start: datetime, working_days: int) -> datetime:
    """The deadline: the same time of day, `working_days` of China's working days later, counted on the
    platform's clock in China (UTC+8) and returned in UTC.

    Public holidays and adjusted working days count as the holiday calendar says (see
    `is_working_day`); a start on a day off counts from the next working day's 00:00.
    """
    due = start.astimezone(CHINA_TIME)
    if not is_working_day(due.date()):
        due = due.replace(hour=0, minute=0, second=0, microsecond=0)
        while not is_working_day(due.date()):
            due += timedelta(days=1)
    remaining = working_days
    while remaining:
        due += timedelta(days=1)
        if is_working_day(due.date()):
            remaining -= 1
    return due.astimezone(UTC)
