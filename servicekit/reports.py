"""Read-only report tables (statistics): one page of text cells, or every row for an export, from any service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from servicekit.auth import Caller
from servicekit.errors import FailedPrecondition
from servicekit.pagination import page_window
from servicekit.spreadsheets import MAX_ROWS

MAX_EXPORT_ROWS = MAX_ROWS  # the spreadsheets' limit; narrower filters for more


@dataclass(frozen=True)
class Table:
    report: str
    columns: list[str]
    headers: list[str]
    rows: list[list[str]]
    next_page_token: str
    total: int
    notes: dict[str, str] = field(default_factory=dict)


def cell(value: Any) -> str:
    """A value as a report shows it: empty for none, true/false, short decimals, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class Reports:
    """A page of a report, or all of it for an export; the service builds the table in `_table`."""

    async def _table(self, caller: Caller, name: str, filters: dict[str, str], limit: int,
                     offset: int) -> Table:
        raise NotImplementedError

    async def report(self, caller: Caller, name: str, filters: dict[str, str], page_size: int,
                     page_token: str) -> Table:
        limit, offset = page_window(page_size, page_token)
        return await self._table(caller, name, filters, limit, offset)

    async def export(self, caller: Caller, name: str, filters: dict[str, str]) -> Table:
        """Every row the filters select, up to the spreadsheets' limit."""
        table = await self._table(caller, name, filters, MAX_EXPORT_ROWS + 1, 0)
        if table.total > MAX_EXPORT_ROWS:
            raise FailedPrecondition(f"the export has {table.total} rows, more than {MAX_EXPORT_ROWS}; "
                                     "narrow it with filters (school_id, term_code, ...)", reason="EXPORT_TOO_LARGE")
        return table
