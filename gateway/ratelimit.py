"""Rate limits on the routes strangers can hammer: sign-in, registrations, school applications,
password resets. Each counts per client address and per account, and holds across every
gateway replica.

Where the counters live: a JetStream key-value bucket on the mesh's NATS. The mesh has no
Redis, and adding one for counters would be one more server to run, secure and monitor; NATS
is already there, every replica reaches it, and a KV bucket gives compare-and-set updates
(`update(key, value, last=revision)`), which is exactly what a shared fixed-window counter
needs: read the window's count and its revision, write count + 1 only if nobody wrote in
between, else read again. Asking the identity service instead would put a database write on
every sign-in attempt and would not cover the routes of other services. `NatsKvStorage` is a
storage of the `limits` package, so the strategy (fixed window), the parsing of limits such as
"10/minute" and the window statistics (for `Retry-After`) are the package's, not ours.

When NATS does not answer, each replica falls back to counting in its own memory rather than
refusing everyone or letting everything through: a replica still limits, and the shared count
returns with NATS.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors
from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from nats.js.api import KeyValueConfig, StorageType
from starlette.exceptions import HTTPException

from servicekit.metrics import RATE_LIMIT_REFUSALS

log = logging.getLogger(__name__)

BUCKET = "gateway_rate_limits"
CAS_ATTEMPTS = 50
SHARED_RETRY_AFTER = 5.0

# Per action: the env variable, and the defaults per client address and per account. They are
# generous on purpose (a school's NAT puts many people behind one address; the end-to-end suite
# signs in hundreds of times a minute from 127.0.0.1); lower them in production as you see fit.
ACTIONS: dict[str, tuple[str, str, str]] = {
    "login": ("LOGIN", "600/minute", "30/minute"),
    "teacher_registration": ("TEACHER_REGISTRATION", "120/minute", "10/minute"),
    "school_application": ("SCHOOL_APPLICATION", "60/minute", "10/hour"),
    "password_reset": ("PASSWORD_RESET", "60/minute", "5/hour"),
    # public learners (社会学习者): per address, per e-mail address
    "learner_registration": ("LEARNER_REGISTRATION", "120/minute", "10/hour"),
    "learner_verification": ("LEARNER_VERIFICATION", "300/minute", "30/hour"),
}


class NatsKvStorage(Storage):
    """A `limits` storage over a JetStream KV bucket: fixed-window counters updated by compare-and-set.

    Each key holds {"count", "expires_at"}; an expired window starts again at the increment.
    Keys are hashed (KV keys allow few characters; limits' keys hold addresses and names).
    """

    STORAGE_SCHEME = ["nats-kv"]

    def __init__(self, kv: Any, timeout: float = 2.0) -> None:
        super().__init__(uri=None, wrap_exceptions=False)
        self.kv = kv
        self.timeout = timeout

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (nats.errors.Error, nats.js.errors.Error, TimeoutError, OSError)

    @staticmethod
    def _key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    async def _read(self, key: str) -> tuple[int, float, int | None]:
        """(count, expires_at, revision); revision None when the key does not exist."""
        try:
            entry = await asyncio.wait_for(self.kv.get(self._key(key)), self.timeout)
        except nats.js.errors.KeyNotFoundError:
            return 0, 0.0, None
        try:
            value = json.loads(entry.value or b"{}")
            return int(value["count"]), float(value["expires_at"]), entry.revision
        except (ValueError, KeyError, TypeError):
            return 0, 0.0, entry.revision  # unreadable: overwritten as a new window

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        for attempt in range(CAS_ATTEMPTS):
            count, expires_at, revision = await self._read(key)
            now = time.time()
            if expires_at <= now:
                count, expires_at = 0, now + expiry
            value = json.dumps({"count": count + amount, "expires_at": expires_at}).encode()
            try:
                if revision is None:
                    await asyncio.wait_for(self.kv.create(self._key(key), value), self.timeout)
                else:
                    await asyncio.wait_for(self.kv.update(self._key(key), value, last=revision), self.timeout)
                return count + amount
            except nats.js.errors.KeyWrongLastSequenceError:
                # Another request counted in between: read again, after a short random pause so
                # that a burst on one key does not retry in lockstep.
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise nats.js.errors.KeyValueError(f"rate-limit counter {key!r} too contended")

    async def get(self, key: str) -> int:
        count, expires_at, _ = await self._read(key)
        return count if expires_at > time.time() else 0

    async def get_expiry(self, key: str) -> float:
        _, expires_at, _ = await self._read(key)
        return max(expires_at, time.time())

    async def check(self) -> bool:
        try:
            await asyncio.wait_for(self.kv.status(), self.timeout)
            return True
        except Exception:
            return False

    async def reset(self) -> int | None:
        return None  # counters expire with their windows (and the bucket's max age)

    async def clear(self, key: str) -> None:
        try:
            await asyncio.wait_for(self.kv.delete(self._key(key)), self.timeout)
        except nats.js.errors.KeyNotFoundError:
            pass


@dataclass(frozen=True)
class Limit:
    per_address: RateLimitItem
    per_account: RateLimitItem


def configured_limits(env: dict[str, str] | None = None) -> dict[str, Limit]:
    """`GATEWAY_RATE_LIMIT_<ACTION>` (per client address) and `..._<ACTION>_ACCOUNT` (per account),
    in the `limits` notation ("10/minute", "100/hour"). A wrong value stops the gateway at start."""
    env = dict(os.environ) if env is None else env
    result = {}
    for action, (name, per_address, per_account) in ACTIONS.items():
        variables = (f"GATEWAY_RATE_LIMIT_{name}", f"GATEWAY_RATE_LIMIT_{name}_ACCOUNT")
        items = []
        for variable, default in zip(variables, (per_address, per_account), strict=True):
            text = env.get(variable, default)
            try:
                items.append(parse(text))
            except ValueError as error:
                raise RuntimeError(f"{variable}={text!r} is not a rate limit like '10/minute': {error}") from error
        result[action] = Limit(*items)
    return result


class RateLimits:
    """The gateway's limiter: shared counters in NATS KV, each replica's memory while NATS is away."""

    def __init__(self, limits: dict[str, Limit], shared: Storage | None) -> None:
        self.limits = limits
        self.shared = FixedWindowRateLimiter(shared) if shared is not None else None
        self.local = FixedWindowRateLimiter(MemoryStorage())
        self._shared_down_until = 0.0  # after a failure, the shared counters are skipped a few seconds

    @classmethod
    async def over_nats(cls, js: Any, limits: dict[str, Limit] | None = None) -> RateLimits:
        limits = limits or configured_limits()
        longest = max(item.get_expiry() for limit in limits.values()
                      for item in (limit.per_address, limit.per_account))
        config = KeyValueConfig(bucket=BUCKET, history=1, ttl=float(longest + 60), storage=StorageType.FILE)
        try:
            try:
                kv = await js.create_key_value(config)
            except nats.js.errors.BadRequestError:  # made by another replica with other settings: use it
                kv = await js.key_value(BUCKET)
        except Exception as error:
            log.error("rate limits: no shared bucket %s (%s); each replica counts alone", BUCKET, error)
            return cls(limits, None)
        return cls(limits, NatsKvStorage(kv))

    async def hit(self, action: str, address: str, account: str) -> None:
        """Counts one attempt; raises HTTP 429 with Retry-After when a limit is passed."""
        limit = self.limits[action]
        checks = [(limit.per_address, "address", address)]
        if account:
            checks.append((limit.per_account, "account", account))
        for item, scope, who in checks:
            allowed, retry_after = await self._hit(item, action, scope, who)
            if not allowed:
                RATE_LIMIT_REFUSALS.labels(limit=f"{action}_per_{scope}").inc()  # e.g. login_per_account
                raise HTTPException(
                    429,
                    f"too many attempts for this {scope} (at most {item}); try again in {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                )

    async def _hit(self, item: RateLimitItem, *identifiers: str) -> tuple[bool, int]:
        for limiter in (self.shared, self.local):
            if limiter is None or (limiter is self.shared and time.monotonic() < self._shared_down_until):
                continue
            try:
                allowed = await limiter.hit(item, *identifiers)
                if allowed:
                    return True, 0
                reset, _ = await limiter.get_window_stats(item, *identifiers)
                return False, max(1, math.ceil(reset - time.time()))
            except Exception as error:  # NATS away: this replica counts alone meanwhile
                if limiter is self.local:
                    raise
                self._shared_down_until = time.monotonic() + SHARED_RETRY_AFTER
                log.warning("rate limits: shared counters unavailable (%r); counting locally for %.0f s",
                            error, SHARED_RETRY_AFTER)
        raise AssertionError("unreachable")


def client_address(request: Request) -> str:
    """The client's address as uvicorn sees it (behind a proxy, run uvicorn with its forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


def rate_limited(action: str, *account_fields: str) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: counts the request against `action`'s limits, per client address and per
    account (the first of `account_fields` present in the JSON body, lowercased)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown rate-limited action {action!r}")

    async def check(request: Request) -> None:
        limits: RateLimits | None = getattr(request.app.state, "rate_limits", None)
        if limits is None:
            raise HTTPException(503, "the gateway is starting; try again shortly")
        account = ""
        if account_fields:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                account = next((str(body[f]).strip().lower() for f in account_fields
                                if isinstance(body.get(f), str) and body[f].strip()), "")
        await limits.hit(action, client_address(request), account)

    return check


def limit(action: str, *account_fields: str) -> Any:
    """`dependencies=[limit("login", "login")]` on a route."""
    return Depends(rate_limited(action, *account_fields))
