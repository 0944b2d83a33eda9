"""The inbox: what asks a user to act lands here, once per user and key, with unread counts; every new message also
goes out as `learning.inbox.delivered` for the identity service to e-mail where the user has an address.

Any handler delivers inside its own transaction (`deliver`), so a message exists exactly when the change that
caused it does."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.learning.v1 import inbox_pb2 as pb
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import InvalidArgument
from servicekit.outbox import emit_many
from servicekit.pagination import fetch_page
from services.learning.adapters.inbox_tables import InboxItemRow, InboxReadRow
from services.learning.adapters.orm import outbox

DELIVERED = "learning.inbox.delivered"
MAX_MARK = 500
SCHOOL_ADMINS = "school-admins:"


def school_admins(school_id: str) -> str:
    """The address of a school's admins (who they are is the identity service's to say: each is mailed); each
    reads it for themselves (InboxReadRow)."""
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


def unread(caller: Caller):  # type: ignore[no-untyped-def]
    """The caller's unread messages: their own not read, and their group's not read by them."""
    own = (InboxItemRow.user_id == caller.user_id) & InboxItemRow.read_at.is_(None)
    groups = [a for a in addresses(caller) if a != caller.user_id]
    if not groups:
        return own
    return own | (InboxItemRow.user_id.in_(groups) & ~exists().where(
        InboxReadRow.item_id == InboxItemRow.id, InboxReadRow.user_id == caller.user_id))


@dataclass
class InboxView:
    row: InboxItemRow
    read: bool


class InboxHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def list(self, caller: Caller, unread_only: bool, page_size: int, page_token: str
                   ) -> tuple[list[InboxView], str, int]:
        """(the caller's messages newest first, next page token, unread count)."""
        statement = select(InboxItemRow).where(InboxItemRow.user_id.in_(addresses(caller)))
        if unread_only:
            statement = statement.where(unread(caller))
        async with self.db.read() as session:
            items, token, _ = await fetch_page(
                session, statement.order_by(InboxItemRow.created_at.desc(), InboxItemRow.id), page_size, page_token)
            group = [i.id for i in items if i.user_id != caller.user_id]
            read = set(await session.scalars(select(InboxReadRow.item_id).where(
                InboxReadRow.user_id == caller.user_id, InboxReadRow.item_id.in_(group)))) if group else set()
            count = await self._unread(session, caller)
        views = [InboxView(i, i.read_at is not None if i.user_id == caller.user_id else i.id in read) for i in items]
        return views, token, count

    async def mark_read(self, caller: Caller, ids: list[str]) -> tuple[int, int]:
        """(marked, unread left): the caller's own messages and their group's, for them only (others' ids mark
        nothing)."""
        if len(ids) > MAX_MARK:
            raise InvalidArgument(f"at most {MAX_MARK} messages at once")
        now = self.clock()
        chosen = InboxItemRow.id.in_(ids) if ids else true()
        async with self.db.transaction() as session:
            marked = (await session.execute(update(InboxItemRow).where(
                InboxItemRow.user_id == caller.user_id, InboxItemRow.read_at.is_(None), chosen)
                .values(read_at=now))).rowcount
            group = list(await session.scalars(select(InboxItemRow.id).where(
                InboxItemRow.user_id != caller.user_id, unread(caller), chosen)))
            session.add_all(InboxReadRow(item_id=i, user_id=caller.user_id, read_at=now) for i in group)
            await session.flush()
            count = await self._unread(session, caller)
        return marked + len(group), count

    @staticmethod
    async def _unread(session: AsyncSession, caller: Caller) -> int:
        return await session.scalar(select(func.count()).select_from(InboxItemRow).where(
            InboxItemRow.user_id.in_(addresses(caller)), unread(caller))) or 0
