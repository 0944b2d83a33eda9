"""The gradebook of a run with 2,000 students: one class page and the XLSX export, through the gateway, beside GET /me
in the same run.

    python -m bench.gradebook
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time

from bench.__main__ import PASSWORD, bench_mesh, make_center, setup
from bench.http import Connection

STUDENTS = 2000
REPEAT_PAGE, REPEAT_EXPORT = 20, 5


async def timed(connection: Connection, path: str, token: str, repeat: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        status, body = await connection.request("GET", path, token)
        times.append(time.perf_counter() - started)
        assert status == 200, body[:300]
        size = len(body)
    return times, size


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            api, school, admin = setup(mesh)
            make_center(api).post("/terms", {"code": "2026-autumn", "name": "2026秋", "starts_on": "2026-09-01",
                                             "ends_on": "2027-01-20"})
            made = admin.post("/users", {"role": "teacher", "school_id": school["id"], "number": "GL1",
                                         "name": "成绩负责人"})
            leader = api.first_login(made["credentials"]["username"], made["credentials"]["initial_password"],
                                     PASSWORD)
            course = leader.post("/courses", {"kind": "spoc_independent", "name": "大班课", "category": "专业课"})
            leader.request("PATCH", f"/courses/{course['id']}", json={"online_credits": 0, "total_credits": 1})
            leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
            run = leader.post(f"/courses/{course['id']}/runs", {"term_code": "2026-autumn"})
            leader.post(f"/runs/{run['id']}/publish", {"term_code": "2026-autumn"})
            from tests.e2e.conftest import decide

            decide(admin, "course_run", run["id"])
            course_class = leader.post(f"/runs/{run['id']}/classes", {"name": "两千人班"})
            numbers = [f"G{n:05d}{random.randrange(10**4)}" for n in range(STUDENTS)]
            roster = "学号,姓名,手机号\n" + "".join(
                f"{number},学生{n},1{random.randrange(3, 10)}{random.randrange(10**9):09d}\n"
                for n, number in enumerate(numbers))
            started = time.perf_counter()
            imported = leader.post(f"/classes/{course_class['id']}/imports",
                                   files={"file": ("roster.csv", roster.encode())})
            assert imported["added"] == STUDENTS, imported
            import_seconds = time.perf_counter() - started
            marks = "学号,成绩\n" + "".join(f"{number},{random.randrange(40, 101)}\n" for number in numbers)
            leader.post(f"/learning/classes/{course_class['id']}/face-to-face-marks",
                        files={"file": ("marks.csv", marks.encode())}, data={"session_title": "见面课1"})

            async def measure() -> None:
                connection = Connection(mesh.gateway_url)
                book = f"/api/v1/learning/classes/{course_class['id']}/gradebook"
                await timed(connection, book, leader.token, 2)  # warm-up
                page, page_size = await timed(connection, book, leader.token, REPEAT_PAGE)
                big, big_size = await timed(connection, book + "?page_size=200", leader.token, REPEAT_PAGE)
                export, export_size = await timed(connection, book + "/export", leader.token, REPEAT_EXPORT)
                me, _ = await timed(connection, "/api/v1/me", leader.token, REPEAT_PAGE)
                await connection.close()
                base = statistics.median(me)

                def line(label: str, times: list[float], size: int) -> str:
                    p50 = statistics.median(times)
                    return (f"{label:<40} p50 {p50 * 1000:8.1f} ms   max {max(times) * 1000:8.1f} ms   "
                            f"{size / 1024:8.1f} KiB   {p50 / base:7.1f}x GET /me")

                print(f"class of {STUDENTS} students imported in {import_seconds:.1f} s")
                print(line("gradebook page (default size)", page, page_size))
                print(line("gradebook page (page_size=200)", big, big_size))
                print(line(f"gradebook XLSX export ({STUDENTS} rows)", export, export_size))
                print(line("GET /me (baseline)", me, 0))

            asyncio.run(measure())
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
