"""Metrics scraped over HTTP from a real process: gRPC calls through ServiceHost's interceptors, an event through the
outbox, a real NATS and a consumer that fails once (a failure, a redelivery, then applied), and the lag gauge."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from contracts.review.v1 import review_pb2, review_pb2_grpc
from devmesh.mesh import free_metrics_ports
from servicekit.auth import TokenVerifier
from servicekit.consumer import EventConsumer, EventMeta, Subscription
from servicekit.grpc_server import CallerInterceptor, ServiceHost
from servicekit.messaging import ensure_stream
from servicekit.metrics import Every, start_metrics_server
from servicekit.outbox import OutboxRelay, emit
from tests.integration.test_consumer import _no_pending, count_applied, inbox, make_db, outbox, record
from tests.support import NatsServer, eventually, metric_value, scrape_metrics


@pytest.fixture(scope="module")
def metrics_url() -> str:
    port = start_metrics_server(free_metrics_ports()["gateway"], "127.0.0.1")
    assert port is not None
    return f"http://127.0.0.1:{port}/metrics"


async def test_grpc_calls_are_counted_and_timed_by_service_method_and_final_code(metrics_url: str) -> None:
    async def no_keys() -> str:
        raise AssertionError("no token is presented in this test")

    host = ServiceHost("metrics-test", CallerInterceptor(TokenVerifier(no_keys, "test")))
    host.add_servicer(review_pb2_grpc.add_ReviewServiceServicer_to_server, review_pb2_grpc.ReviewServiceServicer(),
                      "review.v1.ReviewService")
    port = await host.start("127.0.0.1", 0)
    before = scrape_metrics(metrics_url)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            await health.Check(health_pb2.HealthCheckRequest(service="review.v1.ReviewService"), timeout=5)
            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.aio.AioRpcError) as refused:  # refused by the caller interceptor inside
                await review_pb2_grpc.ReviewServiceStub(channel).ListItems(review_pb2.ListItemsRequest(), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await host.stop(0)
    after = scrape_metrics(metrics_url)

    health_labels = {"service": "grpc.health.v1.Health", "method": "Check"}
    name = "mooc_grpc_server_handled_total"
    for labels, moved in ((health_labels | {"code": "OK"}, 1), (health_labels | {"code": "NOT_FOUND"}, 1),
                          ({"service": "review.v1.ReviewService", "method": "ListItems",
                            "code": "UNAUTHENTICATED"}, 1)):
        assert metric_value(after, name, **labels) - metric_value(before, name, **labels) == moved, labels
    timed = "mooc_grpc_server_handling_seconds_count"
    assert metric_value(after, timed, **health_labels) - metric_value(before, timed, **health_labels) == 2
    assert metric_value(after, "mooc_grpc_server_handling_seconds_bucket", **health_labels, le="+Inf") >= 2
    assert {frozenset(labels) for labels, _ in after[name]} == {frozenset({"service", "method", "code"})}


async def test_an_event_through_the_outbox_and_a_consumer_moves_every_messaging_figure(
        database_url, nats_server: NatsServer, metrics_url: str) -> None:
    db = await make_db(database_url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_stream(js, "REVIEW")
    run = uuid.uuid4().hex[:8]
    service, durable = f"svc{run}", f"t{run}"
    subject = f"review.item.decided.metrics{run}"
    subject_ids = [str(uuid.uuid4()) for _ in range(3)]
    async with db.transaction() as session:
        for subject_id in subject_ids:
            await emit(session, outbox, subject, review_pb2.ReviewDecided(subject_id=subject_id, decision="approved"))
    relay = OutboxRelay(db, outbox, js, service=service, gauge_interval=0.0)

    # Written, not yet published: the depth counts them and the oldest has an age.
    await relay._refresh_gauges()
    waiting = scrape_metrics(metrics_url)
    assert metric_value(waiting, "mooc_outbox_depth", service=service) >= 3  # the database may hold earlier tests' rows
    assert metric_value(waiting, "mooc_outbox_oldest_age_seconds", service=service) > 0
    assert await relay.publish_pending() >= 3
    await relay._refresh_gauges()
    published = scrape_metrics(metrics_url)
    assert metric_value(published, "mooc_outbox_depth", service=service) == 0
    assert metric_value(published, "mooc_outbox_oldest_age_seconds", service=service) == 0

    failures = []

    async def fails_once(session, event, meta: EventMeta) -> None:  # type: ignore[no-untyped-def]
        if event.subject_id == subject_ids[0] and not failures:
            failures.append(meta.delivered)
            raise RuntimeError("a passing failure")
        await record(session, event, meta)

    spec = Subscription(durable=durable, stream="REVIEW", filter_subject=subject,
                        handlers={review_pb2.ReviewDecided: fails_once}, batch=1, ack_wait=1.0)
    consumer = EventConsumer(db, inbox, js, spec, service=service)
    consumer._lag_due = Every(0.2)  # the lag read every 0.2 s, not 10
    lags: list[float] = []
    refresh, process = consumer._refresh_lag, consumer.process
    lost_acks: list[str] = []

    async def watch_lag(sub) -> None:  # type: ignore[no-untyped-def]
        await refresh(sub)
        lags.append(metric_value(scrape_metrics(metrics_url), "mooc_consumer_lag", service=service, consumer=durable))

    async def crash_before_acking_the_last(message) -> None:  # type: ignore[no-untyped-def]
        """The last event is applied and committed, then its ack is lost (a killed process): it comes back."""
        handler, payload, meta = consumer.decode(message)
        if payload.subject_id == subject_ids[2] and not lost_acks:
            lost_acks.append(meta.event_id)
            await consumer._apply_once(handler, payload, meta)
            return
        await process(message)

    consumer._refresh_lag = watch_lag  # type: ignore[method-assign]
    consumer.process = crash_before_acking_the_last  # type: ignore[method-assign]
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: _no_pending(js, spec.stream, spec.durable), within=20)
        for subject_id in subject_ids:
            assert await count_applied(db, subject_id) == 1
        await asyncio.sleep(0.5)  # a lag read after the last event
    finally:
        task.cancel()
    after = scrape_metrics(metrics_url)
    labels = {"service": service, "consumer": durable}
    assert lags[0] == 3 and lags[-1] == 0, lags  # all three waited before the first fetch
    assert failures == [1] and lost_acks
    assert metric_value(after, "mooc_consumer_redeliveries_total", **labels) == 2  # the failed one, the unacked one
    assert metric_value(after, "mooc_consumer_events_total", **labels, outcome="failed") == 1
    assert metric_value(after, "mooc_consumer_events_total", **labels, outcome="applied") == 2  # + 1 the crash hid
    assert metric_value(after, "mooc_consumer_events_total", **labels, outcome="duplicate") == 1
    await nc.close()
    await db.dispose()
