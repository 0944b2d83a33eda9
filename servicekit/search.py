"""Substring searches that mean what the user typed: `%` and `_` are letters, not wildcards."""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql.elements import ColumnElement

ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with the LIKE wildcards and the escape escaped."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def contains(column: Any, text: str, case_insensitive: bool = False) -> ColumnElement[bool]:
    """`column` contains `text` literally (ILIKE when case_insensitive), on SQLite and PostgreSQL alike."""
    pattern = contains_pattern(text)
    if case_insensitive:
        return column.ilike(pattern, escape=ESCAPE)
    return column.like(pattern, escape=ESCAPE)
