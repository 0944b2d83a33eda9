"""The inbox: what asks a user to act lands here, once per user and key, with unread counts; every new message also
goes out as `learning.inbox.delivered` for the identity service to e-mail where the user has an address.

Any handler delivers inside its own transaction (`deliver`), so a message exists exactly when the change that
caused it does."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.learning.v1 import inbox_pb2 as pb
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import InvalidArgument
from servicekit.outbox import emit_many
from servicekit.pagination import fetch_page
from services.learning.adapters.inbox_tables import InboxItemRow
from services.learning.adapters.orm import outbox

DELIVERED = "learning.inbox.delivered"
MAX_MARK = 500
SCHOOL_ADMINS = "school-admins:"


def school_admins(school_id: str) -> str:
    """The address of a school's admins as one reader (who they are is the identity service's to say; the first
    of them to read it marks it read for all, and each is mailed)."""
    return SCHOOL_ADMINS + school_id


def addresses(caller: Caller) -> list[str]:
    """Whose messages the caller reads: their own, and a school admin their school's admins'."""
    mine = [caller.user_id]
    if caller.role == "school_admin" and caller.school_id:
        mine.append(school_admins(caller.school_id))
    return mine


@dataclass(frozen=True)
class Message:
    user_id: str  # a user, or school_admins(school)
    kind: str
    key: str      # what it is about: the same (user, key) is delivered once
    title: str
    body: str = ""
    link: str = ""
    run_id: str = ""


async def deliver(session: AsyncSession, messages: Iterable[Message], now: datetime) -> int:
    """Adds the messages not delivered before, in the caller's transaction; returns how many were new."""
    wanted = {(m.user_id, m.key): m for m in messages}
    if not wanted:
        return 0
    pairs = list(wanted)
    known: set[tuple[str, str]] = set()
    for start in range(0, len(pairs), 500):
        chunk = pairs[start:start + 500]
        known |= {(u, k) for u, k in await session.execute(select(InboxItemRow.user_id, InboxItemRow.key).where(
            tuple_(InboxItemRow.user_id, InboxItemRow.key).in_(chunk)))}
    fresh = [InboxItemRow(id=new_id(), user_id=m.user_id, kind=m.kind, key=m.key, title=m.title[:300], body=m.body,
                          link=m.link, run_id=m.run_id, created_at=now)
             for pair, m in wanted.items() if pair not in known]
    session.add_all(fresh)
    await emit_many(session, outbox, DELIVERED, [
        pb.InboxDelivered(item_id=r.id, user_id=r.user_id, kind=r.kind, title=r.title, body=r.body, link=r.link)
        for r in fresh])
    return len(fresh)


class InboxHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def list(self, caller: Caller, unread_only: bool, page_size: int, page_token: str
                   ) -> tuple[list[InboxItemRow], str, int]:
        """(the caller's messages newest first, next page token, unread count)."""
        statement = select(InboxItemRow).where(InboxItemRow.user_id.in_(addresses(caller)))
        if unread_only:
            statement = statement.where(InboxItemRow.read_at.is_(None))
        async with self.db.read() as session:
            items, token, _ = await fetch_page(
                session, statement.order_by(InboxItemRow.created_at.desc(), InboxItemRow.id), page_size, page_token)
            unread = await self._unread(session, caller)
        return items, token, unread

    async def mark_read(self, caller: Caller, ids: list[str]) -> tuple[int, int]:
        """(marked, unread left): the caller's own messages only (others' ids mark nothing)."""
        if len(ids) > MAX_MARK:
            raise InvalidArgument(f"at most {MAX_MARK} messages at once")
        statement = update(InboxItemRow).where(InboxItemRow.user_id.in_(addresses(caller)),
                                               InboxItemRow.read_at.is_(None))
        if ids:
            statement = statement.where(InboxItemRow.id.in_(ids))
        async with self.db.transaction() as session:
            marked = (await session.execute(statement.values(read_at=self.clock()))).rowcount
            unread = await self._unread(session, caller)
        return marked, unread

    @staticmethod
    async def _unread(session: AsyncSession, caller: Caller) -> int:
        return await session.scalar(select(func.count()).select_from(InboxItemRow).where(
            InboxItemRow.user_id.in_(addresses(caller)), InboxItemRow.read_at.is_(None))) or 0
