"""The identity rules, each stated as a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from servicekit.errors import InvalidArgument
from services.identity.domain import rules
from services.identity.domain.importing import map_header, validate_rows


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)  # 2026-11-16 is a Monday


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        (at(16), at(18)),            # Monday -> Wednesday
        (at(19), at(23)),            # Thursday -> Monday
        (at(20), at(24)),            # Friday -> Tuesday
        (at(21), datetime(2026, 11, 25, tzinfo=UTC)),  # Saturday counts from Monday 00:00
        (at(22), datetime(2026, 11, 25, tzinfo=UTC)),  # Sunday too
    ],
)
def test_an_application_is_answered_within_two_working_days(submitted: datetime, due: datetime) -> None:
    assert rules.answer_due(submitted) == due


def test_the_fifth_failure_in_a_row_locks_the_account_for_fifteen_minutes() -> None:
    now = at(16)
    attempt = rules.LoginAttempt(0, None)
    for _ in range(rules.LOCKOUT_THRESHOLD - 1):
        attempt = rules.after_failed_login(attempt, now)
        assert not rules.is_locked(attempt, now)
    attempt = rules.after_failed_login(attempt, now)
    assert rules.is_locked(attempt, now + timedelta(minutes=14, seconds=59))
    assert not rules.is_locked(attempt, now + rules.LOCKOUT_DURATION)
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
