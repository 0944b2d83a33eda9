"""Clearing what sign-in protection and recovery leave behind: stale guards (a login sprayer's
made-up names included), spent captchas, reset links and verification codes, sheets nobody fetched,
and public learners' registrations nobody verified (their addresses become free again)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update

from servicekit.clock import utcnow
from servicekit.db import Database
from services.identity.adapters.orm import (
    CaptchaChallenge,
    CredentialSheet,
    EmailVerification,
    OutgoingMail,
    PasswordResetToken,
    SignInGuard,
    User,
)
from services.identity.domain.learners import UNVERIFIED_KEPT
from services.identity.domain.rules import UserStatus

log = logging.getLogger(__name__)

# Failures that old are forgiven; a lock still running is always kept.
GUARD_MEMORY = timedelta(days=1)
UNSENT_MAIL_KEPT = timedelta(days=2)
# Spent verification codes are kept a little: the codes mailed within the hour are counted.
SPENT_CODES_KEPT = timedelta(hours=2)


class Housekeeping:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow, interval: float = 3600) -> None:
        self.db = db
        self.clock = clock
        self.interval = interval

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the database busy: next time
                log.exception("identity housekeeping")
            await asyncio.sleep(self.interval)

    async def sweep(self) -> None:
        now = self.clock()
        async with self.db.transaction() as session:
            await session.execute(delete(SignInGuard).where(
                SignInGuard.updated_at < now - GUARD_MEMORY,
                or_(SignInGuard.locked_until.is_(None), SignInGuard.locked_until <= now)))
            await session.execute(delete(CaptchaChallenge).where(CaptchaChallenge.expires_at <= now))
            await session.execute(delete(PasswordResetToken).where(
                or_(PasswordResetToken.expires_at <= now, PasswordResetToken.used_at.is_not(None))))
            # Mail the server never took: its body (a one-time password, a reset link) does not stay.
            await session.execute(update(OutgoingMail).where(
                OutgoingMail.sent_at.is_(None), OutgoingMail.created_at < now - UNSENT_MAIL_KEPT,
                OutgoingMail.body != "").values(body="", last_error="given up: not sent in time"))
            await session.execute(delete(EmailVerification).where(
                EmailVerification.created_at < now - SPENT_CODES_KEPT,
                or_(EmailVerification.expires_at <= now, EmailVerification.used_at.is_not(None))))
            abandoned = select(User.id).where(User.status == UserStatus.UNVERIFIED,
                                              User.created_at < now - UNVERIFIED_KEPT)
            await session.execute(delete(EmailVerification).where(EmailVerification.user_id.in_(abandoned)))
            await session.execute(delete(User).where(User.status == UserStatus.UNVERIFIED,
                                                     User.created_at < now - UNVERIFIED_KEPT))
            await session.execute(update(CredentialSheet).where(
                and_(CredentialSheet.expires_at <= now, CredentialSheet.sealed.is_not(None))).values(sealed=None))
