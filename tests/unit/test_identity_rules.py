"""The identity rules, each stated as a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from servicekit import working_days
from servicekit.errors import InvalidArgument
from services.identity.domain import guards, rules
from services.identity.domain.importing import map_header, validate_rows


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)  # 2026-11-16 is a Monday


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        (at(16), at(18)),            # Monday -> Wednesday
        (at(19), at(23)),            # Thursday -> Monday
        (at(20), at(24)),            # Friday -> Tuesday
        # Saturday counts from Monday 00:00 in China (UTC+8): due Wednesday 00:00 there.
        (at(21), datetime(2026, 11, 24, 16, tzinfo=UTC)),
        (at(22), datetime(2026, 11, 24, 16, tzinfo=UTC)),  # Sunday too
    ],
)
def test_an_application_is_answered_within_two_working_days(submitted: datetime, due: datetime) -> None:
    assert rules.answer_due(submitted) == due


def china(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=working_days.CHINA_TIME)


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        # The eve of National Day 2026 (Wednesday 30 September): 1-7 October are holidays.
        (china(9, 30), china(10, 9)),
        # Friday 9 October: Saturday 10 October is an adjusted working day (调休), Sunday is not.
        (china(10, 9), china(10, 12)),
        # Friday 25 September is the Mid-Autumn holiday; Sunday 20 September was worked for it.
        (china(9, 24), china(9, 29)),
        (china(9, 19), china(9, 22, 0)),  # Saturday 19th is off: counts from Sunday 20th (worked) 00:00
        # The eve of Spring Festival: Saturday 14 February is worked, then 15-23 February are holidays.
        (china(2, 13), china(2, 24)),
        (china(2, 14), china(2, 25)),  # submitted on the adjusted Saturday itself: that day counts as started
        (china(2, 17), china(2, 26, 0)),  # during the holiday: from Tuesday 24th 00:00
    ],
)
def test_the_two_working_days_follow_chinas_public_holidays_and_adjusted_days(
    submitted: datetime, due: datetime
) -> None:
    assert rules.answer_due(submitted) == due
    assert rules.answer_due(submitted.astimezone(UTC)) == due.astimezone(UTC)


def test_the_working_day_is_chinas_day_not_utcs() -> None:
    # 30 September 17:00 UTC is already 1 October (a holiday) in China: counted from 8 October 00:00.
    assert rules.answer_due(datetime(2026, 9, 30, 17, tzinfo=UTC)) == china(10, 10, 0)


def test_a_year_the_holiday_calendar_lacks_counts_monday_to_friday() -> None:
    assert working_days.working_calendar_covers(datetime(2026, 12, 31).date())
    assert not working_days.working_calendar_covers(datetime(working_days.WORKING_CALENDAR_YEARS[1] + 1, 1, 1).date())
    year = working_days.WORKING_CALENDAR_YEARS[1] + 1
    # Without the official data, 1 January is an ordinary weekday and weekends are the only days off.
    first = datetime(year, 1, 1).date()
    assert working_days.is_working_day(first) == (first.weekday() < 5)
    friday = next(datetime(year, 1, d, 10, tzinfo=working_days.CHINA_TIME) for d in range(1, 8)
                  if datetime(year, 1, d).weekday() == 4)
    assert rules.answer_due(friday) == friday + timedelta(days=4)  # Tuesday
    # The last covered day still uses the data: Thursday 31 December 2026, then 1 January 2027 (Friday)
    # is past the data and counted as a weekday.
    assert rules.answer_due(china(12, 31)) == china(1, 4, year=2027)


def test_the_fifth_failure_in_a_row_locks_the_account_for_fifteen_minutes() -> None:
    now = at(16)
    assert not any(guards.locks_after(n) for n in range(1, rules.LOCKOUT_THRESHOLD))
    assert guards.locks_after(rules.LOCKOUT_THRESHOLD)
    locked = guards.GuardState(0, guards.lock_ends(now))
    assert guards.is_locked(locked, now + timedelta(minutes=14, seconds=59))
    assert not guards.is_locked(locked, now + rules.LOCKOUT_DURATION)
    assert rules.LOCKOUT_DURATION == timedelta(minutes=15)


@pytest.mark.parametrize("password", ["short1", "onlyletters", "1234567890", "13900000000"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidArgument):
        rules.check_new_password(password, phone="13900000000")


def test_a_password_with_letters_and_digits_is_accepted() -> None:
    rules.check_new_password("Lecture-2026")


def test_a_username_cannot_look_like_a_phone_number() -> None:
    with pytest.raises(InvalidArgument):
        rules.validate_username("13900000000")


def test_headers_are_recognised_in_english_and_chinese_and_missing_columns_are_named() -> None:
    assert map_header(["学号", "姓名", "手机号"]) == {"number": 0, "name": 1, "phone": 2}
    with pytest.raises(InvalidArgument, match="phone"):
        map_header(["number", "name"])


def test_every_bad_row_is_reported_with_its_line_and_blank_lines_are_skipped() -> None:
    rows = [
        ["number", "name", "phone", "email"],
        ["1", "甲", "13900000001", ""],
        ["", "", "", ""],
        ["2", "", "13900000002", "bad"],
        ["1", "丙", "13900000003", ""],
    ]
    good, problems = validate_rows(rows)
    assert [r.line for r in good] == [2]
    assert [(p.line, p.field) for p in problems] == [(4, "name"), (4, "email"), (5, "number")]


def test_a_captcha_comes_after_three_failures_and_a_solved_one_allows_tries_up_to_the_lockout() -> None:
    now = at(16)
    assert guards.attempts_before_refusal(captcha_solved=False) == guards.CAPTCHA_AFTER_FAILURES == 3
    assert guards.attempts_before_refusal(captcha_solved=True) == rules.LOCKOUT_THRESHOLD == 5
    assert guards.refusal(guards.GuardState(3, None), now) == guards.CAPTCHA_REQUIRED
    assert guards.refusal(guards.GuardState(5, None), now) == guards.LOCKED  # five checks in flight
    assert guards.refusal(guards.GuardState(0, now + timedelta(seconds=1)), now) == guards.LOCKED
    assert guards.refusal(guards.GuardState(3, now), now) == guards.CAPTCHA_REQUIRED  # a lock that ended


def test_unknown_logins_are_guarded_by_a_digest_of_what_was_typed() -> None:
    key = guards.unknown_login_key(" Nobody ")
    assert key == guards.unknown_login_key("nobody") and "nobody" not in key and len(key) <= 80
    assert key != guards.account_key("nobody") != guards.password_change_key("nobody")


def test_captcha_answers_ignore_case_and_spaces() -> None:
    assert guards.normalise_captcha_answer(" ab 3k7 ") == "AB3K7"
    assert not set("01IO") & set(guards.CAPTCHA_ALPHABET)


def test_a_teachers_row_changes_nothing_it_leaves_blank_and_names_what_differs() -> None:
    current = guards.IdentityFields("张三", "13900000001", "a@example.edu.cn")
    assert guards.changed_identity_fields(current, guards.IdentityFields("张三", "13900000001", "")) == []
    assert guards.changed_identity_fields(current, guards.IdentityFields("李四", "13900000002", "a@example.edu.cn")) \
        == ["name", "phone"]
