"""The review rules: kinds and their scopes, who decides, and how a decision is made."""

from __future__ import annotations

import pytest

from servicekit.auth import Caller
from servicekit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from servicekit.pagination import MAX_PAGE_SIZE, next_page_token, page_window
from services.review.domain import rules


def caller(role: str, school: str | None = None, province: str | None = None) -> Caller:
    return Caller(user_id="u", role=role, school_id=school, province_code=province, name="n")


def test_each_admin_decides_for_exactly_one_scope() -> None:
    assert rules.caller_scope(caller("school_admin", school="s1")) == ("school", "s1")
    assert rules.caller_scope(caller("center_admin", province="33")) == ("center", "33")
    assert rules.caller_scope(caller("platform_admin")) == ("platform", "")
    for role in ("student", "teacher"):
        with pytest.raises(PermissionDenied):
            rules.caller_scope(caller(role, school="s1"))


def test_a_request_must_name_its_kinds_scope() -> None:
    rules.check_requested("teacher_registration", "school", "s1")
    with pytest.raises(InvalidArgument):
        rules.check_requested("teacher_registration", "platform", "")
    with pytest.raises(InvalidArgument):
        rules.check_requested("unheard_of", "school", "s1")
    with pytest.raises(InvalidArgument):
        rules.check_requested("teacher_registration", "school", "")


def test_a_rejection_needs_a_reason_and_only_pending_items_are_decided() -> None:
    assert rules.decision_state("approve", "", "pending") == "approved"
    assert rules.decision_state("reject", "incomplete", "pending") == "rejected"
    with pytest.raises(InvalidArgument):
        rules.decision_state("reject", "  ", "pending")
    with pytest.raises(FailedPrecondition):
        rules.decision_state("approve", "", "rejected")


def test_page_tokens_round_trip_and_sizes_are_capped() -> None:
    limit, offset = page_window(0, "")
    assert (limit, offset) == (50, 0)
    token = next_page_token(0, 50, 120)
    assert page_window(50, token) == (50, 50)
    assert next_page_token(100, 50, 120) == ""
    assert page_window(10_000, "")[0] == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument):
        page_window(10, "garbage!")
