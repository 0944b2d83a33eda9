"""The completion acceptance facts (结项验收) of a course with 200 videos and 2,000 students in a class, through the
gateway (the course service reads its tables and asks the learning service for the runs' quizzes, topics and
evaluation, and the media service for its videos' height, subtitles and uploaders), beside GET /me over as many
requests in the same run. The seeded units point at assets the media service never stored: it knows none of them,
so those three norms come back not measured, with the reason, and the request still answers (the call is made and
timed all the same).

The course, its chapters and its approved run are made through the API; the 200 plan units (each pointing at an
approved video of 3–26 minutes, as media's referenceability left them) and the class of 2,000 students are written
straight into the course service's SQLite database through its ORM: transcoding 200 real videos would take the
benchmark tens of minutes and measure the media pipeline, not this read.

    python -m bench.acceptance
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import select

from bench.__main__ import bench_mesh, new_user, open_run, open_term, setup
from bench.gradebook import p50, p90, timed
from bench.http import Connection
from servicekit.db import Database
from services.course.adapters.orm import ClassStudent, CourseClass, PlanNode
from services.course.domain import acceptance as rules
from services.course.domain import policy

VIDEOS, CHAPTERS, STUDENTS = 200, 10, 2000
REPEAT = 50


async def seed(db_path: Path, course_id: str, run_id: str, school_id: str, chapters: list[str]) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{db_path}")
    async with db.transaction() as session:
        assert await session.scalar(select(PlanNode.id).where(PlanNode.id == chapters[0]))
        per_chapter = VIDEOS // len(chapters)
        session.add_all(
            PlanNode(id=str(uuid.uuid4()), course_id=course_id, run_id="", parent_id=chapter, kind="unit",
                     title=f"第{c + 1}章 视频{n + 1}", position=n + 1, resource_id=str(uuid.uuid4()),
                     resource_kind="course_video", resource_minutes=round(random.uniform(3, 26), 2),
                     resource_usable=True)
            for c, chapter in enumerate(chapters) for n in range(per_chapter))
        course_class = CourseClass(id=str(uuid.uuid4()), run_id=run_id, name="两千人班", is_public=False,
                                   school_id=school_id, created_by="bench")
        session.add(course_class)
        await session.flush()
        session.add_all(ClassStudent(class_id=course_class.id, user_id=str(uuid.uuid4()), number=f"A{n:05d}",
                                     name=f"学生{n}", school_id=school_id, province_code="33")
                        for n in range(STUDENTS))
    await db.dispose()


def in_process(repeat: int = 200) -> float:
    """The rules alone over 200 units: seconds per course."""
    units = [rules.Unit(str(n), rules.VIDEO, random.uniform(3, 26), True) for n in range(VIDEOS)]
    media = {str(n): rules.VideoFacts(random.choice((576, 720, 1080)), n % 2 == 0, "leader" if n % 3 else "other")
             for n in range(VIDEOS)}
    changsha = policy.resolve([], [policy.LayerVersion(policy.SCHOOL, "bench", 1, policy.CHANGSHA_SCHOOL_POLICY)],
                              date.today())  # the policy that counts every norm
    started = time.perf_counter()
    for _ in range(repeat):
        rules.acceptance_facts(units, [], 50, ["2026-autumn"], STUDENTS, policy=changsha, leader_id="leader",
                               media=media)
    return (time.perf_counter() - started) / repeat


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            started = time.perf_counter()
            api, school, admin = setup(mesh)
            open_term(api)
            leader = new_user(api, admin, school, "teacher", "AL1", "验收负责人")
            run = open_run(leader, admin, "验收课")
            course_id = run["course_id"]
            leader.request("PATCH", f"/courses/{course_id}", json={"class_hours": 50})
            for n in range(2, CHAPTERS + 1):
                leader.post(f"/courses/{course_id}/plan/nodes", {"kind": "chapter", "title": f"第{n}章"})
            chapters = [n["id"] for n in leader.get(f"/courses/{course_id}/plan")["nodes"] if n["kind"] == "chapter"]
            asyncio.run(seed(Path(data) / "course.db", course_id, run["id"], school["id"], chapters))
            setup_seconds = time.perf_counter() - started

            async def measure() -> None:
                connection = Connection(mesh.gateway_url)
                path = f"/api/v1/courses/{course_id}/acceptance-facts"
                await timed(connection, path, leader.token, 3)  # warm-up
                await timed(connection, "/api/v1/me", leader.token, 3)
                facts_times, body = await timed(connection, path, leader.token, REPEAT)
                admin_times, _ = await timed(connection, path, admin.token, REPEAT)
                me, _ = await timed(connection, "/api/v1/me", leader.token, REPEAT)
                await connection.close()

                facts = json.loads(body)
                assert facts["videos"] == VIDEOS and facts["students"] == STUDENTS, facts
                assert all(k["measured"] for k in facts["material_kinds"]), facts["material_kinds"]  # learning's too
                assert facts["evaluation_measured"], facts["evaluation_note"]  # the students' evaluation, likewise
                length = next(n for n in facts["norms"] if n["name"] == "length")
                from_media = [n for n in facts["norms"] if n["name"] in rules.MEDIA_NORMS]
                assert len(from_media) == 3 and all(n["measured"] or n["note"] for n in from_media), from_media
                base = p50(me)

                def line(label: str, times: list[float], size: int) -> str:
                    return (f"{label:<44} p50 {p50(times) * 1000:8.1f} ms   p90 {p90(times) * 1000:8.1f} ms   "
                            f"{size / 1024:8.1f} KiB   ({len(times)} requests)")

                print(f"\n== the acceptance facts of a course with {VIDEOS} videos in {CHAPTERS} chapters and a class "
                      f"of {STUDENTS} students, through the gateway, one request at a time")
                needed = facts["videos_needed"] if facts["videos_per_class_hour_counted"] else "none"
                print(f"setup {setup_seconds:.1f} s (units and students written through the course service's ORM); "
                      f"measured: length norm {length['passed']}/{length['total']} ({length['share']:.0%}, "
                      f"{length['rule']}), {facts['videos_3_to_15_minutes']} videos of a class hour's length for "
                      f"{needed} needed; judged by {facts['policy']}")
                print("media norms: " + "; ".join(
                    f"{n['name']} {n['passed']}/{n['total']}" if n["measured"] else f"{n['name']} not measured "
                    f"({n['note']})" for n in from_media))
                print(f"evaluation_measured {facts['evaluation_measured']} "
                      f"({facts['evaluation_answers']} answers over {len(facts['evaluations'])} rated runs)")
                print(line("GET acceptance-facts (the leader)", facts_times, len(body)))
                print(line("GET acceptance-facts (the school admin)", admin_times, len(body)))
                print(line("GET /me (baseline)", me, 0))
                print(f"the rules alone over {VIDEOS} units: {in_process() * 1e6:.0f} µs a course")
                print(f"ratio of p50 to GET /me: acceptance facts {p50(facts_times) / base:.1f}x")

            asyncio.run(measure())
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
