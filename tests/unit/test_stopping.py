"""Stopping background tasks: one that swallows a cancellation is asked again; one that never stops is named."""

from __future__ import annotations

import asyncio
import logging

import pytest

from servicekit.stopping import stop_tasks


async def test_a_task_that_swallows_its_first_cancellation_is_stopped_by_the_next() -> None:
    swallowed = 0

    async def loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:  # the second request is honoured
                    raise
                swallowed += 1  # as 3.11's wait_for or nats-py's next_msg can do once

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    assert await stop_tasks([task], within=5) == set()
    assert task.cancelled() and swallowed == 1


async def test_a_task_that_never_stops_is_named_with_its_stack_and_left(caplog: pytest.LogCaptureFixture) -> None:
    released = False

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if released:
                    raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR):
        started = asyncio.get_running_loop().time()
        left = await stop_tasks([task], within=0.6)
        took = asyncio.get_running_loop().time() - started
    assert left == {task} and not task.done() and 0.5 < took < 2
    assert "did not stop within" in caplog.text and "stubborn" in caplog.text
    released = True  # the test's loop can close
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_tasks_that_stop_at_once_are_not_waited_for() -> None:
    tasks = [asyncio.create_task(asyncio.sleep(10)) for _ in range(3)]
    started = asyncio.get_running_loop().time()
    assert await stop_tasks(tasks) == set()
    assert asyncio.get_running_loop().time() - started < 0.2 and all(task.cancelled() for task in tasks)
