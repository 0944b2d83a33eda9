"""Passwords (argon2id), one-time secrets and refresh tokens (random, stored as SHA-256)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~27 ms a check
# on this machine's 2 cores, against ~217 ms for the library's RFC 9106 default (64 MiB,
# 3 passes, 4 lanes), which capped sign-ins at ~8 a second under load (bench/).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


_dummy_hash: str | None = None


async def waste_a_verification(password: str) -> None:
    """Spend what a real check costs, so an unknown login cannot be told from a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await hash_password(secrets.token_hex(16))
    await verify_password(_dummy_hash, password)


def new_one_time_secret() -> str:
    """17 characters from a 55-letter alphabet: about 98 bits, typeable from a printout."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(17))


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches_digest(secret: str, expected_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), expected_digest)
