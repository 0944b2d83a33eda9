"""HTTP load from `wrk`, a compiled generator (Debian's package), so that on a 2-core machine the load generator
does not eat the cores the mesh is measured on; the generator's own CPU is printed beside each figure.

`wrk` is looked up on PATH; when it is missing and this runs as root with apt (as on the project's machines), it
is installed; else the benchmarks fall back to the lean Python client (bench/http.py), its CPU shown beside."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.load import Figures, timed

LUA = """
local paths = {%s}
local headers = {}
%s
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], headers)
end
"""


def wrk_binary() -> str | None:
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "wrk"], capture_output=True, check=False)
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(name: str, base_url: str, paths: list[str], token: str = "", seconds: int = 10,
            connections: int = 50) -> Figures:
    """GET the paths in turn from `connections` kept-alive connections for `seconds`; latency percentiles from
    wrk's own (corrected) histogram. Any answer other than 2xx fails the benchmark."""
    binary = wrk_binary()
    if not binary:
        return asyncio.run(_python_load(name, base_url, paths, token, seconds, connections))
    header = f'headers["Authorization"] = {_lua_string("Bearer " + token)}' if token else ""
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "paths.lua"
        script.write_text(LUA % (", ".join(_lua_string(p) for p in paths), header))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        command = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "--latency",
                   "-s", str(script), base_url]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = done.stdout
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _milliseconds(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _milliseconds(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / elapsed
    return Figures(f"{name} [wrk]", total, total / rps, p50, p99, generator_cpu=cpu)


async def _python_load(name: str, base_url: str, paths: list[str], token: str, seconds: int,
                       connections: int) -> Figures:
    """Without wrk: the same load from the lean Python client (its CPU, shown beside, competes with the mesh)."""
    from bench.http import Connection

    latencies: list[float] = []
    turn = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        connection = Connection(base_url)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, body = await connection.request("GET", paths[next(turn) % len(paths)], token)
            assert 200 <= status < 300, body[:300]
            latencies.append(time.perf_counter() - started)
        await connection.close()

    return await timed(f"{name} [python]", latencies, [client() for _ in range(connections)])
