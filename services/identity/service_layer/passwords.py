"""Getting back in: admins' and class teachers' password resets (a new one-time password), the
self-service reset by e-mail, and the one-time download of credential sheets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.identity.adapters import credentials, guard_store, sheets
from services.identity.adapters.orm import CredentialSheet, PasswordResetToken, User
from services.identity.adapters.sheets import SheetRow
from services.identity.domain import guards, rules
from services.identity.domain.rules import UserStatus
from services.identity.service_layer.common import IdentityConfig, Issued, load_user
from services.identity.service_layer.handover import SheetTicket, issue_sheet, queue_mail
from services.identity.service_layer.sign_in import revoke_sessions

# Asks the course service, on the caller's behalf, whether the caller teaches a class the student is in.
TeachesStudent = Callable[[str], Awaitable[bool]]

log = logging.getLogger(__name__)

INVALID_RESET_LINK = "this reset link is not valid (already used, expired or mistyped): ask for a new one"
MAX_ACCOUNTS_PER_ADDRESS = 5


@dataclass(frozen=True)
class SheetFile:
    filename: str
    content: bytes


class PasswordHandlers:
    def __init__(
        self,
        db: Database,
        config: IdentityConfig,
        teaches_student: TeachesStudent,
        mail_enabled: bool,
        mail_written: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.config = config
        self.teaches_student = teaches_student
        self.mail_enabled = mail_enabled
        self.mail_written = mail_written
        self.clock = clock
        self._pending: set[asyncio.Task] = set()

    # ---- resets by an admin or the class's teacher -------------------------------------------

    async def reset_password(self, caller: Caller, user_id: str) -> tuple[Issued, SheetTicket]:
        """A new one-time password that must be changed at the next sign-in; sessions end, a lock lifts."""
        async with self.db.read() as session:
            target = await session.get(User, user_id)
        if target is None:
            raise NotFound("no such user")
        await self._may_reset(caller, target)
        secret = credentials.new_one_time_secret()
        now = self.clock()
        async with self.db.transaction() as session:
            user = await load_user(session, user_id)
            user.password_hash = None
            user.initial_secret_hash = credentials.digest(secret)
            user.must_change_password = True
            await revoke_sessions(session, user.id, now)
            await guard_store.clear(session, guards.account_key(user.id), now)
            ticket = await issue_sheet(
                session, caller.user_id, [SheetRow(user.username, user.name, user.number or "", secret)], now)
            return Issued(user.id, user.username, secret), ticket

    async def _may_reset(self, caller: Caller, target: User) -> None:
        if target.id == caller.user_id:
            raise InvalidArgument("change your own password with the password change (or the reset by e-mail)")
        if caller.role == "platform_admin":
            return
        if caller.role == "school_admin":
            if target.school_id != caller.school_id:
                raise PermissionDenied("school admins reset the passwords of their own school's accounts only")
            if target.role not in rules.ROLES_A_SCHOOL_ADMIN_CREATES:
                raise PermissionDenied("school admins reset students', teachers' and college admins' passwords")
            return
        if caller.role == "teacher":
            if target.role != "student":
                raise PermissionDenied("teachers reset their students' passwords only")
            if not await self.teaches_student(target.id):
                raise PermissionDenied("teachers reset the passwords of students in their own classes only")
            return
        raise PermissionDenied(f"a {caller.role} cannot reset other accounts' passwords")

    # ---- credential sheets ----------------------------------------------------------------

    async def download_sheet(self, caller: Caller, sheet_id: str, key: str) -> SheetFile:
        now = self.clock()
        async with self.db.read() as session:
            sheet = await session.get(CredentialSheet, sheet_id)
        if sheet is None or sheet.created_by != caller.user_id:
            raise NotFound("no such credentials sheet (only the account creator who got it may download it)")
        if sheet.downloaded_at is not None:
            raise FailedPrecondition(
                f"this credentials sheet was already downloaded ({sheet.downloaded_at:%Y-%m-%d %H:%M} UTC) and "
                "is gone: reset a password to issue a new one", reason="SHEET_ALREADY_DOWNLOADED")
        if sheet.expires_at <= now or sheet.sealed is None:
            raise FailedPrecondition(
                "this credentials sheet expired unread and is gone: reset the passwords to issue new ones",
                reason="SHEET_EXPIRED")
        content = sheets.unseal(key, sheet.sealed)
        if content is None:
            raise PermissionDenied("that key does not open this credentials sheet")
        async with self.db.transaction() as session:
            taken = await session.execute(
                update(CredentialSheet)
                .where(CredentialSheet.id == sheet_id, CredentialSheet.downloaded_at.is_(None))
                .values(downloaded_at=now, sealed=None))
        if taken.rowcount != 1:
            raise FailedPrecondition("this credentials sheet was already downloaded and is gone",
                                     reason="SHEET_ALREADY_DOWNLOADED")
        return SheetFile(f"credentials-{sheet.created_at:%Y%m%d-%H%M}-{sheet.id[:8]}.xlsx", content)

    # ---- self-service reset by e-mail -------------------------------------------------------

    async def request_reset(self, email: str) -> None:
        """Mails a single-use link to every active account of this address; answers the same either way,
        as fast either way: the lookup and the writes happen after the answer."""
        email = email.strip()
        if not email:
            raise InvalidArgument("give the e-mail address of your account")
        rules.validate_email(email)
        if not self.mail_enabled:
            raise FailedPrecondition("password reset by e-mail is not set up on this platform: ask your school's "
                                     "academic affairs office to reset your password", reason="MAIL_NOT_CONFIGURED")
        task = asyncio.create_task(self._mail_reset_links(email))
        self._pending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("password reset links not issued", exc_info=task.exception())

    async def settle(self) -> None:
        """Waits for the reset links asked for so far (tests; a clean stop)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _mail_reset_links(self, email: str) -> None:
        now = self.clock()
        async with self.db.transaction() as session:
            users = list(await session.scalars(
                select(User).where(func.lower(User.email) == email.lower(), User.status == UserStatus.ACTIVE)
                .order_by(User.username).limit(MAX_ACCOUNTS_PER_ADDRESS)))
            for user in users:
                await session.execute(  # only the newest link works
                    update(PasswordResetToken)
                    .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
                    .values(used_at=now))
                token = credentials.new_refresh_token()
                session.add(PasswordResetToken(user_id=user.id, token_hash=credentials.digest(token),
                                               expires_at=now + guards.PASSWORD_RESET_TTL, created_at=now))
                queue_mail(session, user.email, "重置密码 Password reset", self._reset_mail(user, token), now)
        if users:
            self.mail_written()

    def _reset_mail(self, user: User, token: str) -> str:
        minutes = int(guards.PASSWORD_RESET_TTL.total_seconds() // 60)
        link = f"{self.config.public_url.rstrip('/')}/#/reset-password?token={token}"
        return (
            f"{user.name}，您好：\n\n"
            f"有人为账号 {user.username} 申请了重置密码。如是您本人，请在 {minutes} 分钟内打开下面的链接设置新密码"
            f"（仅可使用一次）；如不是，请忽略本邮件，您的密码不会改变。\n\n{link}\n\n"
            f"Someone asked to reset the password of the account {user.username}. If it was you, open the link "
            f"above within {minutes} minutes to choose a new password (it works once). If not, ignore this "
            f"mail: your password stays as it is.\n\nReset code (POST /api/v1/auth/password-reset/confirm): {token}\n"
        )

    async def confirm_reset(self, token: str, new_password: str) -> None:
        token = token.strip()
        now = self.clock()
        async with self.db.read() as session:
            stored = await session.scalar(
                select(PasswordResetToken).where(PasswordResetToken.token_hash == credentials.digest(token)))
            user = await session.get(User, stored.user_id) if stored else None
        if (not token or stored is None or user is None or stored.used_at is not None or stored.expires_at <= now
                or user.status != UserStatus.ACTIVE):
            raise InvalidArgument(INVALID_RESET_LINK, reason="RESET_LINK_INVALID")
        rules.check_new_password(new_password, username=user.username, phone=user.phone or "")
        new_hash = await credentials.hash_password(new_password)
        async with self.db.transaction() as session:
            taken = await session.execute(
                update(PasswordResetToken)
                .where(PasswordResetToken.id == stored.id, PasswordResetToken.used_at.is_(None))
                .values(used_at=now))
            if taken.rowcount != 1:
                raise InvalidArgument(INVALID_RESET_LINK, reason="RESET_LINK_INVALID")
            user = await load_user(session, user.id)
            user.password_hash = new_hash
            user.initial_secret_hash = None
            user.must_change_password = False
            await revoke_sessions(session, user.id, now)
            await guard_store.clear(session, guards.account_key(user.id), now)
