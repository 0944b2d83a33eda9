"""Parent courses (母课): kinds, categories, the MOOC registry match, online credits, the overview, SPOC→MOOC,
update ratio."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime

from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound

MOOC = "mooc"
SPOC_INDEPENDENT = "spoc_independent"
SPOC_SYNCHRONOUS = "spoc_synchronous"
SPOC_ASYNCHRONOUS = "spoc_asynchronous"
COURSE_KINDS = (MOOC, SPOC_INDEPENDENT, SPOC_SYNCHRONOUS, SPOC_ASYNCHRONOUS)
SPOC_KINDS = (SPOC_INDEPENDENT, SPOC_SYNCHRONOUS, SPOC_ASYNCHRONOUS)

MAX_NAME_LENGTH = 100
MAX_CATEGORY_LENGTH = 50


def check_kind(kind: str) -> str:
    if kind not in COURSE_KINDS:
        raise InvalidArgument(
            f"unknown course kind {kind!r}; use one of {', '.join(COURSE_KINDS)}", reason="UNKNOWN_COURSE_KIND"
        )
    return kind


def check_course_fields(name: str, category: str) -> tuple[str, str]:
    """Return the stripped name and category; the name has 1–100 characters, the category 1–50."""
    cleaned_name = (name or "").strip()
    cleaned_category = (category or "").strip()
    if not 1 <= len(cleaned_name) <= MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"a course name has 1 to {MAX_NAME_LENGTH} characters; this one has {len(cleaned_name)}",
            reason="BAD_COURSE_NAME",
        )
    if not 1 <= len(cleaned_category) <= MAX_CATEGORY_LENGTH:
        raise InvalidArgument(
            f"a course category has 1 to {MAX_CATEGORY_LENGTH} characters; this one has {len(cleaned_category)}",
            reason="BAD_COURSE_CATEGORY",
        )
    return cleaned_name, cleaned_category


# --- course categories (the provincial center's list) -----------------------------------------

# The seeds' course categories, in their words (seed 004: 公共基础课、学科基础课、专业课、学校特色课及通识课;
# seed 002: 思想政治理论课、创新创业教育课): every province's list starts with them, and its center edits it.
SEED_CATEGORIES = ("公共基础课", "学科基础课", "专业课", "学校特色课", "通识课", "创新创业教育课", "思想政治理论课")


def check_category_name(name: str) -> str:
    """A category's name: stripped, 1–50 characters."""
    cleaned = " ".join((name or "").split())
    if not 1 <= len(cleaned) <= MAX_CATEGORY_LENGTH:
        raise InvalidArgument(
            f"a course category has 1 to {MAX_CATEGORY_LENGTH} characters; this one has {len(cleaned)}",
            reason="BAD_COURSE_CATEGORY",
        )
    return cleaned


def check_listed_category(category: str, listed: Sequence[str]) -> str:
    """A course (or a registry entry) picks its category from its province's list (retired ones excluded)."""
    cleaned = (category or "").strip()
    if cleaned not in listed:
        raise InvalidArgument(
            f"the course category {cleaned!r} is not in your province's list; pick one of: {', '.join(listed)}",
            reason="UNKNOWN_COURSE_CATEGORY",
        )
    return cleaned


# --- MOOC registry -------------------------------------------------------------------------------

ACTIVE = "active"


def check_registry_leader(school_id: str, role: str, status: str, user_school_id: str) -> None:
    """A registry entry's leader is an active teacher account of the entry's school (picked, not typed)."""
    if role != "teacher" or status != ACTIVE or not school_id or user_school_id != school_id:
        raise InvalidArgument(
            "the course leader must be an active teacher account of the school; pick one from the school's "
            "teachers (GET /api/v1/users?role=teacher)",
            reason="LEADER_NOT_A_TEACHER",
        )


def _comparable(text: str) -> str:
    # NFKC folds full-width letters and the ideographic space to their half-width forms.
    folded = unicodedata.normalize("NFKC", text or "")
    return " ".join(folded.split()).casefold()


def check_registry_match(name: str, leader_id: str, leader_name: str, entry_id: str, entry_name: str,
                         entry_leader_id: str, entry_leader_name: str) -> None:
    """A MOOC parent course's name and leader must match its approved registry entry. The leader is compared by
    account; only an entry filed before leaders were picked (no leader id) compares the leader's name."""
    differences = []
    if _comparable(name) != _comparable(entry_name):
        differences.append(
            f"the course name differs from the registry entry: {name.strip()!r} vs {entry_name.strip()!r}"
        )
    same_leader = (leader_id == entry_leader_id if entry_leader_id
                   else _comparable(leader_name) == _comparable(entry_leader_name))
    if not same_leader:
        differences.append(
            "the course leader differs from the registry entry: "
            f"{leader_name.strip()!r} vs {entry_leader_name.strip()!r}"
        )
    if differences:
        raise FailedPrecondition(
            "; ".join(differences)
            + f"; to fix it, file a change request for the registry entry (POST /api/v1/registry/{entry_id}"
            "/change-requests) and wait for the provincial center's approval",
            reason="REGISTRY_MISMATCH",
        )


def check_editable(kind: str) -> None:
    """A synchronous SPOC is a read-only view of a running MOOC run."""
    check_kind(kind)
    if kind == SPOC_SYNCHRONOUS:
        raise FailedPrecondition(
            "a synchronous SPOC follows its MOOC run and cannot be edited; "
            "create an independent SPOC, or an asynchronous SPOC from an ended run, to change content",
            reason="READ_ONLY_SPOC",
        )


# --- files a course uses (plan units, materials, cover) -------------------------------------------


def check_usable_file(course_school_id: str, file_school_id: str, referenceable: bool, reason: str) -> None:
    """A course uses only its own school's files, and only those that are ready and approved by the school
    admin (media's word: unreviewed, rejected, still processing or deleted files are refused)."""
    if not file_school_id or file_school_id != course_school_id:
        raise NotFound("no such asset in your school's media")
    if not referenceable:
        raise FailedPrecondition(f"the file cannot be used by a course yet: {reason}",
                                 reason="ASSET_NOT_REFERENCEABLE")


# --- online credits ------------------------------------------------------------------------------


# The numbers (minutes per credit, class hours per credit) come from the policy in force for the course's school:
# services/course/domain/policy.py (platform defaults -> province -> school, versioned, effective from a term).
MAX_TOTAL_CREDITS = 20


def _check_credit_figure(label: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgument(f"{label} must be a number", reason="BAD_CREDITS")
    if value < 0:
        raise InvalidArgument(f"{label} cannot be negative; got {value:g}", reason="BAD_CREDITS")
    if value > MAX_TOTAL_CREDITS:  # also keeps value * 10 finite (1e308 * 10 is not)
        raise InvalidArgument(f"a course has at most {MAX_TOTAL_CREDITS} credits; {label} are {value:g}",
                              reason="BAD_CREDITS")
    if abs(value * 10 - round(value * 10)) > 1e-6:
        raise InvalidArgument(f"{label} has at most one decimal place; got {value:g}", reason="BAD_CREDITS")


def check_online_credits(online_credits: float, total_credits: float) -> None:
    _check_credit_figure("online credits", online_credits)
    _check_credit_figure("total credits", total_credits)
    if total_credits > MAX_TOTAL_CREDITS:
        raise InvalidArgument(
            f"a course has at most {MAX_TOTAL_CREDITS} credits; got {total_credits:g}", reason="BAD_CREDITS"
        )
    if online_credits > total_credits:
        raise InvalidArgument(
            f"online credits ({online_credits:g}) cannot exceed the total credits ({total_credits:g})",
            reason="BAD_CREDITS",
        )


# --- overview (课程概述) -----------------------------------------------------------------------------

OVERVIEW_HEADINGS = ("课程简介", "课程目标", "课程大纲", "预备知识", "参考资料", "考核方式", "常见问题")
MAX_OVERVIEW_TEXT = 5000


def blank_overview() -> dict[str, str]:
    return {heading: "" for heading in OVERVIEW_HEADINGS}


def updated_overview(current: Mapping[str, str], changes: Mapping[str, str]) -> dict[str, str]:
    """The overview with the changed texts; headings are fixed and always all present, in template order."""
    unknown = [heading for heading in changes if heading not in OVERVIEW_HEADINGS]
    if unknown:
        raise InvalidArgument(
            f"unknown overview heading {unknown[0]!r}; the headings are fixed: {', '.join(OVERVIEW_HEADINGS)}",
            reason="UNKNOWN_OVERVIEW_HEADING",
        )
    for heading, text in changes.items():
        if not isinstance(text, str):
            raise InvalidArgument(f"the text under {heading!r} must be a string", reason="BAD_OVERVIEW_TEXT")
        if len(text) > MAX_OVERVIEW_TEXT:
            raise InvalidArgument(
                f"the text under {heading!r} has at most {MAX_OVERVIEW_TEXT} characters; this one has {len(text)}",
                reason="OVERVIEW_TEXT_TOO_LONG",
            )
    return {heading: changes.get(heading, current.get(heading, "")) for heading in OVERVIEW_HEADINGS}


# --- SPOC → MOOC application ---------------------------------------------------------------------

MIN_APPLICATION_RUNS = 1


def spoc_may_apply_for_mooc(kind: str, approved_video_minutes: float, run_count: int, min_video_minutes: float,
                            applied: str = "") -> None:
    """Only an independent SPOC with enough approved video (the policy in force's
    mooc_application_min_video_minutes, `applied` saying whose) and at least one run may apply to become a MOOC."""
    check_kind(kind)
    if kind == MOOC:
        raise FailedPrecondition("this course is already a MOOC", reason="ALREADY_MOOC")
    if kind == SPOC_SYNCHRONOUS:
        raise FailedPrecondition(
            "a synchronous SPOC follows another school's MOOC run and cannot apply for MOOC status; "
            "only an independent SPOC can",
            reason="NOT_INDEPENDENT_SPOC",
        )
    if kind == SPOC_ASYNCHRONOUS:
        raise FailedPrecondition(
            "an asynchronous SPOC is a copy of a MOOC run and cannot apply for MOOC status; "
            "only an independent SPOC can",
            reason="NOT_INDEPENDENT_SPOC",
        )
    shortfalls = []
    if approved_video_minutes + 1e-9 < min_video_minutes:
        shortfalls.append(
            f"needs {min_video_minutes:g} minutes of approved video; it has {approved_video_minutes:g}"
            + (f" ({applied})" if applied else "")
        )
    if run_count < MIN_APPLICATION_RUNS:
        shortfalls.append(f"needs at least {MIN_APPLICATION_RUNS} run; it has {run_count}")
    if shortfalls:
        raise FailedPrecondition(
            "the SPOC cannot apply for MOOC status yet: " + "; ".join(shortfalls), reason="APPLICATION_NOT_READY"
        )


# --- yearly resource update ratio -----------------------------------------------------------------

UPDATE_RATIO_TARGET = (0.05, 0.10)
SCHOOL_YEAR_START_MONTH = 9


def school_year_bounds(when: datetime) -> tuple[datetime, datetime]:
    """The school year holding `when`: from 1 September to the next 1 September, in `when`'s time zone."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidArgument("the date must carry a time zone", reason="NAIVE_DATETIME")
    year = when.year if when.month >= SCHOOL_YEAR_START_MONTH else when.year - 1
    start = datetime(year, SCHOOL_YEAR_START_MONTH, 1, tzinfo=when.tzinfo)
    return start, start.replace(year=year + 1)


def resource_update_ratio(resources: Sequence[tuple[str, datetime]], year_start: datetime, year_end: datetime) -> float:
    """The share of current resources added within [year_start, year_end); 0.0 when there are none."""
    if year_end <= year_start:
        raise InvalidArgument("the year must end after it starts", reason="BAD_PERIOD")
    added_at: dict[str, datetime] = {}
    for resource_id, when in resources:
        # A resource listed twice (plan and materials) counts once, from its first addition.
        if resource_id not in added_at or when < added_at[resource_id]:
            added_at[resource_id] = when
    if not added_at:
        return 0.0
    fresh = sum(1 for when in added_at.values() if year_start <= when < year_end)
    return fresh / len(added_at)
