"""A bounded closed-loop load generator: N concurrent clients, each sending requests until a total is reached."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figures:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    generator_cpu: float | None = None  # cores the load generator itself used meanwhile, when measured

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (f"{self.name:<44} {self.rps:9.1f} req/s   p50 {self.p50_ms:8.2f} ms   "
                f"p99 {self.p99_ms:8.2f} ms   ({self.requests} requests"
                + ("" if self.generator_cpu is None else f", generator CPU {self.generator_cpu:.2f} cores") + ")")


async def run(name: str, call: Callable[[], Awaitable[None]], total: int, concurrency: int = 50) -> Figures:
    """The figures of `total` calls; the generator's CPU is this process's (it runs nothing else meanwhile)."""
    latencies: list[float] = []
    remaining = total

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    return await timed(name, latencies, [client() for _ in range(concurrency)])


async def timed(name: str, latencies: list[float], clients: list[Coroutine[Any, Any, None]]) -> Figures:
    """Runs the clients together; the figures of the latencies they record, with this process's CPU meanwhile."""
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*clients)
    elapsed = time.perf_counter() - started
    cpu = (time.process_time() - cpu_started) / elapsed
    cuts = statistics.quantiles(latencies, n=100)
    return Figures(name, len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000, generator_cpu=cpu)


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """Each process's CPU time so far (user + system, from /proc), to charge a run's work to the platform's own
    processes whatever the load generator costs."""
    ticks = os.sysconf("SC_CLK_TCK")
    spent = {}
    for name, pid in pids.items():
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        spent[name] = (int(fields[11]) + int(fields[12])) / ticks
    return spent
