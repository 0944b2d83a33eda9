"""Inbox messages by mail: the learning service puts what asks a user to act in their inbox and says so
(`learning.inbox.delivered`); this service owns the addresses, so it mails each message to its user — or, for a
school's admins as one address, to each of them — where there is an address, through the mail outbox."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.learning.v1 import inbox_pb2
from servicekit.clock import utcnow
from servicekit.consumer import EventMeta
from services.identity.adapters.orm import User
from services.identity.domain.rules import UserStatus
from services.identity.service_layer.handover import queue_mail

SCHOOL_ADMINS = "school-admins:"  # services/learning/service_layer/inbox.py school_admins()


class InboxMail:
    def __init__(self, public_url: str, mail_enabled: bool) -> None:
        self.public_url = public_url.rstrip("/")
        self.mail_enabled = mail_enabled

    async def mail(self, session: AsyncSession, event: inbox_pb2.InboxDelivered, meta: EventMeta) -> None:
        if not self.mail_enabled:
            return
        if event.user_id.startswith(SCHOOL_ADMINS):
            users = list(await session.scalars(select(User).where(
                User.school_id == event.user_id.removeprefix(SCHOOL_ADMINS), User.role == "school_admin",
                User.status == UserStatus.ACTIVE, User.email != "")))
        else:
            user = await session.get(User, event.user_id)
            users = [user] if user is not None and user.status == UserStatus.ACTIVE and user.email else []
        now = utcnow()
        for user in users:
            link = f"\n\n查看 Open: {self.public_url}{event.link}" if event.link else ""
            queue_mail(session, user.email, f"[在线开放课程] {event.title}",
                       f"{user.name}，您好：\n\n{event.title}\n{event.body}{link}\n", now)
