"""Public learners (社会学习者) register themselves: a student account of no school and no province, unverified
until its owner enters the 6-digit code mailed to the address; they then sign in with the address.

An address already used by an account is refused with 409 (EMAIL_TAKEN), like a taken username or phone number
in the teacher registration: a registration has to say why it cannot go ahead, and the gateway limits how often
one client and one address may ask (GATEWAY_RATE_LIMIT_LEARNER_REGISTRATION)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from servicekit.metrics import RATE_LIMIT_REFUSALS
from services.identity.adapters import credentials
from services.identity.adapters.orm import EmailVerification, User
from services.identity.domain import learners, rules
from services.identity.domain.rules import UserStatus
from services.identity.service_layer.handover import queue_mail

EMAIL_TAKEN = ("this e-mail address already belongs to an account: sign in with it (or reset its password by "
               "e-mail); a registration waiting for its code gets a new one from "
               "POST /api/v1/learners/verification-code")


@dataclass(frozen=True)
class LearnerRegistration:
    user: User
    code_expires_at: datetime | None  # when the code just mailed stops working; None once verified


class LearnerHandlers:
    def __init__(
        self,
        db: Database,
        mail_enabled: bool,
        mail_written: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.mail_enabled = mail_enabled
        self.mail_written = mail_written
        self.clock = clock

    def _require_mail(self) -> None:
        if not self.mail_enabled:
            raise FailedPrecondition("registration by e-mail is not set up on this platform (no mail server)",
                                     reason="MAIL_NOT_CONFIGURED")

    async def register(self, email: str, name: str, password: str) -> LearnerRegistration:
        """Checks everything before writing anything: bad input leaves no trace."""
        address = learners.validate_learner_email(email)
        name = learners.validate_learner_name(name)
        username = learners.new_username(address)
        rules.check_new_password(password, username=username)
        if password.lower() in (address, address.partition("@")[0]):
            raise InvalidArgument("the password must not be your e-mail address or its name part")
        self._require_mail()
        async with self.db.read() as session:
            await self._refuse_taken(session, address)
        password_hash = await credentials.hash_password(password)
        now = self.clock()
        try:
            async with self.db.transaction() as session:
                await self._refuse_taken(session, address)
                while await session.scalar(select(User.id).where(User.username == username)):
                    username = learners.new_username(address)
                user = User(username=username, name=name, email=address, login_email=address, role="student",
                            school_id=None, province_code=None, number=None, status=UserStatus.UNVERIFIED,
                            password_hash=password_hash, created_at=now, updated_at=now)
                session.add(user)
                await session.flush()
                expires_at = await self._mail_code(session, user, now)
        except IntegrityError as error:  # the same address registered at the same moment
            raise AlreadyExists(EMAIL_TAKEN, reason="EMAIL_TAKEN") from error
        self.mail_written()
        return LearnerRegistration(user, expires_at)

    @staticmethod
    async def _refuse_taken(session: AsyncSession, address: str) -> None:
        if await session.scalar(select(User.id).where(
                (User.login_email == address) | (func.lower(User.email) == address)).limit(1)):
            raise AlreadyExists(EMAIL_TAKEN, reason="EMAIL_TAKEN")

    async def _mail_code(self, session: AsyncSession, user: User, now: datetime) -> datetime:
        """A new code for the user; the ones before it stop working."""
        await session.execute(
            update(EmailVerification)
            .where(EmailVerification.user_id == user.id, EmailVerification.used_at.is_(None))
            .values(used_at=now))
        code = learners.new_code()
        row_id = new_id()
        expires_at = now + learners.CODE_TTL
        session.add(EmailVerification(id=row_id, user_id=user.id, code_hash=learners.code_digest(row_id, code),
                                      tries=0, expires_at=expires_at, created_at=now))
        queue_mail(session, user.email, "邮箱验证码 E-mail verification code", self._code_mail(user, code), now)
        return expires_at

    @staticmethod
    def _code_mail(user: User, code: str) -> str:
        minutes = int(learners.CODE_TTL.total_seconds() // 60)
        return (
            f"{user.name}，您好：\n\n"
            f"您正在用本邮箱注册课程平台的社会学习者账号。验证码：{code}，{minutes} 分钟内有效，最多可输错 "
            f"{learners.MAX_CODE_TRIES} 次。如不是您本人操作，请忽略本邮件。\n\n"
            f"You are registering as a public learner on the course platform with this address. Your code is "
            f"{code}; it works for {minutes} minutes and survives {learners.MAX_CODE_TRIES - 1} wrong tries. If it "
            f"was not you, ignore this mail: nothing happens without the code.\n\n"
            f"Verification code (POST /api/v1/learners/verify): {code}\n"
        )

    async def _learner(self, session: AsyncSession, address: str) -> User:
        user = await session.scalar(select(User).where(User.login_email == address))
        if user is None:
            raise NotFound("no registration with this e-mail address: register first (POST /api/v1/learners)",
                           reason="REGISTRATION_NOT_FOUND")
        if user.status != UserStatus.UNVERIFIED:
            raise FailedPrecondition("this e-mail address is verified already: sign in with it",
                                     reason="ALREADY_VERIFIED")
        return user

    async def resend_code(self, email: str) -> LearnerRegistration:
        address = learners.validate_learner_email(email)
        self._require_mail()
        now = self.clock()
        async with self.db.transaction() as session:
            user = await self._learner(session, address)
            # Takes the user's row first: two resends at once are counted one after the other.
            await session.execute(update(User).where(User.id == user.id).values(updated_at=now))
            last = await session.scalar(
                select(EmailVerification).where(EmailVerification.user_id == user.id)
                .order_by(EmailVerification.created_at.desc()).limit(1))
            in_the_hour = await session.scalar(
                select(func.count()).select_from(EmailVerification).where(
                    EmailVerification.user_id == user.id, EmailVerification.created_at > now - timedelta(hours=1)))
            try:
                learners.check_may_send_code(
                    learners.LastCode(last.created_at, self._usable(last, now)) if last else None, in_the_hour or 0,
                    now)
            except FailedPrecondition:
                RATE_LIMIT_REFUSALS.labels(limit="verification_code_resend").inc()
                raise
            expires_at = await self._mail_code(session, user, now)
        self.mail_written()
        return LearnerRegistration(user, expires_at)

    @staticmethod
    def _usable(row: EmailVerification, now: datetime) -> bool:
        return row.used_at is None and row.expires_at > now and row.tries < learners.MAX_CODE_TRIES

    async def verify(self, email: str, code: str) -> LearnerRegistration:
        """Each try is counted before the code is compared (in the same transaction), so parallel guesses
        cannot outrun the count; the refusal is raised after the commit, so a wrong try stays counted."""
        address = learners.validate_learner_email(email)
        code = learners.check_code_format(code)
        now = self.clock()
        refusal: Exception | None = None
        async with self.db.transaction() as session:
            user = await self._learner(session, address)
            current = await session.scalar(
                select(EmailVerification).where(EmailVerification.user_id == user.id)
                .order_by(EmailVerification.created_at.desc()).limit(1))
            if current is None or current.used_at is not None or current.expires_at <= now:
                raise FailedPrecondition(
                    "the verification code expired: ask for a new one (POST /api/v1/learners/verification-code)",
                    reason="VERIFICATION_CODE_EXPIRED")
            counted = (await session.execute(
                update(EmailVerification.__table__)
                .where(EmailVerification.id == current.id, EmailVerification.used_at.is_(None),
                       EmailVerification.tries < learners.MAX_CODE_TRIES)
                .values(tries=EmailVerification.tries + 1)
                .returning(EmailVerification.tries))).scalar_one_or_none()
            if counted is None:
                raise FailedPrecondition(
                    f"the code was mistyped {learners.MAX_CODE_TRIES} times and no longer works: ask for a new "
                    "one (POST /api/v1/learners/verification-code)", reason="VERIFICATION_TRIES_EXHAUSTED")
            if not learners.code_matches(current.id, code, current.code_hash):
                left = learners.tries_left(counted)
                refusal = InvalidArgument(
                    f"the verification code is wrong: {left} tries left" if left else
                    "the verification code is wrong, and that was the last try: ask for a new one "
                    "(POST /api/v1/learners/verification-code)", reason="VERIFICATION_CODE_WRONG")
            else:
                await session.execute(update(EmailVerification).where(
                    EmailVerification.user_id == user.id, EmailVerification.used_at.is_(None)).values(used_at=now))
                user.status = UserStatus.ACTIVE
                user.updated_at = now
        if refusal is not None:
            raise refusal
        return LearnerRegistration(user, None)
