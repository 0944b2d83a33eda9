"""Colleges (学院): who belongs to one, and who reads a school's colleges."""

from __future__ import annotations

import pytest

from servicekit.auth import Caller
from servicekit.errors import InvalidArgument
from services.identity.domain import colleges, rules


def test_a_college_admin_always_belongs_to_a_college() -> None:
    with pytest.raises(InvalidArgument, match="college admin belongs to a college"):
        colleges.check_college_of_role("college_admin", "")
    colleges.check_college_of_role("college_admin", "c1")


def test_a_teacher_may_belong_to_a_college_or_to_none() -> None:
    colleges.check_college_of_role("teacher", "c1")
    colleges.check_college_of_role("teacher", "")


@pytest.mark.parametrize("role", ["student", "school_admin", "center_admin", "platform_admin"])
def test_only_teachers_and_college_admins_belong_to_a_college(role: str) -> None:
    with pytest.raises(InvalidArgument, match="only teachers and college admins"):
        colleges.check_college_of_role(role, "c1")
    colleges.check_college_of_role(role, "")  # nobody else has one


def test_a_user_belongs_only_to_a_college_of_their_own_school() -> None:
    colleges.check_college_of_school("school-a", "school-a")
    with pytest.raises(InvalidArgument, match="not one of the user's school's colleges"):
        colleges.check_college_of_school("school-b", "school-a")
    with pytest.raises(InvalidArgument):
        colleges.check_college_of_school("school-b", None)


def test_a_college_name_is_trimmed_required_and_bounded() -> None:
    assert colleges.college_name("  计算机学院 ") == "计算机学院"
    with pytest.raises(InvalidArgument, match="needs a name"):
        colleges.college_name("   ")
    with pytest.raises(InvalidArgument, match="at most 100"):
        colleges.college_name("院" * 101)


@pytest.mark.parametrize(
    ("role", "school", "readable"),
    [
        ("teacher", "school-a", True),
        ("student", "school-a", True),
        ("college_admin", "school-a", True),
        ("school_admin", "school-a", True),
        ("school_admin", "school-b", False),
        ("teacher", "school-b", False),
        ("center_admin", None, False),
        ("student", None, False),  # a public learner
        ("platform_admin", None, True),
    ],
)
def test_a_schools_colleges_are_read_by_its_members_and_platform_admins(role: str, school: str | None,
                                                                        readable: bool) -> None:
    assert colleges.may_read_colleges(role, school, "school-a") is readable


def test_the_school_admin_creates_college_admins_who_have_a_school() -> None:
    assert "college_admin" in rules.ROLES
    assert "college_admin" in rules.ROLES_A_SCHOOL_ADMIN_CREATES
    assert "college_admin" in rules.ROLES_WITH_A_SCHOOL
    assert "college_admin" not in rules.IMPORTABLE_ROLES


def test_the_caller_reads_the_college_from_the_tokens_claim() -> None:
    claims = {"sub": "u1", "role": "college_admin", "school": "school-a", "college": "c1"}
    assert Caller.from_claims(claims).college_id == "c1"
    assert Caller.from_claims({**claims, "college": ""}).college_id is None
