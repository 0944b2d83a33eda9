"""Validating an account list row by row: every bad row is reported with its line number."""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.errors import InvalidArgument
from services.identity.domain.rules import EMAIL_PATTERN, NUMBER_PATTERN, PHONE_PATTERN

# Accepted header names, English and as the seeds' templates write them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("number", "student_number", "staff_number", "学号", "工号", "学号/工号"),
    "name": ("name", "姓名"),
    "phone": ("phone", "mobile", "手机", "手机号", "手机号码"),
    "email": ("email", "邮箱", "电子邮箱"),
    "class_name": ("class_name", "class", "班级"),
}
REQUIRED_COLUMNS = ("number", "name", "phone")


@dataclass(frozen=True)
class AccountRow:
    line: int
    number: str
    name: str
    phone: str
    email: str
    class_name: str


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    reason: str


def map_header(header: list[str]) -> dict[str, int]:
    """Column positions by field; refuses a header that lacks a required column."""
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        key = title.strip().lower()
        for field, names in COLUMNS.items():
            if key in names and field not in positions:
                positions[field] = index
    missing = [field for field in REQUIRED_COLUMNS if field not in positions]
    if missing:
        raise InvalidArgument(
            f"the header lacks the column(s) {', '.join(missing)}; "
            f"expected e.g. {', '.join(COLUMNS[f][0] for f in COLUMNS)}"
        )
    return positions


def validate_rows(rows: list[list[str]]) -> tuple[list[AccountRow], list[RowProblem]]:
    """Rows are the file's rows, header first; line numbers count the header as line 1."""
    if not rows:
        raise InvalidArgument("the file has no header row")
    positions = map_header(rows[0])
    good: list[AccountRow] = []
    problems: list[RowProblem] = []
    first_line_of_number: dict[str, int] = {}
    first_line_of_phone: dict[str, int] = {}
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cells):
            continue  # blank lines are not rows

        def cell(field: str, cells: list[str] = cells) -> str:
            index = positions.get(field)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        row = AccountRow(line, cell("number"), cell("name"), cell("phone"), cell("email"), cell("class_name"))
        row_problems = _check(row)
        if not row_problems:
            if row.number in first_line_of_number:
                row_problems.append(
                    RowProblem(line, "number", f"duplicates line {first_line_of_number[row.number]}")
                )
            if row.phone in first_line_of_phone:
                row_problems.append(
                    RowProblem(line, "phone", f"duplicates line {first_line_of_phone[row.phone]}")
                )
        if row_problems:
            problems.extend(row_problems)
            continue
        first_line_of_number[row.number] = line
        first_line_of_phone[row.phone] = line
        good.append(row)
    if not good and not problems:
        raise InvalidArgument("the file has a header but no rows")
    return good, problems


def _check(row: AccountRow) -> list[RowProblem]:
    problems = []
    if not row.number:
        problems.append(RowProblem(row.line, "number", "is required"))
    elif not NUMBER_PATTERN.match(row.number):
        problems.append(RowProblem(row.line, "number", "has 1 to 32 letters, digits, '_' or '-'"))
    if not row.name:
        problems.append(RowProblem(row.line, "name", "is required"))
    elif len(row.name) > 100:
        problems.append(RowProblem(row.line, "name", "has at most 100 characters"))
    if not row.phone:
        problems.append(RowProblem(row.line, "phone", "is required"))
    elif not PHONE_PATTERN.match(row.phone):
        problems.append(RowProblem(row.line, "phone", f"'{row.phone}' is not an 11-digit mobile number"))
    if row.email and not EMAIL_PATTERN.match(row.email):
        problems.append(RowProblem(row.line, "email", f"'{row.email}' is not an email address"))
    if len(row.class_name) > 100:
        problems.append(RowProblem(row.line, "class_name", "has at most 100 characters"))
    return problems
