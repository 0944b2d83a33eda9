"""Public learners' rules: addresses, names, usernames, codes and how often a code may be mailed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from servicekit.errors import FailedPrecondition, InvalidArgument
from services.identity.domain import learners
from services.identity.domain.rules import PHONE_PATTERN, USERNAME_PATTERN

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("email", ["Li.Hua@Example.COM", "  li.hua@example.com ", "li.hua@example.com"])
def test_an_address_is_kept_trimmed_in_lower_case(email: str) -> None:
    assert learners.validate_learner_email(email) == "li.hua@example.com"


@pytest.mark.parametrize("email", ["", "  ", "no-at-sign", "a@b", "a@@b.cn", "a b@c.cn", "a@.cn", "a@b.cn.",
                                   ".a@b.cn", "a..b@c.cn", "张三@qq.com", "x" * 200 + "@qq.com"])
def test_a_bad_address_is_refused(email: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        learners.validate_learner_email(email)
    assert refused.value.reason == "EMAIL_INVALID"


def test_a_name_is_required_short_and_printable() -> None:
    assert learners.validate_learner_name("  李  华 ") == "李 华"
    for bad in ("", "   ", "x" * 101, "李\x00华", "a\u202eb"):
        with pytest.raises(InvalidArgument) as refused:
            learners.validate_learner_name(bad)
        assert refused.value.reason == "NAME_INVALID"


def test_a_derived_username_is_a_valid_username_never_a_phone_number() -> None:
    for email in ("li.hua@example.com", "13912345678@qq.com", "a@b.cn", "张@x.cn", "x+tag@gmail.com"):
        username = learners.new_username(email)
        assert USERNAME_PATTERN.match(username) and not PHONE_PATTERN.match(username), username
    assert learners.new_username("li.hua@example.com").startswith("li.hua-")
    assert learners.new_username("a@b.cn").startswith("learner-")
    assert learners.new_username("a@b.cn") != learners.new_username("a@b.cn")


def test_codes_have_six_digits_and_are_kept_as_salted_digests() -> None:
    codes = {learners.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 150
    assert learners.check_code_format(" 012 345 ") == "012345"
    for bad in ("", "12345", "1234567", "12a456"):
        with pytest.raises(InvalidArgument):
            learners.check_code_format(bad)
    digest = learners.code_digest("row-1", "123456")
    assert "123456" not in digest and digest != learners.code_digest("row-2", "123456")
    assert learners.code_matches("row-1", "123456", digest) and not learners.code_matches("row-1", "123457", digest)


def test_a_new_code_waits_a_minute_while_the_last_works_and_five_an_hour_at_most() -> None:
    learners.check_may_send_code(None, 0, NOW)
    working = learners.LastCode(NOW, usable=True)
    with pytest.raises(FailedPrecondition) as soon:
        learners.check_may_send_code(working, 1, NOW + timedelta(seconds=20))
    assert soon.value.reason == "VERIFICATION_CODE_RATE_LIMITED" and "in 40 s" in soon.value.message
    learners.check_may_send_code(working, 1, NOW + learners.RESEND_INTERVAL)
    learners.check_may_send_code(learners.LastCode(NOW, usable=False), 1, NOW + timedelta(seconds=1))  # dead: now
    with pytest.raises(FailedPrecondition):
        learners.check_may_send_code(None, learners.CODES_PER_HOUR, NOW)


def test_tries_left() -> None:
    assert [learners.tries_left(n) for n in range(7)] == [5, 4, 3, 2, 1, 0, 0]
