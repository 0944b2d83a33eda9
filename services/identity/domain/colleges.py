"""Colleges (学院/教学单位): who belongs to one, and who may manage a school's colleges."""

from __future__ import annotations

from servicekit.errors import InvalidArgument

# A teacher may belong to a college; a college admin (the college's teaching secretary) always does.
ROLES_IN_A_COLLEGE = ("teacher", "college_admin")
ROLES_ALWAYS_IN_A_COLLEGE = ("college_admin",)
COLLEGE_NAME_MAX_LENGTH = 100


def college_name(name: str) -> str:
    """A college's name as kept: trimmed, required, at most 100 characters."""
    name = name.strip()
    if not name:
        raise InvalidArgument("a college needs a name")
    if len(name) > COLLEGE_NAME_MAX_LENGTH:
        raise InvalidArgument(f"a college's name has at most {COLLEGE_NAME_MAX_LENGTH} characters")
    return name


def check_college_of_role(role: str, college_id: str) -> None:
    """Whether an account of `role` may have this college (empty: none): college admins need one, teachers
    may have one, nobody else has any."""
    if college_id and role not in ROLES_IN_A_COLLEGE:
        raise InvalidArgument(f"only teachers and college admins belong to a college, not a {role}")
    if not college_id and role in ROLES_ALWAYS_IN_A_COLLEGE:
        raise InvalidArgument("a college admin belongs to a college: give its college_id")


def check_college_of_school(college_school_id: str, user_school_id: str | None) -> None:
    """A user belongs only to a college of their own school."""
    if college_school_id != user_school_id:
        raise InvalidArgument("that college is not one of the user's school's colleges")


def may_read_colleges(caller_role: str, caller_school_id: str | None, school_id: str) -> bool:
    """A school's colleges are read by its own signed-in members and by platform admins."""
    return caller_role == "platform_admin" or (bool(caller_school_id) and caller_school_id == school_id)
