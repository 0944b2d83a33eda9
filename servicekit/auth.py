"""Who is calling: access tokens verified locally against the identity service's JWKS."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from servicekit.errors import PermissionDenied, Unauthenticated

log = logging.getLogger(__name__)

ROLES = ("student", "teacher", "college_admin", "school_admin", "center_admin", "platform_admin")
ALGORITHM = "EdDSA"
AUDIENCE = "open-course-platform"
REVOCATION_SUBJECT = "identity.session.revoked"
REVOCATION_STREAM = "IDENTITY"


def access_token_ttl() -> timedelta:
    """How long access tokens live: the identity service's setting, which every process shares."""
    return timedelta(seconds=int(os.environ.get("IDENTITY_ACCESS_TOKEN_TTL_SECONDS", "900")))


@dataclass(frozen=True)
class Caller:
    user_id: str
    role: str
    school_id: str | None
    province_code: str | None
    name: str
    must_change_password: bool = False
    college_id: str | None = None  # a teacher's or college admin's college (学院), from the token's "college"

    @classmethod
    def from_claims(cls, claims: dict) -> Caller:
        return cls(
            user_id=claims["sub"],
            role=claims["role"],
            school_id=claims.get("school") or None,
            province_code=claims.get("province") or None,
            name=claims.get("name", ""),
            must_change_password=bool(claims.get("mcp", False)),
            college_id=claims.get("college") or None,
        )

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise PermissionDenied(f"this needs the role {' or '.join(roles)}; you are {self.role}")

    def require_school_admin_of(self, school_id: str) -> None:
        self.require_role("school_admin")
        if self.school_id != school_id:
            raise PermissionDenied("school admins act only for their own school")


_current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("caller", default=None)
_current_token: contextvars.ContextVar[str] = contextvars.ContextVar("token", default="")


def current_caller() -> Caller | None:
    return _current_caller.get()


def require_caller() -> Caller:
    caller = _current_caller.get()
    if caller is None:
        raise Unauthenticated("sign in first")
    return caller


def current_token() -> str:
    """The caller's bearer token, forwarded when a service calls another on their behalf."""
    return _current_token.get()


def bind_caller(caller: Caller | None, token: str = "") -> tuple[contextvars.Token, contextvars.Token]:
    return _current_caller.set(caller), _current_token.set(token)


def unbind_caller(bound: tuple[contextvars.Token, contextvars.Token]) -> None:
    _current_caller.reset(bound[0])
    _current_token.reset(bound[1])


class RevocationList:
    """Access tokens made void before they expire: the deny list every process consults.

    The identity service writes `identity.session.revoked` (SessionsRevoked) to its outbox on
    logout, password change or reset and a reused refresh token; `follow` reads the IDENTITY
    stream from the messages of the last access-token lifetime on (a restarted process catches
    up, nothing older can matter: those tokens have expired), on an ephemeral pull consumer that
    acknowledges nothing, and resumes after the last sequence it saw when the consumer or the
    connection is lost. Entries are forgotten once every token they void has expired.
    """

    def __init__(self, ttl: timedelta | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.ttl = ttl or access_token_ttl()
        self.clock = clock
        self._sessions: dict[str, datetime] = {}  # sid -> when its entry can be forgotten
        self._users: dict[str, tuple[datetime, datetime]] = {}  # user -> (issued before, forget after)
        self.applied = 0  # events applied, for tests and logs
        self._following = False
        self._caught_up = asyncio.Event()

    async def ready(self, within: float = 3.0) -> None:
        """While a (re)started process reads back the recent revocations, verifying waits for it, a
        few seconds at most, once (with NATS away it cannot catch up: tokens are then checked as they
        are, without making every request wait)."""
        if self._following and not self._caught_up.is_set():
            try:
                await asyncio.wait_for(self._caught_up.wait(), within)
            except TimeoutError:
                log.warning("revocations: not caught up within %.0f s (NATS away?); verifying without them", within)
                self._caught_up.set()

    def revoke(self, user_id: str, session_ids: list[str], issued_before: datetime | None,
               revoked_at: datetime) -> None:
        forget_at = max(revoked_at, self.clock()) + self.ttl + timedelta(seconds=5)
        for sid in session_ids:
            if sid:
                self._sessions[sid] = max(forget_at, self._sessions.get(sid, forget_at))
        if user_id and issued_before is not None:
            before, forget = self._users.get(user_id, (issued_before, forget_at))
            self._users[user_id] = (max(before, issued_before), max(forget, forget_at))
        self.applied += 1
        self._forget_expired()

    def apply(self, payload: bytes) -> None:
        """One SessionsRevoked event, as it travels on the bus."""
        from contracts.identity.v1 import identity_pb2

        event = identity_pb2.SessionsRevoked.FromString(payload)
        self.revoke(
            event.user_id,
            list(event.session_ids),
            event.issued_before.ToDatetime(tzinfo=UTC) if event.HasField("issued_before") else None,
            event.revoked_at.ToDatetime(tzinfo=UTC) if event.HasField("revoked_at") else self.clock(),
        )

    def is_revoked(self, claims: dict[str, Any]) -> bool:
        sid = claims.get("sid")
        if sid and sid in self._sessions:
            return True
        cutoff = self._users.get(claims.get("sub", ""))
        if cutoff is not None:
            issued = datetime.fromtimestamp(float(claims.get("iat", 0)), UTC)
            # `iat` has whole seconds: a token of the very second of the cutoff is void too
            # (the identity service issues the replacing token a second later at the earliest).
            return issued <= cutoff[0]
        return False

    def _forget_expired(self) -> None:
        now = self.clock()
        for sid in [sid for sid, forget in self._sessions.items() if forget <= now]:
            del self._sessions[sid]
        for user in [user for user, (_, forget) in self._users.items() if forget <= now]:
            del self._users[user]

    async def follow(self, js: Any, poll: float = 1.0) -> None:
        """Feed the list from the IDENTITY stream, forever (run it as a background task)."""
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        last_sequence = 0
        self._following = True
        while True:
            try:
                if last_sequence:
                    start = {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": last_sequence + 1}
                else:
                    start = {"deliver_policy": DeliverPolicy.BY_START_TIME,
                             "opt_start_time": self.clock() - self.ttl - timedelta(seconds=5)}
                subscription = await js.pull_subscribe(
                    REVOCATION_SUBJECT, stream=REVOCATION_STREAM,
                    config=ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=60.0, **start))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # NATS not there yet, or the stream not created yet
                log.warning("revocations: cannot subscribe yet: %s", error)
                await asyncio.sleep(1.0)
                continue
            try:
                while True:
                    try:
                        messages = await subscription.fetch(batch=100, timeout=poll)
                    except (NatsTimeout, TimeoutError):
                        self._caught_up.set()  # nothing (more) to read back
                        self._forget_expired()
                        continue
                    for message in messages:
                        try:
                            self.apply(message.data)
                        except Exception:
                            log.exception("revocations: undecodable event skipped")
                        if message.metadata and message.metadata.sequence:
                            last_sequence = max(last_sequence, message.metadata.sequence.stream)
                        if message.metadata and message.metadata.num_pending == 0:
                            self._caught_up.set()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the consumer or the connection went away: resume after the last seen
                log.warning("revocations: reading failed (%r); resubscribing", error)
                await asyncio.sleep(0.5)
            finally:
                try:
                    await subscription.unsubscribe()
                except Exception:  # noqa: S110 - a dead subscription has nothing to undo
                    pass


VERIFIED_TOKENS_KEPT = 50_000


class TokenVerifier:
    """Verifies access tokens locally; fetches the JWKS again when it meets an unknown key id.

    A token a `RevocationList` names (logout, password change) is refused like an expired one.
    """

    def __init__(self, fetch_jwks: Callable[[], Awaitable[str]], issuer: str, refetch_after: float = 10.0,
                 revocations: RevocationList | None = None):
        self._fetch_jwks = fetch_jwks
        self._issuer = issuer
        self.revocations = revocations or RevocationList()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._refetch_after = refetch_after
        self._lock = asyncio.Lock()
        self._verified: dict[str, tuple[dict, Caller]] = {}

    async def _refresh(self) -> None:
        async with self._lock:
            if self._keys and time.monotonic() - self._fetched_at < self._refetch_after:
                return
            jwks = jwt.PyJWKSet.from_json(await self._fetch_jwks())
            self._keys = {key.key_id: key for key in jwks.keys}
            self._fetched_at = time.monotonic()

    async def verify(self, token: str) -> Caller:
        """The token's caller. A signature checked once is remembered until the token expires (a player's
        heartbeats carry the same token every few seconds); expiry and revocation are checked on every use."""
        known = self._verified.get(token)
        if known is not None:
            claims, caller = known
            if claims["exp"] <= time.time():
                self._verified.pop(token, None)
                raise Unauthenticated("token expired; refresh it", reason="TOKEN_EXPIRED")
            await self.revocations.ready()
            if self.revocations.is_revoked(claims):
                raise Unauthenticated("this session has ended (signed out or password changed); sign in again",
                                      reason="TOKEN_REVOKED")
            return caller
        caller, claims = await self._verify_signature(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()  # a burst of new sessions: start over rather than grow without bound
        self._verified[token] = (claims, caller)
        return caller

    async def _verify_signature(self, token: str) -> tuple[Caller, dict]:
        try:
            key_id = jwt.get_unverified_header(token).get("kid", "")
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"malformed token: {error}") from error
        if key_id not in self._keys:
            await self._refresh()
        key = self._keys.get(key_id)
        if key is None:
            raise Unauthenticated("token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthenticated("token expired; refresh it", reason="TOKEN_EXPIRED") from error
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"invalid token: {error}") from error
        if claims.get("typ") != "access":
            raise Unauthenticated("not an access token")
        await self.revocations.ready()
        if self.revocations.is_revoked(claims):
            raise Unauthenticated("this session has ended (signed out or password changed); sign in again",
                                  reason="TOKEN_REVOKED")
        return Caller.from_claims(claims), claims
