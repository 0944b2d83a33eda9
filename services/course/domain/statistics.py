"""Who sees which statistics (the center its province, a school admin its school), and the update-ratio target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from servicekit.errors import InvalidArgument, PermissionDenied
from services.course.domain.courses import SCHOOL_YEAR_START_MONTH, UPDATE_RATIO_TARGET

BELOW_TARGET = "below_target"   # under 5%: flagged (seed 002: 每学年课程资源更新比例须达到5%-10%)
ON_TARGET = "on_target"
ABOVE_TARGET = "above_target"


@dataclass(frozen=True)
class Scope:
    """The rows a caller's statistics cover: a province, and within it one school or all."""

    province_code: str
    school_id: str  # empty: every school of the province


def statistics_scope(role: str, province_code: str | None, school_id: str | None, asked_school_id: str) -> Scope:
    """The center admin sees its province (one school of it when asked); a school admin only its own school;
    nobody else sees the province's statistics."""
    if role == "center_admin" and province_code:
        return Scope(province_code, asked_school_id)
    if role == "school_admin" and school_id and province_code:
        if asked_school_id and asked_school_id != school_id:
            raise PermissionDenied("a school admin sees only their own school's statistics")
        return Scope(province_code, school_id)
    raise PermissionDenied("the provincial center and school admins see statistics")


def update_ratio_flag(ratio: float) -> str:
    """Where a course's yearly resource update ratio stands against the 5–10% target."""
    low, high = UPDATE_RATIO_TARGET
    if ratio < low:
        return BELOW_TARGET
    return ON_TARGET if ratio <= high else ABOVE_TARGET


def school_year(label: str, today: datetime) -> tuple[int, datetime, datetime]:
    """The school year named by its first calendar year, "2026" or "2026-2027" (1 September 2026 to 1 September
    2027, UTC); the current one when the label is empty. Years to come are refused: nothing can be counted yet."""
    current = today.year if today.month >= SCHOOL_YEAR_START_MONTH else today.year - 1
    if not label:
        year = current
    else:
        first, dash, second = label.strip().partition("-")  # "2026" or "2026-2027", as the report names it
        try:
            year = int(first)
            if dash and (not second or int(second) != year + 1):
                raise ValueError(label)
        except ValueError as error:
            raise InvalidArgument(f"school_year is a year such as {current} (for {current}-{current + 1}); "
                                  f"got {label!r}", reason="BAD_SCHOOL_YEAR") from error
        if not 2000 <= year <= current:
            raise InvalidArgument(f"school_year is between 2000 and the current one ({current}); got {year}",
                                  reason="BAD_SCHOOL_YEAR")
    start = datetime(year, SCHOOL_YEAR_START_MONTH, 1, tzinfo=UTC)
    return year, start, start.replace(year=year + 1)
