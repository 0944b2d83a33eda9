"""The forum's rules: the answer deadline on China's working days and its escalation levels, blocked words found
whatever the width, case, spacing or script, and the leader's scoring rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from servicekit.errors import InvalidArgument
from servicekit.working_days import CHINA_TIME
from services.learning.domain import forum


def china(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CHINA_TIME)


def test_a_question_asked_before_a_holiday_is_due_after_it_and_escalates_a_working_day_later() -> None:
    asked = china(9, 30, 10)  # the day before National Day's week off in 2026's calendar
    due = forum.answer_due(asked, 2)
    assert due == china(10, 9, 10).astimezone(UTC)  # as a school application asked then (identity's rule test)
    assert forum.level_now(forum.ON_TIME, due, 2, due - timedelta(seconds=1)) == forum.ON_TIME
    assert forum.level_now(forum.ON_TIME, due, 2, due) == forum.TEAM_REMINDED
    admins = forum.escalation_due(forum.TEAM_REMINDED, due, 2)
    assert admins is not None and admins > due
    assert forum.level_now(forum.ON_TIME, due, 2, admins) == forum.ADMINS_ALERTED  # never skipped, both reached
    assert forum.escalation_due(forum.ADMINS_ALERTED, due, 2) is None


def test_blocked_words_match_whatever_the_width_case_spacing_or_script() -> None:
    words = [forum.check_word(w) for w in ("广告", "Spam")]
    assert words == ["广告", "spam"]
    assert forum.blocked_in("加我看 廣 告", words) == ["广告"]  # traditional, split by a space
    assert forum.blocked_in("ＳＰＡＭ here", words) == ["spam"]  # full width, upper case
    assert forum.blocked_in("正常的讨论", words) == []
    with pytest.raises(InvalidArgument):
        forum.check_word("   ")
    with pytest.raises(InvalidArgument):
        forum.check_word("长" * (forum.MAX_WORD + 1))


def test_the_scoring_rule_gives_the_first_post_then_shares_the_rest_by_substantive_replies() -> None:
    rule = forum.ScoringRule(first_post_points=40, replies_needed=2, min_reply_chars=10).check()
    assert rule.score(0, 0) == 0
    assert rule.score(1, 0) == 40
    assert rule.score(3, 1) == 70
    assert rule.score(5, 9) == 100  # more than needed counts as needed
    assert rule.substantive("加速度与合外力成正比与质量成反比") and not rule.substantive("好 的 呀")
    assert forum.ScoringRule(100, 0, 0).check().score(1, 0) == 100
    for bad in ((120, 2, 10), (40, 0, 10), (40, -1, 10), (40, 2, 9_999)):
        with pytest.raises(InvalidArgument):
            forum.ScoringRule(*bad).check()


def test_a_thread_is_a_question_or_a_discussion() -> None:
    assert forum.check_kind("question") == "question"
    with pytest.raises(InvalidArgument):
        forum.check_kind("poll")
