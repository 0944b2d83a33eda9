"""python -m bench.imports: sign-in latency at rest, then while a 50,000-row XLSX import is processed and a hostile
1.5M-row XLSX (a small file inflating to 1.5 million rows) is being refused, printed as a ratio; then the course
service's read latency at rest and while it files a 50,000-row registry import."""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time

import httpx

from bench.__main__ import PASSWORD, bench_mesh, setup
from devmesh.client import Api
from tests.spreadsheet_files import bomb_xlsx, xlsx

SIGNERS = 4            # accounts signing in, one client each, back to back
REST_SECONDS = 8.0
IMPORT_ROWS = 50_000
HOSTILE_ROWS = 1_500_000


def import_xlsx(rows: int = IMPORT_ROWS) -> bytes:
    base = random.randrange(10**7, 9 * 10**7)
    return xlsx([["学号", "姓名", "手机号", "邮箱", "班级"],
                 *([f"I{base}{i:06d}", f"学生{i}", f"13{base + i:09d}", f"s{i}@bench.edu.cn", f"班级{i % 40}"]
                   for i in range(rows))])


def percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


async def sign_ins(http: httpx.AsyncClient, logins: list[str], until: asyncio.Event | float) -> list[float]:
    """Each account signs in back to back until `until` (a deadline, or an event that is set)."""
    latencies: list[float] = []

    def done() -> bool:
        return until.is_set() if isinstance(until, asyncio.Event) else time.monotonic() >= until

    async def client(login: str) -> None:
        while not done():
            started = time.perf_counter()
            response = await http.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"sign-in answered {response.status_code}: {response.text[:200]}")

    await asyncio.gather(*(client(login) for login in logins))
    return latencies


async def measure(gateway_url: str, admin: Api, school_id: str, logins: list[str]) -> None:
    good, hostile = import_xlsx(), bomb_xlsx(HOSTILE_ROWS)
    headers = {"Authorization": f"Bearer {admin.token}"}
    async with httpx.AsyncClient(base_url=gateway_url, timeout=300) as http:
        rest = await sign_ins(http, logins, time.monotonic() + REST_SECONDS)
        finished = asyncio.Event()
        timings: dict[str, float] = {}

        async def upload(name: str, content: bytes) -> httpx.Response:
            return await http.post(f"/api/v1/schools/{school_id}/imports", params={"role": "student"},
                                   files={"file": (name, content)}, headers=headers)

        async def imports() -> None:
            try:
                await asyncio.sleep(0.5)
                started = time.perf_counter()
                response = await upload("students.xlsx", good)
                timings["import"] = time.perf_counter() - started
                assert response.status_code == 200 and response.json()["created"] == IMPORT_ROWS, response.text[:300]
            finally:
                finished.set()

        async def hostile_uploads() -> None:
            refusals: list[float] = []
            while not finished.is_set():
                started = time.perf_counter()
                response = await upload("hostile.xlsx", hostile)
                refusals.append(time.perf_counter() - started)
                assert response.status_code == 400, (response.status_code, response.text[:300])
            timings["hostile"] = statistics.median(refusals)
            timings["hostile_count"] = len(refusals)

        loaded, *_ = await asyncio.gather(sign_ins(http, logins, finished), imports(), hostile_uploads())
    rest_p50, rest_p99 = percentiles(rest)
    load_p50, load_p99 = percentiles(loaded)
    print(f"\n== sign-in latency, {len(logins)} clients signing in back to back (argon2id)")
    print(f"at rest:                                   p50 {rest_p50:8.1f} ms   p99 {rest_p99:8.1f} ms   "
          f"({len(rest)} sign-ins)")
    print(f"during a {IMPORT_ROWS}-row import + hostile XLSX: p50 {load_p50:8.1f} ms   p99 {load_p99:8.1f} ms   "
          f"({len(loaded)} sign-ins)")
    print(f"ratio loaded/rest:                         p50 {load_p50 / rest_p50:8.2f}x    "
          f"p99 {load_p99 / rest_p99:8.2f}x")
    print(f"the {IMPORT_ROWS}-row XLSX ({len(good) / 1e6:.1f} MB) imported in {timings['import']:.2f} s; the hostile "
          f"XLSX ({len(hostile) / 1e3:.0f} kB, {HOSTILE_ROWS} rows) was refused {timings['hostile_count']:.0f} times, "
          f"in {timings['hostile'] * 1000:.0f} ms (median)")


async def latencies_while(http: httpx.AsyncClient, path: str, headers: dict, until: asyncio.Event | float,
                          clients: int = SIGNERS) -> list[float]:
    """`clients` readers GET `path` back to back until `until` (a deadline, or an event that is set)."""
    latencies: list[float] = []

    def done() -> bool:
        return until.is_set() if isinstance(until, asyncio.Event) else time.monotonic() >= until

    async def client() -> None:
        while not done():
            started = time.perf_counter()
            response = await http.get(path, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def measure_registry(gateway_url: str, admin: Api) -> None:
    """The course service's reads while it files a 50,000-row registry import and refuses the hostile XLSX."""
    # Leaders are teacher accounts of the school, by staff number: the SIGNERS teachers made in main().
    good = xlsx([["课程名称", "课程负责人工号或用户名"],
                 *([f"基准课程{i}", f"SIGN{i % SIGNERS}"] for i in range(IMPORT_ROWS))])
    hostile = bomb_xlsx(HOSTILE_ROWS)
    headers = {"Authorization": f"Bearer {admin.token}"}
    path = "/api/v1/registry?page_size=20"
    async with httpx.AsyncClient(base_url=gateway_url, timeout=300) as http:
        rest = await latencies_while(http, path, headers, time.monotonic() + REST_SECONDS)
        finished = asyncio.Event()
        timings: dict[str, float] = {}

        async def imports() -> None:
            try:
                await asyncio.sleep(0.5)
                started = time.perf_counter()
                response = await http.post("/api/v1/registry/imports", files={"file": ("registry.xlsx", good)},
                                           headers=headers)
                timings["import"] = time.perf_counter() - started
                assert response.status_code == 200 and response.json()["created"] == IMPORT_ROWS, response.text[:300]
                response = await http.post("/api/v1/registry/imports", files={"file": ("hostile.xlsx", hostile)},
                                           headers=headers)
                assert response.status_code == 400, response.text[:300]
            finally:
                finished.set()

        loaded, _ = await asyncio.gather(latencies_while(http, path, headers, finished), imports())
    rest_p50, rest_p99 = percentiles(rest)
    load_p50, load_p99 = percentiles(loaded)
    print(f"\n== course service: GET /registry, {SIGNERS} clients back to back")
    print(f"at rest:                                   p50 {rest_p50:8.1f} ms   p99 {rest_p99:8.1f} ms   "
          f"({len(rest)} reads)")
    print(f"during a {IMPORT_ROWS}-row registry import:       p50 {load_p50:8.1f} ms   p99 {load_p99:8.1f} ms   "
          f"({len(loaded)} reads)")
    print(f"ratio loaded/rest:                         p50 {load_p50 / rest_p50:8.2f}x    "
          f"p99 {load_p99 / rest_p99:8.2f}x")
    print(f"the {IMPORT_ROWS}-row registry XLSX ({len(good) / 1e6:.1f} MB) was filed in {timings['import']:.2f} s")


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        # Sign-ins back to back pass the gateway's per-address and per-account login limits within seconds:
        # this benchmark measures latency, so the limits are raised out of its way.
        mesh = bench_mesh(data, GATEWAY_RATE_LIMIT_LOGIN="1000000/minute",
                          GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT="1000000/minute")
        try:
            api, school, admin = setup(mesh)
            logins = []
            for i in range(SIGNERS):
                created = admin.post("/users", {"role": "teacher", "school_id": school["id"], "number": f"SIGN{i}",
                                                "phone": f"150{random.randrange(10**8):08d}",
                                                "name": f"签到{i}"})
                credentials = created["credentials"]
                api.first_login(credentials["username"], credentials["initial_password"], PASSWORD)
                logins.append(credentials["username"])
            asyncio.run(measure(mesh.gateway_url, admin, school["id"], logins))
            asyncio.run(measure_registry(mesh.gateway_url, admin))
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
