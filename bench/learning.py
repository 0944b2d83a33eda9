"""Video progress heartbeats, the platform's hottest path: accepted per second and their p50/p99 through the
gateway at 200 concurrent players, beside GET /me at the same concurrency in the same run (the goal: at least 3x
GET /me's rate).

    python -m bench.learning
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

from bench.__main__ import TERM, bench_mesh, new_user, open_term, setup
from bench.courses import approved_video
from bench.http import Connection
from bench.load import Figures, run
from devmesh.client import Api

PLAYERS, STUDENTS = 200, 50
HEARTBEATS = 20000
SEGMENT = 0.01  # seconds of video per heartbeat: the clock always allows it, so every one is credited


async def measure(gateway_url: str, reader_token: str, plays: list[tuple[str, str]]) -> tuple[Figures, Figures]:
    """Each player has its own keep-alive connection, one request in flight, as a browser's player does; the
    readers of GET /me as many, the same way."""
    players: asyncio.Queue[list] = asyncio.Queue()
    for token, play_id in plays:
        players.put_nowait([token, play_id, 0, Connection(gateway_url)])
    readers: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(PLAYERS):
        readers.put_nowait(Connection(gateway_url))
    refused = 0

    async def heartbeat() -> None:
        nonlocal refused
        player = await players.get()
        try:
            player[2] += 1
            seq = player[2]
            start = ((seq - 1) * SEGMENT) % 3.5
            status, body = await player[3].request(
                "POST", f"/api/v1/learning/plays/{player[1]}/progress", player[0],
                {"segments": [{"seq": seq, "from_seconds": start, "to_seconds": start + SEGMENT}]})
        finally:
            players.put_nowait(player)
        assert status == 200, body
        refused += b'"credited":true' not in body

    async def me() -> None:
        connection = await readers.get()
        try:
            status, body = await connection.request("GET", "/api/v1/me", reader_token)
        finally:
            readers.put_nowait(connection)
        assert status == 200, body

    await run("warm-up", heartbeat, 400, concurrency=PLAYERS)
    await run("warm-up", me, 400, concurrency=PLAYERS)
    beats = await run(f"heartbeats, {PLAYERS} players", heartbeat, HEARTBEATS, concurrency=PLAYERS)
    reads = await run(f"GET /me, {PLAYERS} clients", me, HEARTBEATS, concurrency=PLAYERS)
    print(f"  (heartbeats not credited: {refused})")
    for queue in (players, readers):
        while not queue.empty():
            item = queue.get_nowait()
            await (item[3] if isinstance(item, list) else item).close()
    return beats, reads


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            api, school, admin = setup(mesh)
            open_term(api)
            leader = new_user(api, admin, school, "teacher", "BL1", "基准负责人")
            video = approved_video(leader, admin, Path(data))
            course = leader.post("/courses", {"kind": "spoc_independent", "name": "热路径课", "category": "专业课"})
            leader.request("PATCH", f"/courses/{course['id']}", json={"online_credits": 0, "total_credits": 1})
            plan = leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
            leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "unit", "title": "视频",
                                                                 "parent_id": plan["nodes"][-1]["id"],
                                                                 "resource_id": video})
            run_ = leader.post(f"/courses/{course['id']}/runs", {"term_code": TERM})
            leader.post(f"/runs/{run_['id']}/publish", {"term_code": TERM})
            from tests.e2e.conftest import decide

            decide(admin, "course_run", run_["id"])
            run_plan = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run_["id"]})
            chapter = next(n["id"] for n in run_plan["nodes"] if n["kind"] == "chapter")
            unit = next(n["id"] for n in run_plan["nodes"] if n["kind"] == "unit")
            course_class = leader.post(f"/runs/{run_['id']}/classes", {"name": "基准班"})
            numbers = [f"BS{random.randrange(10**8)}" for _ in range(STUDENTS)]
            students = [new_user(api, admin, school, "student", number, "学生") for number in numbers]
            leader.post(f"/classes/{course_class['id']}/students", {"student_numbers": numbers})
            leader.post(f"/classes/{course_class['id']}/releases", {"chapter_id": chapter})
            plays = []
            for n in range(PLAYERS):
                student: Api = students[n % STUDENTS]
                play = student.post(f"/learning/runs/{run_['id']}/units/{unit}/plays")
                plays.append((student.token, play["play_id"]))
            beats, reads = asyncio.run(measure(mesh.gateway_url, admin.token, plays))
            print(beats.line())
            print(reads.line())
            print(f"heartbeats / GET /me throughput: {beats.rps / reads.rps:.2f}x (goal >= 3x)")
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
