"""The gradebook of a class of 2,000 students with a face-to-face marks session: one page (the default size and
page_size=200) and the XLSX export, through the gateway, beside GET /me over as many requests in the same run.

    python -m bench.gradebook
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time

from bench.__main__ import bench_mesh, new_user, open_run, open_term, setup
from bench.http import Connection

STUDENTS = 2000
REPEAT_PAGE, REPEAT_EXPORT = 20, 5


def p50(times: list[float]) -> float:
    return statistics.median(times)


def p90(times: list[float]) -> float:
    return statistics.quantiles(times, n=10, method="inclusive")[8]


async def timed(connection: Connection, path: str, token: str, repeat: int) -> tuple[list[float], bytes]:
    """One request at a time on one kept-alive connection, as a teacher's browser does."""
    times, body = [], b""
    for _ in range(repeat):
        started = time.perf_counter()
        status, body = await connection.request("GET", path, token)
        times.append(time.perf_counter() - started)
        assert status == 200, body[:300]
    return times, body


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            started = time.perf_counter()
            api, school, admin = setup(mesh)
            open_term(api)
            leader = new_user(api, admin, school, "teacher", "GL1", "成绩负责人")
            run = open_run(leader, admin, "大班课")  # the gradebook needs no video
            course_class = leader.post(f"/runs/{run['id']}/classes", {"name": "两千人班"})
            numbers = [f"G{n:05d}{random.randrange(10**4):04d}" for n in range(STUDENTS)]
            phones = random.sample(range(10**9), STUDENTS)
            roster = "学号,姓名,手机号\n" + "".join(
                f"{number},学生{n},13{phones[n]:09d}\n" for n, number in enumerate(numbers))
            before = time.perf_counter()
            imported = leader.post(f"/classes/{course_class['id']}/imports",
                                   files={"file": ("roster.csv", roster.encode())})
            import_seconds = time.perf_counter() - before
            assert imported["added"] == STUDENTS, {k: v for k, v in imported.items() if k != "credentials_sheet_key"}
            marks = "学号,成绩\n" + "".join(f"{number},{random.randrange(40, 101)}\n" for number in numbers)
            before = time.perf_counter()
            marked = leader.post(f"/learning/classes/{course_class['id']}/face-to-face-marks",
                                 files={"file": ("marks.csv", marks.encode())}, data={"session_title": "见面课1"})
            marks_seconds = time.perf_counter() - before
            assert marked["imported"] and marked["marked"] == STUDENTS, marked
            setup_seconds = time.perf_counter() - started

            async def measure() -> None:
                connection = Connection(mesh.gateway_url)
                book = f"/api/v1/learning/classes/{course_class['id']}/gradebook"
                await timed(connection, book, leader.token, 2)  # warm-up
                await timed(connection, "/api/v1/me", leader.token, 2)
                page, page_body = await timed(connection, book, leader.token, REPEAT_PAGE)
                big, big_body = await timed(connection, book + "?page_size=200", leader.token, REPEAT_PAGE)
                export, export_body = await timed(connection, book + "/export", leader.token, REPEAT_EXPORT)
                roster_times, roster_body = await timed(connection, f"/api/v1/classes/{course_class['id']}/students",
                                              leader.token, REPEAT_EXPORT)
                me, _ = await timed(connection, "/api/v1/me", leader.token, REPEAT_PAGE)
                await connection.close()

                first, second = json.loads(page_body), json.loads(big_body)
                assert first["total"] == STUDENTS and len(second["rows"]) == 200, (first["total"], len(second["rows"]))
                face = [c for c in first["rows"][0]["categories"] if c["category"] == "face_to_face"]
                assert face and face[0]["counted"], first["rows"][0]["categories"]
                assert export_body[:2] == b"PK", export_body[:100]
                base = p50(me)

                def line(label: str, times: list[float], size: int) -> str:
                    return (f"{label:<44} p50 {p50(times) * 1000:8.1f} ms   p90 {p90(times) * 1000:8.1f} ms   "
                            f"{size / 1024:8.1f} KiB   ({len(times)} requests)")

                print(f"\n== the gradebook of a class of {STUDENTS} students with one face-to-face marks session, "
                      f"through the gateway, one request at a time")
                print(f"setup {setup_seconds:.1f} s: class import of {STUDENTS} new students {import_seconds:.1f} s, "
                      f"face-to-face marks import {marks_seconds:.2f} s")
                print(line(f"gradebook page (default size, {len(first['rows'])} rows)", page, len(page_body)))
                print(line("gradebook page (page_size=200)", big, len(big_body)))
                print(line(f"gradebook XLSX export ({STUDENTS} rows)", export, len(export_body)))
                print(line(f"GET class roster ({STUDENTS}, reference)", roster_times, len(roster_body)))
                print(line("GET /me (baseline)", me, 0))
                print(f"ratios of p50 to GET /me: page (default size) {p50(page) / base:.1f}x, "
                      f"page (200) {p50(big) / base:.1f}x, XLSX export {p50(export) / base:.1f}x")

            asyncio.run(measure())
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
