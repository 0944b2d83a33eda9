"""Signing in and sessions: login, token refresh, logout, password change, the caller's own account."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.identity.v1 import identity_pb2
from servicekit.auth import REVOCATION_SUBJECT, Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import DomainError, FailedPrecondition, InvalidArgument, PermissionDenied, Unauthenticated
from servicekit.metrics import ACCOUNT_LOCKOUTS, RATE_LIMIT_REFUSALS, SIGN_IN_FAILURES
from servicekit.outbox import emit
from services.identity.adapters import captcha_image, credentials, guard_store
from services.identity.adapters.orm import CaptchaChallenge, RefreshToken, School, User, outbox
from services.identity.adapters.signing import TokenSigner
from services.identity.domain import colleges, guards, learners, rules
from services.identity.domain.rules import UserStatus
from services.identity.service_layer.common import IdentityConfig, load_user

WRONG_CREDENTIALS = "wrong username, phone number, e-mail address or password"


async def void_access_tokens(session: AsyncSession, user_id: str, now: datetime, session_ids: Sequence[str] = (),
                          issued_before: datetime | None = None) -> None:
    """Void access tokens before they expire: those of `session_ids` (their `sid` claim), or with
    `issued_before` every one the user holds from before then. The gateway and every service
    read the event (servicekit.auth.RevocationList). Call it in the transaction that ends them."""
    event = identity_pb2.SessionsRevoked(user_id=user_id, session_ids=sorted(set(session_ids)))
    if issued_before is not None:
        event.issued_before.FromDatetime(issued_before)
    event.revoked_at.FromDatetime(now)
    await emit(session, outbox, REVOCATION_SUBJECT, event)


async def void_every_sessions_access_tokens(session: AsyncSession, user_id: str, now: datetime) -> None:
    """The access tokens of every session the user has (password changed or reset): by their session
    ids, so a session begun after this one is untouched, however soon."""
    ended = list(await session.scalars(select(RefreshToken.family_id).distinct().where(
        RefreshToken.user_id == user_id, RefreshToken.expires_at > now)))
    if ended:
        await void_access_tokens(session, user_id, now, ended)


async def revoke_sessions(session: AsyncSession, user_id: str, now: datetime) -> None:
    """Every session ends (password changed or reset): its access tokens, then its refresh tokens."""
    await void_every_sessions_access_tokens(session, user_id, now)  # before their refresh tokens are revoked
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    must_change_password: bool


class SignInHandlers:
    def __init__(
        self,
        db: Database,
        signer: TokenSigner,
        config: IdentityConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.signer = signer
        self.config = config
        self.clock = clock
        self._signing_in: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def login(self, login: str, password: str, captcha_id: str = "", captcha_answer: str = "") -> TokenPair:
        """Known and unknown logins take the same steps (guard, one password check, same answers),
        so neither the answers nor their timing tell whether an account exists.

        Every attempt is counted before its password is checked (so parallel guesses cannot outrun the
        count); attempts at one login take turns in this process, so a person signing in on several
        devices at once is not taken for a guesser by attempts that are merely in flight."""
        login = login.strip()
        if not login or not password:
            raise InvalidArgument("give a username, phone number or e-mail address, and a password")
        lock = self._signing_in.setdefault(login, asyncio.Lock())
        try:
            async with lock:
                return await self._login(login, password, captcha_id, captcha_answer)
        except DomainError as refusal:  # its reason is a code (ACCOUNT_LOCKED ...); a wrong password has none
            SIGN_IN_FAILURES.labels(reason=refusal.reason or "WRONG_CREDENTIALS").inc()
            raise

    async def _login(self, login: str, password: str, captcha_id: str, captcha_answer: str) -> TokenPair:
        now = self.clock()
        refused: DomainError | None = None
        async with self.db.transaction() as session:
            user = await self._find(session, login)
            key = guards.account_key(user.id) if user else guards.unknown_login_key(login)
            counted = await guard_store.reserve_attempt(session, key, guards.attempts_before_refusal(False), now)
            if counted is None:
                state = await guard_store.state(session, key)
                if guards.refusal(state, now) == guards.LOCKED:
                    refused = self._locked(state)
                elif not captcha_id:
                    refused = FailedPrecondition(
                        "several failed sign-ins for this account: solve the captcha (type the characters in "
                        "the picture) and sign in again", reason="CAPTCHA_REQUIRED")
                elif not await self._solve_captcha(session, key, captcha_id, captcha_answer, now):
                    refused = FailedPrecondition(
                        "the captcha was not solved (wrong characters, expired or used): solve a new one",
                        reason="CAPTCHA_WRONG")
                else:
                    counted = await guard_store.reserve_attempt(
                        session, key, guards.attempts_before_refusal(True), now)
                    if counted is None:
                        refused = self._locked(await guard_store.state(session, key))
        if refused is not None:  # raised after the commit: a spent captcha stays spent
            raise refused
        assert counted is not None
        correct = await self._verify(user, password)
        inactive: DomainError | None = None
        async with self.db.transaction() as session:
            if not correct:
                if guards.locks_after(counted):
                    await guard_store.lock(session, key, guards.lock_ends(now), now)
                    ACCOUNT_LOCKOUTS.inc()
            else:
                await guard_store.clear(session, key, now)
                assert user is not None
                user = await load_user(session, user.id)
                inactive = self._inactive(user)
                if inactive is None:
                    return await self._issue_tokens(session, user, family_id=new_id())
        raise inactive or Unauthenticated(WRONG_CREDENTIALS)

    @staticmethod
    async def _find(session: AsyncSession, login: str) -> User | None:
        """By phone number, by e-mail address (public learners: usernames have no '@'), else by username."""
        if "@" in login:
            return await session.scalar(select(User).where(User.login_email == learners.normalise_email(login)))
        column = User.phone if rules.PHONE_PATTERN.match(login) else User.username
        return await session.scalar(select(User).where(column == login))

    @staticmethod
    async def _verify(user: User | None, password: str) -> bool:
        """One password check, as long for every kind of account (and for none)."""
        if user is None:
            await credentials.waste_a_verification(password)
            return False
        if user.password_hash:
            return await credentials.verify_password(user.password_hash, password)
        # A machine-made one-time secret is checked by its digest in microseconds: spend what an
        # argon2 check costs too, or accounts that never signed in would answer faster.
        await credentials.waste_a_verification(password)
        return bool(user.initial_secret_hash) and credentials.matches_digest(password, user.initial_secret_hash or "")

    @staticmethod
    def _locked(state: guards.GuardState) -> PermissionDenied:
        until = f"until {state.locked_until:%Y-%m-%d %H:%M} UTC" if state.locked_until else "for a while"
        return PermissionDenied(
            f"too many failed sign-ins: the account is locked {until}", reason="ACCOUNT_LOCKED")

    async def _solve_captcha(self, session: AsyncSession, key: str, captcha_id: str, answer: str,
                             now: datetime) -> bool:
        """Spends the challenge (one try each) and says whether it was answered right."""
        result = await session.execute(
            update(CaptchaChallenge.__table__)
            .where(CaptchaChallenge.id == captcha_id, CaptchaChallenge.guard_key == key,
                   CaptchaChallenge.used_at.is_(None), CaptchaChallenge.expires_at > now)
            .values(used_at=now)
            .returning(CaptchaChallenge.answer_hash))
        expected = result.scalar_one_or_none()
        return expected is not None and credentials.matches_digest(guards.normalise_captcha_answer(answer), expected)

    async def new_captcha(self, login: str) -> tuple[CaptchaChallenge, bytes, str]:
        """A challenge for this login (bound to it), its PNG, and the answer for test mode only."""
        login = login.strip()
        if not login:
            raise InvalidArgument("give the username or phone number you sign in with")
        answer = captcha_image.new_answer()
        png = await asyncio.to_thread(captcha_image.draw, answer)
        now = self.clock()
        async with self.db.transaction() as session:
            user = await self._find(session, login)
            key = guards.account_key(user.id) if user else guards.unknown_login_key(login)
            await session.execute(delete(CaptchaChallenge).where(CaptchaChallenge.expires_at < now))
            challenge = CaptchaChallenge(guard_key=key, answer_hash=credentials.digest(answer),
                                         expires_at=now + guards.CAPTCHA_TTL)
            session.add(challenge)
        return challenge, png, answer if self.config.captcha_test_mode else ""

    @staticmethod
    def _inactive(user: User) -> DomainError | None:
        try:
            SignInHandlers._require_active(user)
        except DomainError as error:
            return error
        return None

    @staticmethod
    def _require_active(user: User) -> None:
        if user.status == UserStatus.PENDING:
            raise FailedPrecondition(
                "your registration is waiting for your school's academic affairs office to approve it",
                reason="REGISTRATION_PENDING",
            )
        if user.status == UserStatus.UNVERIFIED:
            raise FailedPrecondition(
                f"verify your e-mail address first: enter the {learners.CODE_LENGTH}-digit code mailed to "
                f"{user.email} (POST /api/v1/learners/verify), or ask for a new one "
                "(POST /api/v1/learners/verification-code)",
                reason="EMAIL_NOT_VERIFIED",
            )
        if user.status == UserStatus.REJECTED:
            raise FailedPrecondition(
                f"your registration was rejected: {user.rejection_reason}", reason="REGISTRATION_REJECTED"
            )

    async def _issue_tokens(self, session: AsyncSession, user: User, family_id: str) -> TokenPair:
        now = self.clock()
        province = user.province_code
        if user.school_id and not province:
            province = await session.scalar(
                select(School.province_code).where(School.id == user.school_id)
            )
        claims = {
            "sub": user.id,
            "role": user.role,
            "school": user.school_id or "",
            "province": province or "",
            "name": user.name,
            "mcp": user.must_change_password,
            "sid": family_id,  # the session: logout or a password change voids its access tokens
        }
        if user.college_id and user.role in colleges.ROLES_IN_A_COLLEGE:
            claims["college"] = user.college_id  # the college a college admin acts for (servicekit.auth.Caller)
        access = self.signer.access_token(claims, now, self.config.access_token_ttl)
        refresh = credentials.new_refresh_token()
        session.add(
            RefreshToken(
                user_id=user.id,
                token_hash=credentials.digest(refresh),
                family_id=family_id,
                expires_at=now + self.config.refresh_token_ttl,
            )
        )
        return TokenPair(
            access, refresh, int(self.config.access_token_ttl.total_seconds()), user.must_change_password
        )

    async def refresh(self, refresh_token: str) -> TokenPair:
        now = self.clock()
        async with self.db.transaction() as session:
            stored = await session.scalar(
                select(RefreshToken).where(RefreshToken.token_hash == credentials.digest(refresh_token))
            )
            if stored is None:
                raise Unauthenticated("unknown refresh token; sign in again")
            if stored.revoked_at is not None:
                # A revoked token used again means it leaked: end the whole session family.
                await self._revoke_family(session, stored.family_id, now)
                await void_access_tokens(session, stored.user_id, now, [stored.family_id])
                reused = True
            else:
                reused = False
        if reused:
            raise Unauthenticated("this refresh token was already used or revoked; sign in again")
        async with self.db.transaction() as session:
            stored = await session.get(RefreshToken, stored.id)
            assert stored is not None
            if stored.expires_at <= now:
                raise Unauthenticated("the session expired; sign in again")
            user = await session.get(User, stored.user_id)
            if user is None or user.status != UserStatus.ACTIVE:
                raise Unauthenticated("the account is not active")
            stored.revoked_at = now
            return await self._issue_tokens(session, user, stored.family_id)

    @staticmethod
    async def _revoke_family(session: AsyncSession, family_id: str, now: datetime) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def logout(self, caller: Caller, refresh_token: str) -> None:
        async with self.db.transaction() as session:
            stored = await session.scalar(
                select(RefreshToken).where(RefreshToken.token_hash == credentials.digest(refresh_token))
            )
            if stored is None or stored.user_id != caller.user_id:
                raise InvalidArgument("that refresh token is not one of your sessions")
            await self._revoke_family(session, stored.family_id, self.clock())
            await void_access_tokens(session, caller.user_id, self.clock(), [stored.family_id])

    async def change_password(
        self, caller: Caller, old_password: str, new_password: str, refresh_token: str
    ) -> TokenPair:
        """Wrong current passwords are limited on their own key: they never lock the sign-in."""
        now = self.clock()
        key = guards.password_change_key(caller.user_id)
        async with self.db.transaction() as session:
            user = await load_user(session, caller.user_id)
            counted = await guard_store.reserve_attempt(session, key, guards.PASSWORD_CHANGE_THRESHOLD, now)
            state = await guard_store.state(session, key) if counted is None else None
        if counted is None:
            assert state is not None
            until = f"after {state.locked_until:%Y-%m-%d %H:%M} UTC" if state.locked_until else "in a few minutes"
            RATE_LIMIT_REFUSALS.labels(limit="password_change_attempts").inc()
            raise PermissionDenied(f"too many wrong current passwords: try the password change again {until}",
                                   reason="PASSWORD_CHANGE_LOCKED")
        correct = await self._verify(user, old_password)
        async with self.db.transaction() as session:
            if not correct:
                if counted >= guards.PASSWORD_CHANGE_THRESHOLD:
                    await guard_store.lock(session, key, guards.lock_ends(now), now)
            else:
                await guard_store.clear(session, key, now)
        if not correct:
            raise InvalidArgument("the current password is wrong")
        if old_password == new_password:
            raise InvalidArgument("the new password must differ from the current one")
        rules.check_new_password(new_password, username=user.username, phone=user.phone or "")
        new_hash = await credentials.hash_password(new_password)
        now = self.clock()
        async with self.db.transaction() as session:
            user = await load_user(session, caller.user_id)
            user.password_hash = new_hash
            user.initial_secret_hash = None
            user.must_change_password = False
            # Every other session ends with the old password, its access tokens too.
            await revoke_sessions(session, user.id, now)
            return await self._issue_tokens(session, user, family_id=new_id())

    async def me(self, caller: Caller) -> User:
        async with self.db.read() as session:
            return await load_user(session, caller.user_id)

    def jwks(self) -> str:
        return self.signer.jwks_json()
