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


async def test_only_the_first_page_counts_the_later_ones_carry_its_total(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A total is counted once, on the first page, and travels in the page token: reading 40,000 entries page by
    page does not count them again on every page (what made a long list's later pages as dear as its first)."""
    from sqlalchemy import event, insert, select

    from servicekit.db import Database
    from servicekit.pagination import fetch_page

    metadata = MetaData()
    names = Table("names", metadata, Column("name", String, primary_key=True))
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/paging.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(names), [{"name": f"n{i:03d}"} for i in range(120)])
    counts: list[str] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "count(" in statement.lower():
            counts.append(statement)

    token, seen, totals = "", [], []
    async with db.read() as session:
        while True:
            rows, token, total = await fetch_page(session, select(names.c.name).order_by(names.c.name), 50, token)
            seen += rows
            totals.append(total)
            if not token:
                break
    assert seen == [f"n{i:03d}" for i in range(120)] and totals == [120, 120, 120]
    assert len(counts) == 1
    for forged in (base64.urlsafe_b64encode(b"o:50:t:-1").decode(), base64.urlsafe_b64encode(b"o:50:t:1:t:2").decode()):
        with pytest.raises(InvalidArgument):
            page_window(10, forged)
    assert page_window(10, _token(50)) == (10, 50)  # a token of the former kind still reads
    await db.dispose()
