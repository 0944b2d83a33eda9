"""Every list is paginated the same way: page_size (capped) and an opaque page_token."""

from __future__ import annotations

import base64

from servicekit.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Tokens this module issues never point past the rows a list has, and no list comes near 2**31
# rows: a larger offset is forged (10**20 overflowed SQLite's 64-bit integers: a 500).
MAX_OFFSET = 2**31 - 1


def page_window(page_size: int, page_token: str) -> tuple[int, int]:
    """Returns (limit, offset)."""
    limit, offset, _ = page_position(page_size, page_token)
    return limit, offset


def page_position(page_size: int, page_token: str) -> tuple[int, int, int | None]:
    """Returns (limit, offset, the total the first page counted — None on a first page or an older token)."""
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative")
    limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return limit, 0, None
    try:
        fields = base64.urlsafe_b64decode(page_token.encode()).decode().removeprefix("o:").split(":t:")
        offset = int(fields[0])
        total = int(fields[1]) if len(fields) == 2 else None
    except ValueError as error:
        raise InvalidArgument("page_token is not one this service issued") from error
    if not 0 <= offset <= MAX_OFFSET or (total is not None and not 0 <= total <= MAX_OFFSET) or len(fields) > 2:
        raise InvalidArgument("page_token is not one this service issued")
    return limit, offset, total


def next_page_token(offset: int, limit: int, total: int) -> str:
    """The next page's token; it carries the total, so the pages after the first do not count again (a list that
    changes meanwhile shows the first page's total until it is read from the start again)."""
    following = offset + limit
    return base64.urlsafe_b64encode(f"o:{following}:t:{total}".encode()).decode() if following < total else ""


async def fetch_page(session, statement, page_size: int, page_token: str) -> tuple[list, str, int]:  # type: ignore[no-untyped-def]
    """Runs an ordered select for one page: (items, next_page_token, total). Only the first page counts."""
    from sqlalchemy import func, select

    limit, offset, total = page_position(page_size, page_token)
    if total is None:
        total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    items = list(await session.scalars(statement.limit(limit).offset(offset)))
    return items, next_page_token(offset, limit, total), total
