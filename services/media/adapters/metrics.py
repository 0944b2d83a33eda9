"""The media workers' figures (docs/metrics.md): jobs by kind and outcome, their durations, the work queues' depth
as KEDA reads it (pending plus unacknowledged of each durable consumer)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

JOBS = Counter("mooc_media_jobs_total", "Media jobs finished, by kind (remux, transcode, split, chunk, join), "
               "outcome (done, failed, skipped, retried) and reason code.", ["kind", "outcome", "reason"])
JOB_SECONDS = Histogram("mooc_media_job_duration_seconds", "Time a worker spent on one media job, by kind.",
                        ["kind"], buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 2400))
QUEUE_DEPTH = Gauge("mooc_media_queue_depth", "Jobs pending or delivered but not acknowledged, per durable media "
                    "consumer (what KEDA scales the workers on).", ["queue"])


def record_job(kind: str, outcome: str, reason: str, started: float) -> None:
    """One finished job: `outcome` done, failed (for good), skipped (stale) or retried (a passing failure);
    `reason` a bounded code, never free text; `started` its time.monotonic() at the start."""
    JOBS.labels(kind, outcome, reason).inc()
    JOB_SECONDS.labels(kind).observe(time.monotonic() - started)


async def watch_queue_depth(js: JetStreamContext, stream: str, durables: Iterable[str], interval: float) -> None:
    """Refresh QUEUE_DEPTH from each consumer's info every `interval` seconds (num_pending + num_ack_pending)."""
    durables = tuple(durables)
    while True:
        for durable in durables:
            try:
                info = await js.consumer_info(stream, durable)
            except Exception as error:  # noqa: BLE001 - not created yet, or NATS away: try again next round
                log.debug("queue depth of %s unknown: %s", durable, error)
                continue
            QUEUE_DEPTH.labels(durable).set((info.num_pending or 0) + (info.num_ack_pending or 0))
        await asyncio.sleep(interval)
