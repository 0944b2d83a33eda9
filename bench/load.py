"""A bounded closed-loop load generator: N concurrent clients, each sending requests until a total is reached."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (f"{self.name:<44} {self.rps:9.1f} req/s   p50 {self.p50_ms:8.2f} ms   "
                f"p99 {self.p99_ms:8.2f} ms   ({self.requests} requests)")


async def run(name: str, call: Callable[[], Awaitable[None]], total: int, concurrency: int = 50) -> Figures:
    latencies: list[float] = []
    remaining = total

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Figures(name, len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000)
