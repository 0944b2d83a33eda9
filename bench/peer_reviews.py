"""The peer-review queue handing out reviews to 500 students at once: each round every student asks for the next
review at the same moment (500 concurrent clients) and then finishes it; after each round no submission may hold
more than the reviews needed while another holds fewer, the late submitters included (the finished reviews per
submission after each round are printed). Reported beside GET /me at the same concurrency in the same run.

    python -m bench.peer_reviews
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bench.__main__ import bench_mesh, new_class, new_user, open_run, open_term, setup
from bench.http import Connection
from bench.load import Figures

STUDENTS = 500
ROUNDS = 3  # the policy's default reviews needed
LATE = 50   # students who submit after the deadline, while the others already review


async def at_once(gateway_url: str, name: str, requests: list[tuple[str, str, str, object]]) -> tuple[Figures, list]:
    """Every request on its own connection, all sent together; (figures, answers in order)."""
    connections = [Connection(gateway_url) for _ in requests]
    for connection in connections:  # connected before the clock starts: the queue is measured, not TCP
        await connection.request("GET", "/healthz")
    latencies: list[float] = []

    async def one(connection: Connection, method: str, path: str, token: str, body: object) -> object:
        started = time.perf_counter()
        status, answer = await connection.request(method, path, token, body)
        latencies.append(time.perf_counter() - started)
        assert status < 300, (status, answer[:300])
        return json.loads(answer)

    started = time.perf_counter()
    answers = await asyncio.gather(*(one(c, *r) for c, r in zip(connections, requests, strict=True)))
    elapsed = time.perf_counter() - started
    for connection in connections:
        await connection.close()
    cuts = statistics.quantiles(latencies, n=100)
    return Figures(name, len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000), list(answers)


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            started = time.perf_counter()
            api, school, admin = setup(mesh)
            open_term(api)
            leader = new_user(api, admin, school, "teacher", "PR1", "互评负责人")
            run = open_run(leader, admin, "写作互评")
            _, students = new_class(api, admin, school, leader, run, "五百人班", [f"P{n:05d}" for n in range(STUDENTS)])
            deadline = datetime.now(UTC) + timedelta(seconds=30)
            assignment = leader.post(f"/learning/runs/{run['id']}/assignments", {
                "title": "读书报告", "brief": "一千字", "grading_mode": "peer", "deadline": deadline.isoformat(),
                "late_until": (deadline + timedelta(days=1)).isoformat(),
                "rubric": [{"title": "内容", "points": 6}, {"title": "表达", "points": 4}]})
            aid = assignment["id"]

            def submit(student_and_n: tuple) -> None:
                student, n = student_and_n
                student.post(f"/learning/assignments/{aid}/submission", data={"text": f"第{n}份报告"})

            on_time, late = students[:STUDENTS - LATE], students[STUDENTS - LATE:]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(submit, [(s, n) for n, s in enumerate(on_time)]))
            time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds() + 0.5))
            setup_seconds = time.perf_counter() - started

            spreads: list[dict[int, int]] = []

            async def measure() -> list[tuple[Figures, Figures]]:
                figures = []
                for round_number in range(1, ROUNDS + 1):
                    reviewers = on_time if round_number == 1 else students
                    asked, tasks = await at_once(mesh.gateway_url, f"round {round_number}: next review", [
                        ("POST", f"/api/v1/learning/assignments/{aid}/reviews/next", s.token, None)
                        for s in reviewers])
                    if round_number == 1:  # the late ones submit while the first round's reviews are under way
                        with ThreadPoolExecutor(8) as pool:
                            list(pool.map(submit, [(s, STUDENTS - LATE + n) for n, s in enumerate(late)]))
                    done, _ = await at_once(mesh.gateway_url, f"round {round_number}: finish the review", [
                        ("PUT", f"/api/v1/learning/peer-reviews/{task['id']}", s.token,
                         {"scores": [5, 3], "comment": "言之有物"}) for s, task in zip(reviewers, tasks, strict=True)])
                    figures.append((asked, done))
                    if round_number == 1:  # the late ones catch up: they review and are reviewed first
                        _, late_tasks = await at_once(mesh.gateway_url, "late reviewers", [
                            ("POST", f"/api/v1/learning/assignments/{aid}/reviews/next", s.token, None)
                            for s in late])
                        await at_once(mesh.gateway_url, "late reviews", [
                            ("PUT", f"/api/v1/learning/peer-reviews/{task['id']}", s.token,
                             {"scores": [5, 3], "comment": "言之有物"}) for s, task in zip(late, late_tasks,
                                                                                      strict=True)])
                    counts = Counter()
                    token = ""
                    while True:
                        page = leader.get(f"/learning/assignments/{aid}/submissions",
                                          params={"page_size": 200, "page_token": token})
                        counts.update(s["reviews_finished"] for s in page["items"])
                        token = page["next_page_token"]
                        if not token:
                            break
                    # the queue's promise: nobody above the reviews needed while somebody is below
                    assert min(counts) >= ROUNDS or max(counts) <= ROUNDS, (round_number, counts)
                    spreads.append(dict(sorted(counts.items())))
                me, _ = await at_once(mesh.gateway_url, "GET /me (baseline, 500 at once)", [
                    ("GET", "/api/v1/me", s.token, None) for s in students])
                figures.append((me, me))
                return figures

            figures = asyncio.run(measure())
            baseline = figures[-1][0]
            print(f"\n== the peer-review queue: {STUDENTS} students ({LATE} late) asking at once, {ROUNDS} rounds; "
                  f"setup {setup_seconds:.0f} s")
            for asked, done in figures[:-1]:
                print(asked.line())
                print(done.line())
            print(baseline.line())
            first = figures[0][0]
            for n, spread in enumerate(spreads, 1):
                print(f"after round {n}: submissions by finished reviews {spread}")
            print(f"no submission held more than the {ROUNDS} reviews needed while another had fewer")
            print(f"ratio of p50: next review (round 1) / GET /me {first.p50_ms / baseline.p50_ms:.1f}x; "
                  f"hand-outs {first.rps:.0f}/s vs GET /me {baseline.rps:.0f}/s")
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
