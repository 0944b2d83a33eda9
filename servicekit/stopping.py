"""Stopping background tasks for good, within a bound.

A task asked once to cancel can swallow the request: `asyncio.wait_for` in Python 3.11 returns its inner result
when that finishes in the same step as the cancellation, and nats-py turns a cancelled `next_msg` into a
`ConnectionClosedError` that a worker's `except Exception` retries. A loop doing either keeps running, and a
shutdown waiting on it never ends (a service once outlived its 15 s to stop). So a stop asks again until every
task is done, and after `within` seconds names the ones still running, with where they are, and goes on."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

ASK_AGAIN_SECONDS = 0.25


async def stop_tasks(tasks: Iterable[asyncio.Task], within: float = 5.0) -> set[asyncio.Task]:
    """Cancels `tasks` and waits for them, cancelling again those that go on; returns the ones still running
    after `within` seconds (logged with their stacks), an empty set when all stopped."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(ASK_AGAIN_SECONDS, max(deadline - loop.time(), 0)))
        if pending and loop.time() >= deadline:
            for task in pending:
                stack = io.StringIO()
                task.print_stack(file=stack)
                log.error("a task did not stop within %.0f s of being cancelled: %s", within, stack.getvalue())
            break
    return pending
