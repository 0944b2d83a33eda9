"""Searches take `%` and `_` literally; page tokens cannot point past what a database takes."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import Column, MetaData, String, Table
from sqlalchemy.dialects import postgresql, sqlite

from servicekit.errors import InvalidArgument
from servicekit.pagination import MAX_OFFSET, page_window
from servicekit.search import contains, contains_pattern


def test_like_wildcards_and_the_escape_are_escaped() -> None:
    assert contains_pattern("100%") == "%100\\%%"
    assert contains_pattern("a_b") == "%a\\_b%"
    assert contains_pattern("c:\\x") == "%c:\\\\x%"
    assert contains_pattern("数据结构") == "%数据结构%"


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_the_escape_character_is_named_in_the_sql(dialect) -> None:  # type: ignore[no-untyped-def]
    name = Table("t", MetaData(), Column("name", String)).c.name
    assert "ESCAPE" in str(contains(name, "x").compile(dialect=dialect))
    assert "ESCAPE" in str(contains(name, "x", case_insensitive=True).compile(dialect=dialect))


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def test_a_page_token_past_what_a_database_takes_is_refused() -> None:
    assert page_window(10, _token(MAX_OFFSET)) == (10, MAX_OFFSET)
    undecodable = base64.urlsafe_b64encode(b"\xff").decode()
    for forged in (_token(10**20), _token(MAX_OFFSET + 1), _token(-1), "!!!", undecodable):
        with pytest.raises(InvalidArgument):
            page_window(10, forged)
