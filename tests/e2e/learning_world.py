"""A run that teaches, for the learning tests: a SPOC of the school with two chapters of short approved videos, its
run approved for the current term, a class of students (chapter 1 released to it, chapter 2 not), and a player that
watches like a browser (heartbeats at most as fast as the clock allows at 2x)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devmesh.client import Api
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld, create_account, decide
from tests.e2e.test_courses import approved_video
from tests.support import wait_until

VIDEO_SECONDS = 4.0


@dataclass
class LearningWorld:
    school: SchoolWorld
    leader: Api
    leader_id: str
    course_id: str
    run_id: str
    class_id: str
    chapters: list[str]  # run plan ids: chapter 1 (released to the class), chapter 2 (not released)
    units: list[str]  # run plan ids: two units in chapter 1, one in chapter 2
    students: list[Api]
    student_ids: list[str]
    numbers: list[str]
    unit_seconds: dict[str, float] = field(default_factory=dict)


def make_learning_world(api: Api, school: SchoolWorld, clips: Path, students: int = 2,
                        term_code: str = CURRENT_TERM["code"]) -> LearningWorld:
    """The caller's fixtures must include `center` (tests/e2e/conftest.py), which puts the term calendar in place."""
    tag = uuid.uuid4().hex[:6]
    leader_user, leader = create_account(school.admin, api, role="teacher", school_id=school.id,
                                         number=f"T{tag}", name="张老师")
    # Three different files (one teacher's identical uploads are one asset), about VIDEO_SECONDS each.
    videos = [approved_video(clips, leader, school.admin, seconds=VIDEO_SECONDS + n * 0.04) for n in range(3)]
    course = leader.post("/courses", {"kind": "spoc_independent", "name": f"学习测试课{tag}", "category": "专业课"})
    leader.request("PATCH", f"/courses/{course['id']}", json={"online_credits": 0, "total_credits": 2})
    for title, chapter_videos in (("第一章 绪论", videos[:2]), ("第二章 进阶", videos[2:])):
        chapter = leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": title})
        chapter_id = next(n["id"] for n in chapter["nodes"] if n["kind"] == "chapter" and n["title"] == title)
        for n, video in enumerate(chapter_videos, 1):
            leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "unit", "title": f"{title} 视频{n}",
                                                                 "parent_id": chapter_id, "resource_id": video["id"]})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": term_code})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": term_code})
    decide(school.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] in ("published", "running"))
    plan = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})
    chapters = [n["id"] for n in plan["nodes"] if n["kind"] == "chapter"]
    units = [n["id"] for n in plan["nodes"] if n["kind"] == "unit"]
    course_class = leader.post(f"/runs/{run['id']}/classes", {"name": f"学习班{tag}"})
    apis, ids, numbers = [], [], []
    for n in range(students):
        number = f"S{tag}{n}"
        user, student = create_account(school.admin, api, role="student", school_id=school.id, number=number,
                                       name=f"学生{n}")
        apis.append(student)
        ids.append(user["id"])
        numbers.append(number)
    report = leader.post(f"/classes/{course_class['id']}/students", {"student_numbers": numbers})
    assert report["added"] == students, report
    leader.post(f"/classes/{course_class['id']}/releases", {"chapter_id": chapters[0]})
    return LearningWorld(school, leader, leader_user["id"], course["id"], run["id"], course_class["id"], chapters,
                         units, apis, ids, numbers,
                         {n["id"]: n["minutes"] * 60 for n in plan["nodes"] if n["kind"] == "unit"})


def watch(student: Api, run_id: str, unit_id: str, until: float | None = None, step: float = 2.0) -> dict:
    """Plays a unit from its start (or its resume point) to `until` seconds (default: the end) as a browser at 2x
    would: each segment sent once the wall clock allows it. Returns the last receipt."""
    play = student.post(f"/learning/runs/{run_id}/units/{unit_id}/plays")
    end = play["duration_seconds"] if until is None else until
    position, seq, receipt = 0.0, 0, {}
    while position < end - 1e-6:
        nxt = min(end, position + step)
        time.sleep((nxt - position) / 2 + 0.05)
        seq += 1
        receipt = student.post(f"/learning/plays/{play['play_id']}/progress", {"segments": [
            {"seq": seq, "from_seconds": position, "to_seconds": nxt, "event": "heartbeat"}]})
        position = nxt
    return receipt
