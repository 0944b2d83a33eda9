"""Sign-in guards in the database: a failure is counted in one atomic UPDATE before the password
is checked, so parallel guesses cannot all pass the check "fewer than N failures so far"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.adapters.orm import SignInGuard
from services.identity.domain.guards import GuardState

_guards = SignInGuard.__table__


async def _ensure(session: AsyncSession, key: str, now: datetime) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(_guards).values(key=key, failures=0, locked_until=None, updated_at=now).on_conflict_do_nothing()
    )


async def reserve_attempt(session: AsyncSession, key: str, allowed: int, now: datetime) -> int | None:
    """Counts one attempt as failed unless the guard is locked or already at `allowed`; returns the
    new count, or None when the attempt gets no password check."""
    await _ensure(session, key, now)
    result = await session.execute(
        update(_guards)
        .where(
            _guards.c.key == key,
            _guards.c.failures < allowed,
            or_(_guards.c.locked_until.is_(None), _guards.c.locked_until <= now),
        )
        .values(failures=_guards.c.failures + 1, locked_until=None, updated_at=now)
        .returning(_guards.c.failures)
    )
    return result.scalar_one_or_none()


async def state(session: AsyncSession, key: str) -> GuardState:
    row = (await session.execute(
        select(_guards.c.failures, _guards.c.locked_until).where(_guards.c.key == key))).first()
    return GuardState(row.failures, row.locked_until) if row else GuardState(0, None)


async def lock(session: AsyncSession, key: str, until: datetime, now: datetime) -> None:
    await session.execute(
        update(_guards).where(_guards.c.key == key).values(failures=0, locked_until=until, updated_at=now))


async def clear(session: AsyncSession, key: str, now: datetime) -> None:
    """A success: the failures in a row start again from zero."""
    await session.execute(
        update(_guards).where(_guards.c.key == key).values(failures=0, locked_until=None, updated_at=now))
