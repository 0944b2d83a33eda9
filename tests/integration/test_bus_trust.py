"""The event bus is trusted: who may connect to NATS, publish which subjects, touch which streams.

Against the nats-server the embedded mesh starts (its generated configuration and credentials).
"""

from __future__ import annotations

import asyncio
import json
import stat
import uuid
from collections.abc import Iterator

import nats.errors
import pytest
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig, StreamSource

from contracts.identity.v1 import identity_pb2
from contracts.review.v1 import review_pb2
from devmesh.mesh import Mesh, Ports
from servicekit.consumer import EventConsumer, PoisonEvent, Subscription
from servicekit.messaging import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    KV_BUCKETS,
    NATS_USERS,
    PRODUCERS,
    STREAMS,
    NatsAuthRefused,
    ensure_stream,
    producer_of,
)
from tests.support import nats_as

REFUSED = (nats.errors.TimeoutError, nats.errors.Error, asyncio.TimeoutError)


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    mesh = Mesh(data_dir=tmp_path_factory.mktemp("bus"), ports=Ports.free(), supervise=False)
    mesh.start_nats()
    yield mesh
    mesh.stop()


async def as_user(bus: Mesh, user: str):  # type: ignore[no-untyped-def]
    return await nats_as(bus.nats_url, user, bus.nats_credentials()[user])


async def all_streams(bus: Mesh) -> None:
    for service, stream in PRODUCERS.items():
        nc, js = await as_user(bus, service)
        await ensure_stream(js, stream)
        await nc.close()


async def count(bus: Mesh, stream: str) -> int:
    nc, js = await as_user(bus, producer_of(stream))
    messages = (await js.stream_info(stream)).state.messages
    await nc.close()
    return messages


async def test_a_client_without_credentials_or_with_a_wrong_password_cannot_connect(bus: Mesh) -> None:
    with pytest.raises(NatsAuthRefused):
        await nats_as(bus.nats_url, None)
    with pytest.raises(NatsAuthRefused):
        await nats_as(bus.nats_url, "review", "not-the-password")
    with pytest.raises(NatsAuthRefused):
        await nats_as(bus.nats_url, "nobody", bus.nats_credentials()["review"])


async def test_each_service_publishes_its_own_subjects_and_no_other(bus: Mesh) -> None:
    await all_streams(bus)
    for service, stream in PRODUCERS.items():
        nc, js = await as_user(bus, service)
        own = STREAMS[stream].replace(">", "test.published")
        ack = await js.publish(own, b"fact", headers={EVENT_ID_HEADER: str(uuid.uuid4())})
        assert ack.stream == stream
        for other_stream, subjects in STREAMS.items():
            if other_stream == stream:
                continue
            before = await count(bus, other_stream)
            with pytest.raises(REFUSED):
                await js.publish(subjects.replace(">", "forged"), b"forged", timeout=0.5)
            assert await count(bus, other_stream) == before
        await nc.close()


async def test_course_credentials_cannot_forge_a_review_decision(bus: Mesh) -> None:
    await all_streams(bus)
    before = await count(bus, "REVIEW")
    decided = review_pb2.ReviewDecided(kind="teacher_registration", owner="identity", subject_id="u1",
                                       decision="approved")
    nc, js = await as_user(bus, "course")
    with pytest.raises(REFUSED):
        await js.publish("review.item.decided.identity", decided.SerializeToString(), timeout=1,
                         headers={EVENT_ID_HEADER: str(uuid.uuid4()), EVENT_TYPE_HEADER: "review.v1.ReviewDecided"})
    await nc.close()
    assert await count(bus, "REVIEW") == before


async def test_the_workers_and_the_gateway_publish_no_events(bus: Mesh) -> None:
    await all_streams(bus)
    for user, subject in (("media-worker", "media.asset.uploaded"), ("gateway", "identity.session.revoked")):
        nc, js = await as_user(bus, user)
        with pytest.raises(REFUSED):
            await js.publish(subject, b"forged", timeout=1)
        await nc.close()


async def test_no_service_can_reshape_delete_or_purge_another_services_stream(bus: Mesh) -> None:
    await all_streams(bus)
    nc, js = await as_user(bus, "course")
    # A REVIEW that also sourced COURSE's messages would let course's events pass as review's.
    reshaped = StreamConfig(name="REVIEW", subjects=["review.>"], sources=[StreamSource(name="COURSE")])
    for attempt in (
        lambda: js.update_stream(reshaped),
        lambda: js.add_stream(StreamConfig(name="FORGERY", subjects=["forgery.>"],
                                           sources=[StreamSource(name="COURSE")])),
        lambda: js.delete_stream("REVIEW"),
        lambda: js.purge_stream("REVIEW"),
        lambda: js.delete_msg("REVIEW", 1),
        lambda: js.delete_consumer("REVIEW", "identity-review-decisions"),
    ):
        with pytest.raises(REFUSED):
            await attempt()
    await nc.close()
    nc, js = await as_user(bus, "review")
    info = await js.stream_info("REVIEW")
    assert info.config.sources in (None, []) and info.config.subjects == ["review.>"]
    await nc.close()


async def test_the_credentials_are_generated_once_kept_private_and_reused(bus: Mesh) -> None:
    first = bus.nats_credentials()
    assert set(first) == set(NATS_USERS) and len(set(first.values())) == len(NATS_USERS)
    assert all(len(password) >= 32 for password in first.values())
    assert bus.nats_credentials() == first
    assert Mesh(data_dir=bus.data_dir, ports=bus.ports).nats_credentials() == first
    for path in (bus.nats_dir / "credentials.json", bus.nats_dir / "nats-server.conf"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_gateways_key_value_bucket_is_the_one_it_may_write() -> None:
    from gateway.ratelimit import BUCKET

    assert KV_BUCKETS["gateway"] == (BUCKET,)


def jetstream_message(subject: str, stream: str) -> Msg:
    decided = review_pb2.ReviewDecided(kind="teacher_registration", owner="identity", decision="approved")
    return Msg(
        _client=None,  # type: ignore[arg-type]
        subject=subject,
        reply=f"$JS.ACK.{stream}.identity-review-decisions.1.7.7.1700000000000000000.0",
        data=decided.SerializeToString(),
        headers={EVENT_ID_HEADER: str(uuid.uuid4()), EVENT_TYPE_HEADER: "review.v1.ReviewDecided"},
    )


async def handler(session, event, meta) -> None:  # type: ignore[no-untyped-def]
    raise AssertionError("a forged event reached the handler")


def test_a_consumer_takes_events_only_from_its_stream_and_its_producers_subjects() -> None:
    subscription = Subscription(durable="identity-review-decisions", stream="REVIEW",
                                filter_subject="review.item.decided.identity",
                                handlers={review_pb2.ReviewDecided: handler})
    consumer = EventConsumer(db=None, inbox=None, js=None, subscription=subscription)  # type: ignore[arg-type]
    with pytest.raises(PoisonEvent, match="from stream 'COURSE'"):
        consumer.decode(jetstream_message("review.item.decided.identity", "COURSE"))
    with pytest.raises(PoisonEvent, match="expected stream REVIEW"):
        consumer.decode(jetstream_message("course.item.decided.identity", "REVIEW"))
    _, _, meta = consumer.decode(jetstream_message("review.item.decided.identity", "REVIEW"))  # type: ignore[misc]
    assert (meta.stream, meta.producer) == ("REVIEW", "review")


async def test_a_service_cannot_fetch_from_acknowledge_or_reshape_another_services_consumer(bus: Mesh) -> None:
    await all_streams(bus)
    nc, js = await as_user(bus, "review")
    await js.publish("review.item.decided.identity", b"decision", headers={EVENT_ID_HEADER: str(uuid.uuid4())})
    await nc.close()
    # identity's own durable: it creates it, fetches and acknowledges.
    nc, js = await as_user(bus, "identity")
    mine = await js.pull_subscribe("review.item.decided.identity", durable="identity-review-decisions",
                                   stream="REVIEW")
    (message,) = await mine.fetch(1, timeout=2)
    ack_subject = message.reply
    await message.ack()
    await nc.close()
    nc, js = await as_user(bus, "course")
    takeover = ConsumerConfig(durable_name="identity-review-decisions", filter_subject="review.nothing",
                              ack_policy=AckPolicy.EXPLICIT)
    with pytest.raises(REFUSED):  # reshaping it: a changed filter would make identity miss decisions
        await js.add_consumer("REVIEW", takeover)
    assert (await js.consumer_info("REVIEW", "identity-review-decisions")).config.filter_subject == \
        "review.item.decided.identity"
    with pytest.raises(REFUSED):  # fetching identity's events away from it
        await nc.request("$JS.API.CONSUMER.MSG.NEXT.REVIEW.identity-review-decisions", b'{"batch":1}', timeout=0.5)
    before = nc.stats["out_msgs"]
    await nc.publish(ack_subject, b"+TERM")  # refused by the server: logged there, nothing happens
    await nc.flush()
    assert nc.stats["out_msgs"] == before + 1
    await nc.close()
    log = (bus.data_dir / "logs" / "nats.log").read_text()
    assert f'Publish Violation - Subject "{ack_subject}"' in log


def test_every_durable_consumer_in_the_code_belongs_to_its_services_nats_user() -> None:
    import re
    from pathlib import Path

    from servicekit.messaging import DURABLES
    from services.review.bootstrap import OWNERS

    root = Path(__file__).resolve().parents[2] / "services"
    found: dict[str, set[str]] = {}
    for bootstrap in root.glob("*/bootstrap.py"):
        # A service's subscriptions: in its bootstrap, or in the entrypoints it wires (the learning service's).
        text = "\n".join(path.read_text(encoding="utf-8")
                         for path in [bootstrap, *bootstrap.parent.glob("entrypoints/*.py")])
        for name in re.findall(r'durable="([^"]+)"', text):
            found.setdefault(bootstrap.parent.name, set()).add(name)
        if "durable=WORK_QUEUE" in text:
            found.setdefault("media-worker", set()).add("media-workers")
        if "durable=CHUNK_QUEUE" in text:  # the chunks of long uploads (docs/media-chunks.md)
            found.setdefault("media-worker", set()).add("media-chunk-workers")
    found["review"] = {f"review-{owner}-{kind}" for owner in OWNERS for kind in ("requests", "withdrawals")}
    assert found == {user: set(durables) for user, durables in DURABLES.items()}


async def publish_as(bus: Mesh, user: str, subject: str, data: bytes = b"fact") -> int:
    """One event published by its producer; its sequence in the stream."""
    nc, js = await as_user(bus, user)
    ack = await js.publish(subject, data, headers={EVENT_ID_HEADER: str(uuid.uuid4())})
    await nc.close()
    return ack.seq


async def reads(bus: Mesh, user: str, stream: str, subject: str, durable: str | None = None) -> bool:
    """Whether `user` can create a consumer on `stream` filtered to `subject`, and fetch through it."""
    nc, js = await as_user(bus, user)
    try:
        sub = await js.pull_subscribe(subject, durable=durable, stream=stream)
        return bool(await sub.fetch(1, timeout=2))
    except REFUSED:
        return False
    finally:
        await nc.close()


async def test_a_service_reads_only_the_streams_and_subjects_it_consumes(bus: Mesh) -> None:
    await all_streams(bus)
    await publish_as(bus, "identity", "identity.school.created")
    await publish_as(bus, "identity", "identity.session.revoked")
    await publish_as(bus, "review", "review.item.decided.identity")
    await publish_as(bus, "review", "review.item.decided.course")
    # The course service follows revoked sessions and its own review decisions; nothing else of IDENTITY or REVIEW.
    assert await reads(bus, "course", "IDENTITY", "identity.session.revoked")
    assert await reads(bus, "course", "REVIEW", "review.item.decided.course")
    assert not await reads(bus, "course", "IDENTITY", "identity.school.created")
    assert not await reads(bus, "course", "IDENTITY", "identity.>")
    assert not await reads(bus, "course", "REVIEW", "review.item.decided.identity")
    assert not await reads(bus, "course", "REVIEW", "review.item.decided.identity", durable="course-snoop")
    # ... while the services that consume them can, and a producer reads back its own stream.
    assert await reads(bus, "identity", "REVIEW", "review.item.decided.identity")
    assert await reads(bus, "identity", "IDENTITY", "identity.school.created")
    assert await reads(bus, "gateway", "IDENTITY", "identity.session.revoked")
    # The gateway and the workers read nothing but what they consume.
    assert not await reads(bus, "gateway", "IDENTITY", "identity.school.created")
    assert not await reads(bus, "gateway", "REVIEW", "review.item.decided.identity")
    assert not await reads(bus, "media-worker", "IDENTITY", "identity.session.revoked")
    assert not await reads(bus, "media-worker", "REVIEW", "review.item.decided.media")


async def test_a_consumer_cannot_widen_its_filter_past_the_create_subject(bus: Mesh) -> None:
    await all_streams(bus)
    nc, js = await as_user(bus, "course")
    try:
        # nats-server holds the request to the filter its subject names: the one the course service may create ...
        request = {"stream_name": "REVIEW", "config": ConsumerConfig(
            name="widened", filter_subject="review.item.decided.identity", ack_policy=AckPolicy.NONE).as_dict()}
        reply = await nc.request("$JS.API.CONSUMER.CREATE.REVIEW.widened.review.item.decided.course",
                                 json.dumps(request).encode(), timeout=2)
        assert json.loads(reply.data)["error"]["err_code"] == 10131  # filter subject mismatch
        # ... and the forms that carry no filter (legacy ephemeral and durable creates) are refused to it.
        for subject in ("$JS.API.CONSUMER.CREATE.REVIEW", "$JS.API.CONSUMER.DURABLE.CREATE.REVIEW.widened"):
            with pytest.raises(REFUSED):
                await nc.request(subject, json.dumps(request).encode(), timeout=0.5)
        with pytest.raises(REFUSED):  # consumers of several filters go through the filterless create
            await js.add_consumer("REVIEW", ConsumerConfig(
                name="several", filter_subjects=["review.item.decided.course", "review.item.decided.identity"]))
    finally:
        await nc.close()
    # Not even on its own stream, where the filterless create would reshape another service's durable by its name.
    nc, js = await as_user(bus, "review")
    await js.pull_subscribe("identity.review.requested", durable="review-identity-requests", stream="IDENTITY")
    await nc.close()
    nc, js = await as_user(bus, "identity")
    try:
        reshaped = ConsumerConfig(name="review-identity-requests", filter_subject="identity.>",
                                  ack_policy=AckPolicy.EXPLICIT)
        request = {"stream_name": "IDENTITY", "config": reshaped.as_dict()}
        with pytest.raises(REFUSED):
            await nc.request("$JS.API.CONSUMER.CREATE.IDENTITY", json.dumps(request).encode(), timeout=0.5)
        info = await js.consumer_info("IDENTITY", "review-identity-requests")
        assert info.config.filter_subject == "identity.review.requested"
    finally:
        await nc.close()


async def test_a_service_cannot_get_or_listen_to_messages_of_a_stream_it_does_not_consume(bus: Mesh) -> None:
    await all_streams(bus)
    sequence = await publish_as(bus, "identity", "identity.school.created")
    nc, js = await as_user(bus, "course")
    heard: list[Msg] = []

    async def hear(message: Msg) -> None:
        heard.append(message)

    try:
        for attempt in (lambda: js.get_msg("IDENTITY", sequence), lambda: js.get_msg("IDENTITY", sequence, direct=True),
                        lambda: js.get_last_msg("IDENTITY", "identity.school.created"),
                        lambda: js.stream_info("LEARNING")):
            with pytest.raises(REFUSED):
                await attempt()
        await nc.subscribe("identity.>", cb=hear)
        await nc.subscribe("review.item.decided.identity", cb=hear)
        await nc.flush()
        await publish_as(bus, "identity", "identity.school.created")
        await publish_as(bus, "review", "review.item.decided.identity")
        await asyncio.sleep(0.5)
        assert heard == []
    finally:
        await nc.close()
    log = (bus.data_dir / "logs" / "nats.log").read_text()
    assert '"$G/user:course" - Subscription Violation - Subject "identity.>"' in log


async def test_the_gateway_follows_revocations_and_keeps_its_rate_limit_bucket(bus: Mesh) -> None:
    """The reads the gateway needs still work: its ephemeral revocation follower and its key-value bucket."""
    from nats.js.api import KeyValueConfig

    from gateway.ratelimit import BUCKET
    from servicekit.auth import RevocationList

    await all_streams(bus)
    nc, js = await as_user(bus, "gateway")
    try:
        revocations = RevocationList()
        follower = asyncio.create_task(revocations.follow(js, poll=0.2))
        revoked = identity_pb2.SessionsRevoked(user_id=str(uuid.uuid4()), session_ids=["s1"])
        await publish_as(bus, "identity", "identity.session.revoked", revoked.SerializeToString())
        for _ in range(50):
            if revocations.applied:
                break
            await asyncio.sleep(0.1)
        follower.cancel()
        assert revocations.applied
        kv = await js.create_key_value(KeyValueConfig(bucket=BUCKET, history=1))
        await kv.put("counter", b"1")
        assert (await kv.get("counter")).value == b"1"
    finally:
        await nc.close()


def test_the_declared_consumers_are_the_review_saga_and_revocation_subjects_of_the_code() -> None:
    from servicekit.auth import REVOCATION_STREAM, REVOCATION_SUBJECT
    from servicekit.messaging import CONSUMERS, REVIEWED_OWNERS, REVOCATIONS, Reads
    from servicekit.reviews import decided_subject, requested_subject, withdrawn_subject

    assert (REVOCATIONS.stream, REVOCATIONS.subject) == (REVOCATION_STREAM, REVOCATION_SUBJECT)
    for owner in REVIEWED_OWNERS:
        assert Reads("REVIEW", decided_subject(owner), f"{owner}-review-decisions") in CONSUMERS[owner]
        stream = PRODUCERS[owner]
        assert {Reads(stream, requested_subject(owner), f"review-{owner}-requests"),
                Reads(stream, withdrawn_subject(owner), f"review-{owner}-withdrawals")} <= set(CONSUMERS["review"])
    # Every process that verifies tokens follows revocations: all but the workers, which verify none.
    assert {user for user, reads in CONSUMERS.items() if REVOCATIONS in reads} == set(NATS_USERS) - {"media-worker"}
    for user, reads in CONSUMERS.items():
        for read in reads:
            assert read.stream in STREAMS and read.subject.startswith(STREAMS[read.stream][:-1]), (user, read)
