"""python -m bench [login|read|import ...]: starts a private mesh on free ports and prints the figures."""

from __future__ import annotations

import asyncio
import io
import random
import sys
import tempfile
import time
from pathlib import Path

import grpc
import httpx

from bench.load import cpu_seconds, run
from bench.wrk import run_wrk
from contracts.identity.v1 import identity_pb2, identity_pb2_grpc
from devmesh.client import Api
from devmesh.mesh import Mesh, Ports

ADMIN, ADMIN_PASSWORD = "bench-admin", "Bench-admin-2026"
PASSWORD = "Bench-user-2026"


def bench_mesh(data: str, **extra_env: str) -> Mesh:
    """A private mesh on free ports with the benchmarks' platform admin, started."""
    mesh = Mesh(Path(data), Ports.free(), extra_env={
        "IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN, "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LOG_LEVEL": "WARNING",
        # The benchmarks measure sign-in itself, back to back from one address: not the rate limiter.
        "GATEWAY_RATE_LIMIT_LOGIN": "1000000/minute", "GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT": "1000000/minute",
        **extra_env})
    mesh.start()
    return mesh


def setup(mesh: Mesh) -> tuple[Api, dict, Api]:
    api = Api(mesh.gateway_url)
    platform = api.login(ADMIN, ADMIN_PASSWORD)
    code = f"B{random.randrange(10**6)}"
    school = platform.post("/schools", {"code": code, "name": f"基准大学{code}"})
    created = platform.post("/users", {"role": "school_admin", "school_id": school["id"], "username": f"{code}-adm",
                                       "name": "教务处"})
    admin = api.first_login(created["credentials"]["username"], created["credentials"]["initial_password"], PASSWORD)
    return api, school, admin


def make_center(api: Api) -> Api:
    """The province 33 center admin of the benchmarks, signed in."""
    platform = api.login(ADMIN, ADMIN_PASSWORD)
    created = platform.post("/users", {"role": "center_admin", "province_code": "33", "username": "bench-center",
                                       "name": "中心"})
    return api.first_login("bench-center", created["credentials"]["initial_password"], PASSWORD)


TERM = "2026-autumn"  # the term the benchmarks' runs are opened for: under way today


def open_term(api: Api) -> None:
    """The province 33 center opens the benchmarks' term."""
    make_center(api).post("/terms", {"code": TERM, "name": "2026秋", "starts_on": "2026-09-01",
                                      "ends_on": "2027-01-20"})


def new_user(api: Api, admin: Api, school: dict, role: str, number: str, name: str) -> Api:
    """An account the school admin makes, signed in once to choose its password."""
    made = admin.post("/users", {"role": role, "school_id": school["id"], "number": number, "name": name})
    return api.first_login(made["credentials"]["username"], made["credentials"]["initial_password"], PASSWORD)


def new_class(api: Api, admin: Api, school: dict, leader: Api, run: dict, name: str,
              numbers: list[str]) -> tuple[dict, list[Api]]:
    """A class of the run with a new student account for each number (signed in), 200 added at a time."""
    from concurrent.futures import ThreadPoolExecutor

    course_class = leader.post(f"/runs/{run['id']}/classes", {"name": name})
    with ThreadPoolExecutor(8) as pool:
        students = list(pool.map(lambda n: new_user(api, admin, school, "student", n, "学生"), numbers))
    for start in range(0, len(numbers), 200):
        leader.post(f"/classes/{course_class['id']}/students", {"student_numbers": numbers[start:start + 200]})
    return course_class, students


def open_run(leader: Api, admin: Api, name: str) -> dict:
    """A SPOC of one chapter and no video (publishing needs none) with a run of the benchmarks' term, approved by
    the school admin."""
    from tests.e2e.conftest import decide

    course = leader.post("/courses", {"kind": "spoc_independent", "name": name, "category": "专业课"})
    leader.request("PATCH", f"/courses/{course['id']}", json={"online_credits": 0, "total_credits": 1})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": TERM})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": TERM})
    decide(admin, "course_run", run["id"])
    return run


def signers(admin: Api, school: dict, count: int = 25) -> list[str]:
    """Accounts that sign in during the benchmark: attempts at one account take turns (they are counted
    before their password is checked), so many people signing in at once are many accounts."""
    names = []
    for i in range(count):
        created = admin.post("/users", {"role": "teacher", "school_id": school["id"], "name": f"教师{i}",
                                        "number": f"BT{random.randrange(10**8)}"})
        credentials = created["credentials"]
        Api(admin.base_url).first_login(credentials["username"], credentials["initial_password"], PASSWORD)
        names.append(credentials["username"])
    return names


async def bench_login_and_read(mesh: Mesh, api: Api, admin_username: str, accounts: list[str]) -> None:
    token = api.post("/auth/login", {"login": admin_username, "password": PASSWORD})["access_token"]
    limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
    turn = iter(range(10**9))
    async with httpx.AsyncClient(base_url=mesh.gateway_url, limits=limits, timeout=60) as http:
        async def login() -> None:
            who = accounts[next(turn) % len(accounts)]
            response = await http.post("/api/v1/auth/login", json={"login": who, "password": PASSWORD})
            assert response.status_code == 200, response.text

        logins = await run("login through the gateway (argon2id)", login, total=150)
        pids = {name: mesh.processes[name].pid for name in ("gateway", "identity")}
        before = cpu_seconds(pids)
        http_read = await asyncio.to_thread(run_wrk, "GET /api/v1/me through the gateway", mesh.gateway_url,
                                            ["/api/v1/me"], token)
        via_gateway = {name: spent - before[name] for name, spent in cpu_seconds(pids).items()}

    channel = grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ports.identity}")
    stub = identity_pb2_grpc.IdentityServiceStub(channel)
    metadata = (("authorization", f"Bearer {token}"),)

    async def read_over_grpc() -> None:
        await stub.GetMe(identity_pb2.GetMeRequest(), metadata=metadata, timeout=30)

    before = cpu_seconds(pids)
    grpc_read = await run("GetMe directly over gRPC", read_over_grpc, total=3000)
    direct = {name: spent - before[name] for name, spent in cpu_seconds(pids).items()}
    await channel.close()
    print("\n== authentication (25 accounts) and an authenticated read, 50 concurrent clients")
    for figures in (logins, http_read, grpc_read):
        print(figures.line())
    print(f"gateway/gRPC ratio for the same read: throughput {http_read.rps / grpc_read.rps:.2f}x, "
          f"p50 latency {http_read.p50_ms / grpc_read.p50_ms:.2f}x, "
          f"p99 latency {http_read.p99_ms / grpc_read.p99_ms:.2f}x")
    per_request = {name: 1000 * spent / http_read.requests for name, spent in via_gateway.items()}
    print(f"the platform's own CPU per read (whatever the generators cost): through the gateway "
          f"{sum(per_request.values()):.2f} ms (gateway {per_request['gateway']:.2f}, identity "
          f"{per_request['identity']:.2f}); directly {1000 * direct['identity'] / grpc_read.requests:.2f} ms "
          f"(identity)")


def bench_import(api: Api, school: dict, admin: Api, rows: int = 10_000) -> None:
    lines = ["number,name,phone,email,class_name"]
    base = random.randrange(10**7, 9 * 10**7)
    lines += [f"N{i:06d},学生{i},13{base + i:09d},,班级{i % 40}" for i in range(rows)]
    content = "\n".join(lines).encode()
    started = time.perf_counter()
    report = admin.post(f"/schools/{school['id']}/imports", files={"file": ("big.csv", io.BytesIO(content))},
                        params={"role": "student"})
    first = time.perf_counter() - started
    assert report["created"] == rows, report.get("errors", [])[:3]
    started = time.perf_counter()
    again = admin.post(f"/schools/{school['id']}/imports", files={"file": ("big.csv", io.BytesIO(content))},
                       params={"role": "student"})
    second = time.perf_counter() - started
    assert again["unchanged"] == rows
    singles = 50
    started = time.perf_counter()
    for i in range(singles):
        admin.post("/users", {"role": "student", "school_id": school["id"], "number": f"ONE{i}", "name": "单个",
                              "phone": f"14{base + i:09d}"})
    single = (time.perf_counter() - started) / singles
    print(f"\n== bulk import of {rows} students (CSV, {len(content) / 1e6:.1f} MB) through the gateway")
    print(f"first import (creates {rows}):     {first:6.2f} s   ({rows / first:8.0f} rows/s)")
    print(f"same file again (no duplicates):  {second:6.2f} s   ({rows / second:8.0f} rows/s)")
    print(f"baseline, POST /users one by one: {single * 1000:6.1f} ms per account ({1 / single:6.0f} accounts/s); "
          f"the import is {single / (first / rows):.0f}x faster per account")


def main() -> None:
    which = set(sys.argv[1:]) or {"login", "read", "import"}
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            api, school, admin = setup(mesh)
            if which & {"login", "read"}:
                asyncio.run(bench_login_and_read(mesh, api, admin.get("/me")["username"], signers(admin, school)))
            if "import" in which:
                bench_import(api, school, admin)
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
