"""The gateway's shared rate-limit counters and every process's revocation list, on a real nats-server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import nats
import nats.errors
from limits import parse
from limits.aio.strategies import FixedWindowRateLimiter

from contracts.identity.v1 import identity_pb2
from gateway.ratelimit import BUCKET, NatsKvStorage, RateLimits, configured_limits
from servicekit.auth import REVOCATION_SUBJECT, RevocationList
from servicekit.messaging import ensure_stream
from tests.support import NatsServer, eventually


async def test_two_replicas_counting_at_once_lose_no_hit(nats_server: NatsServer) -> None:
    """Compare-and-set: 60 concurrent hits from two connections (two gateways) count exactly 60."""
    connections = [await nats.connect(nats_server.url) for _ in range(2)]
    try:
        replicas = [await RateLimits.over_nats(nc.jetstream(), configured_limits({})) for nc in connections]
        assert all(isinstance(r.shared.storage, NatsKvStorage) for r in replicas if r.shared)
        item = parse("50/minute")
        key = f"test-{uuid.uuid4().hex}"
        limiters = [r.shared for r in replicas]
        results = await asyncio.gather(*(limiters[i % 2].hit(item, key) for i in range(60)))  # type: ignore[union-attr]
        assert results.count(True) == 50 and results.count(False) == 10
        storage = limiters[0].storage  # type: ignore[union-attr]
        assert await storage.get(item.key_for(key)) == 60
        assert 0 < await storage.get_expiry(item.key_for(key)) - datetime.now(UTC).timestamp() <= 60
        await storage.clear(item.key_for(key))
        assert await storage.get(item.key_for(key)) == 0
    finally:
        for nc in connections:
            await nc.close()


async def test_an_expired_window_starts_again(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        kv = await nc.jetstream().create_key_value(bucket=f"{BUCKET}_{uuid.uuid4().hex[:8]}")
        limiter = FixedWindowRateLimiter(NatsKvStorage(kv))
        item = parse("2/second")
        key = f"test-{uuid.uuid4().hex}"
        assert [await limiter.hit(item, key) for _ in range(3)] == [True, True, False]
        await asyncio.sleep(1.1)
        assert await limiter.hit(item, key)
    finally:
        await nc.close()


async def test_replicas_count_alone_while_nats_is_away() -> None:
    class AwayKv:
        calls = 0

        async def get(self, key: str) -> None:
            AwayKv.calls += 1
            raise nats.errors.ConnectionClosedError

    local_only = RateLimits(configured_limits({"GATEWAY_RATE_LIMIT_LOGIN": "2/minute"}), NatsKvStorage(AwayKv()))
    who = f"10.0.0.{uuid.uuid4().int % 250}"
    await local_only.hit("login", who, "")
    await local_only.hit("login", who, "")
    try:
        await local_only.hit("login", who, "")
    except Exception as error:  # HTTP 429
        assert getattr(error, "status_code", None) == 429
        assert int(error.headers["Retry-After"]) >= 1  # type: ignore[attr-defined]
    else:
        raise AssertionError("the third sign-in in a minute went through")
    assert AwayKv.calls == 1  # after the first failure the shared counters are left alone a while


def test_a_wrong_limit_stops_the_gateway_at_start() -> None:
    try:
        configured_limits({"GATEWAY_RATE_LIMIT_LOGIN": "lots"})
    except RuntimeError as error:
        assert "GATEWAY_RATE_LIMIT_LOGIN" in str(error)
    else:
        raise AssertionError("accepted")


async def test_a_restarted_process_reads_back_one_token_lifetime_of_revocations(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_stream(js, "IDENTITY")
    user = str(uuid.uuid4())
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    for sid, at in ((old, now - timedelta(hours=1)), (recent, now - timedelta(seconds=30))):
        event = identity_pb2.SessionsRevoked(user_id=user, session_ids=[sid])
        event.revoked_at.FromDatetime(at)
        await js.publish(REVOCATION_SUBJECT, event.SerializeToString())
    # A list made now (a process that just started) with a 15-minute token lifetime.
    revocations = RevocationList(ttl=timedelta(minutes=15))
    follower = asyncio.create_task(revocations.follow(js, poll=0.2))
    try:
        await asyncio.sleep(0)  # the follower starts
        await revocations.ready(within=10)  # what verifying waits for: the read-back is done
        assert revocations.is_revoked({"sub": user, "sid": recent, "iat": 0})
        # The hour-old event was published just now too, so it is read back; its tokens expired long ago,
        # and the entry lives on only one lifetime from when it was read.
        assert not revocations.is_revoked({"sub": user, "sid": str(uuid.uuid4()), "iat": 0})
        # A later revocation of everything the user held before a time (a password reset).
        everything = identity_pb2.SessionsRevoked(user_id=user)
        cutoff = datetime.now(UTC)
        everything.issued_before.FromDatetime(cutoff)
        everything.revoked_at.FromDatetime(cutoff)
        await js.publish(REVOCATION_SUBJECT, everything.SerializeToString())
        await eventually(lambda: revocations.is_revoked({"sub": user, "sid": "x", "iat": int(cutoff.timestamp()) - 5}))
        assert not revocations.is_revoked({"sub": user, "sid": "x", "iat": int(cutoff.timestamp()) + 2})
        assert not revocations.is_revoked({"sub": str(uuid.uuid4()), "sid": "y", "iat": 0})
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await nc.close()


def test_entries_are_forgotten_once_their_tokens_expired() -> None:
    clock = [datetime(2026, 11, 23, 12, 0, tzinfo=UTC)]
    revocations = RevocationList(ttl=timedelta(minutes=15), clock=lambda: clock[0])
    revocations.revoke("u", ["s1"], clock[0], clock[0])
    assert revocations.is_revoked({"sub": "u", "sid": "s1", "iat": int(clock[0].timestamp()) + 60})
    clock[0] += timedelta(minutes=16)
    revocations.revoke("v", ["s2"], None, clock[0])  # any event sweeps the expired entries
    assert not revocations.is_revoked({"sub": "u", "sid": "s1", "iat": 0})
    assert revocations.is_revoked({"sub": "v", "sid": "s2", "iat": 0})


async def test_without_nats_verifying_waits_for_the_read_back_once_not_on_every_request() -> None:
    class Away:  # a JetStream context whose server is not there
        async def pull_subscribe(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise nats.errors.NoServersError

    revocations = RevocationList(ttl=timedelta(minutes=15))
    follower = asyncio.create_task(revocations.follow(Away()))
    try:
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await revocations.ready(within=0.5)
        assert 0.4 <= loop.time() - started < 2
        started = loop.time()
        for _ in range(20):
            await revocations.ready(within=0.5)
        assert loop.time() - started < 0.1  # the next requests are not held up
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
