"""Who is calling: access tokens verified locally against the identity service's JWKS."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import jwt

from servicekit.errors import PermissionDenied, Unauthenticated

ROLES = ("student", "teacher", "school_admin", "center_admin", "platform_admin")
ALGORITHM = "EdDSA"
AUDIENCE = "open-course-platform"


@dataclass(frozen=True)
class Caller:
    user_id: str
    role: str
    school_id: str | None
    province_code: str | None
    name: str
    must_change_password: bool = False

    @classmethod
    def from_claims(cls, claims: dict) -> Caller:
        return cls(
            user_id=claims["sub"],
            role=claims["role"],
            school_id=claims.get("school") or None,
            province_code=claims.get("province") or None,
            name=claims.get("name", ""),
            must_change_password=bool(claims.get("mcp", False)),
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


class TokenVerifier:
    """Verifies access tokens locally; fetches the JWKS again when it meets an unknown key id."""

    def __init__(self, fetch_jwks: Callable[[], Awaitable[str]], issuer: str, refetch_after: float = 10.0):
        self._fetch_jwks = fetch_jwks
        self._issuer = issuer
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._refetch_after = refetch_after
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with self._lock:
            if self._keys and time.monotonic() - self._fetched_at < self._refetch_after:
                return
            jwks = jwt.PyJWKSet.from_json(await self._fetch_jwks())
            self._keys = {key.key_id: key for key in jwks.keys}
            self._fetched_at = time.monotonic()

    async def verify(self, token: str) -> Caller:
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
        return Caller.from_claims(claims)
