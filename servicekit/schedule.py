"""Background jobs that run on a period (reminders, daily flags): a host worker that runs a job, sleeps, repeats.
The job itself must be idempotent (it may run twice on two replicas, or again after a restart)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
# The period of a service's reminder and flag sweeps (a test mesh: every second).
SWEEP_ENV, SWEEP_DEFAULT_SECONDS = "LEARNING_SWEEP_SECONDS", 300.0


def every(period_env: str, default_seconds: float, job: Callable[[], Awaitable[object]]
          ) -> Callable[[], Awaitable[None]]:
    """A worker running `job` every `period_env` seconds (unset: `default_seconds`); a job that fails is logged
    and run again next period."""

    async def run() -> None:
        period = float(os.environ.get(period_env, "") or default_seconds)
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic job %s failed; it runs again in %.0f s", job, period)
            await asyncio.sleep(period)

    return run
