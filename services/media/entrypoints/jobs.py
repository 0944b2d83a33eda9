"""A worker's job loop over several work queues in order of preference: whole files first, and a whole file that
arrives while the worker encodes a chunk of a long one stops that chunk until it is done, so a short upload never
waits for a long one's transcode, nor even for its current chunk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import nats.errors

from servicekit.consumer import JobConsumer, release

log = logging.getLogger(__name__)
# How long a worker waits on the preferred queue before looking at the next: short, as a job found in the next
# queue is then worked on however long it takes.
PREFERRED_WAIT_SECONDS = 0.2
LAST_WAIT_SECONDS = 1.0


class PreferringJobs:
    """Takes the next job from the first of `queues` that has one; each job goes through its JobConsumer (kept
    alive while it runs, acked after, retried or given up on failure). While a job of a later queue runs, the
    first queue is still watched: its jobs run at once, inside `preempt()` (which stops the later job's tool)."""

    def __init__(self, queues: Sequence[JobConsumer],
                 preempt: Callable[[], AbstractAsyncContextManager[Any]] | None = None) -> None:
        self.queues = tuple(queues)
        self.preempt = preempt

    async def run(self) -> None:
        subscriptions = [await queue.subscribe() for queue in self.queues]
        try:
            while True:
                for position, (queue, subscription) in enumerate(zip(self.queues, subscriptions, strict=True)):
                    last = position == len(self.queues) - 1
                    messages = await self._fetch(queue, subscription, LAST_WAIT_SECONDS if last
                                                 else PREFERRED_WAIT_SECONDS)
                    if messages is None:
                        continue
                    for message in messages:
                        if position == 0 or self.preempt is None:
                            await queue.process(message)
                        else:
                            await self._preemptible(queue.process(message), subscriptions[0])
                    break  # after a job, the preferred queue first again
        finally:
            for subscription in subscriptions:  # a stopped worker's open pull must not take a job
                await release(subscription)

    async def _preemptible(self, work: Any, urgent: Any) -> None:
        assert self.preempt is not None
        task = asyncio.ensure_future(work)
        try:
            while not task.done():
                messages = await self._fetch(self.queues[0], urgent, PREFERRED_WAIT_SECONDS)
                for message in messages or ():
                    async with self.preempt():
                        await self.queues[0].process(message)
            await task
        finally:
            if not task.done():  # this loop was cancelled (the worker stops): the job stops with it
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    @staticmethod
    async def _fetch(queue: JobConsumer, subscription: Any, wait: float) -> list | None:
        try:
            return await subscription.fetch(1, timeout=wait)
        except nats.errors.TimeoutError:
            return None
        except Exception as error:  # disconnected: the client reconnects by itself
            log.warning("jobs %s: fetch failed: %s", queue.subscription.durable, error)
            await asyncio.sleep(0.5)
            return None
