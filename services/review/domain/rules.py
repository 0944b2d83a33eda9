"""Review rules: which kinds exist, who decides them, and how an item's state may move."""

from __future__ import annotations

from servicekit.auth import Caller
from servicekit.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from servicekit.reviews import ScopeType

# Every kind of review, and the scope that decides it. A new kind is one line here.
KIND_SCOPES: dict[str, str] = {
    "teacher_registration": ScopeType.SCHOOL,
    "school_application": ScopeType.PLATFORM,
    "media_asset": ScopeType.SCHOOL,
    "registry_entry": ScopeType.CENTER,
    "registry_change": ScopeType.CENTER,
    "course_run": ScopeType.SCHOOL,
    "mooc_application": ScopeType.CENTER,
    "sharing_entry": ScopeType.CENTER,
    # course-building projects (立项建设): the college recommends, the school's panels and admin decide
    "project_recommendation": ScopeType.COLLEGE,
    "project_application": ScopeType.SCHOOL,  # expert panel "application" first
    "project_prelaunch": ScopeType.SCHOOL,
    "project_acceptance": ScopeType.SCHOOL,  # expert panel "acceptance" first
}

# Which admin role decides for which scope.
ROLE_OF_SCOPE = {
    ScopeType.SCHOOL: "school_admin",
    ScopeType.COLLEGE: "college_admin",
    ScopeType.CENTER: "center_admin",
    ScopeType.PLATFORM: "platform_admin",
}


class State:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


STATES = (State.PENDING, State.APPROVED, State.REJECTED, State.WITHDRAWN)
DECISIONS = {"approve": State.APPROVED, "reject": State.REJECTED}


def check_requested(kind: str, scope_type: str, scope_id: str) -> None:
    """An owner's request must name a known kind and that kind's scope."""
    if kind not in KIND_SCOPES:
        raise InvalidArgument(f"unknown review kind '{kind}'")
    if scope_type != KIND_SCOPES[kind]:
        raise InvalidArgument(f"{kind} is decided at {KIND_SCOPES[kind]} scope, not {scope_type}")
    if scope_type != ScopeType.PLATFORM and not scope_id:
        raise InvalidArgument(f"a {scope_type} scope needs an id")


def caller_scope(caller: Caller) -> tuple[str, str]:
    """The one scope an admin decides for; everyone else decides nothing."""
    if caller.role == "school_admin" and caller.school_id:
        return ScopeType.SCHOOL, caller.school_id
    if caller.role == "college_admin" and caller.college_id:
        return ScopeType.COLLEGE, caller.college_id
    if caller.role == "center_admin" and caller.province_code:
        return ScopeType.CENTER, caller.province_code
    if caller.role == "platform_admin":
        return ScopeType.PLATFORM, ""
    raise PermissionDenied("only school, college, center and platform admins review")


def decision_state(decision: str, reason: str, current_state: str) -> str:
    if decision not in DECISIONS:
        raise InvalidArgument("decide 'approve' or 'reject'")
    if current_state != State.PENDING:
        raise FailedPrecondition(f"the item is already {current_state}")
    if decision == "reject" and not reason.strip():
        raise InvalidArgument("a rejection needs a reason")
    return DECISIONS[decision]
