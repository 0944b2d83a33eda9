"""Opening a run of a course with 16 chapters and 200 units, and reading its full plan, through the
gateway; beside an empty course's run and a plain GET /me in the same run.

    python -m bench.courses
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.__main__ import TERM, bench_mesh, new_user, open_term, setup
from devmesh.client import Api
from tests import media_clips
from tests.e2e.conftest import decide
from tests.e2e.media_support import upload_file, wait_for_state

CHAPTERS, UNITS = 16, 200


def timed(call, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def approved_video(teacher: Api, admin: Api, folder: Path) -> str:
    asset = upload_file(teacher, media_clips.compliant_720p(folder, seconds=3))
    wait_for_state(teacher, asset["id"], "ready")
    decide(admin, "media_asset", asset["id"])
    while not teacher.get(f"/media/assets/{asset['id']}")["referenceable"]:
        time.sleep(0.2)
    return asset["id"]


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            api, school, admin = setup(mesh)
            open_term(api)
            teacher = new_user(api, admin, school, "teacher", "BL1", "基准负责人")
            video = approved_video(teacher, admin, Path(data))

            big = teacher.post("/courses", {"kind": "spoc_independent", "name": "大课", "category": "专业课"})
            started = time.perf_counter()
            for chapter_number in range(CHAPTERS):
                plan = teacher.post(f"/courses/{big['id']}/plan/nodes",
                                    {"kind": "chapter", "title": f"第{chapter_number + 1}章"})
                chapter = plan["nodes"][-1]["id"]  # depth first: the new, childless chapter comes last
                for unit in range(UNITS // CHAPTERS + (1 if chapter_number < UNITS % CHAPTERS else 0)):
                    teacher.post(f"/courses/{big['id']}/plan/nodes",
                                 {"kind": "unit", "title": f"单元{unit + 1}", "parent_id": chapter,
                                  "resource_id": video})
            building = time.perf_counter() - started
            nodes = len(teacher.get(f"/courses/{big['id']}/plan")["nodes"])
            assert nodes == CHAPTERS + UNITS, nodes

            empty = teacher.post("/courses", {"kind": "spoc_independent", "name": "空课", "category": "专业课"})
            open_empty = timed(lambda: teacher.post(f"/courses/{empty['id']}/runs", {"term_code": TERM}), 5)
            open_big = timed(lambda: teacher.post(f"/courses/{big['id']}/runs", {"term_code": TERM}), 5)
            read_plan = timed(lambda: teacher.get(f"/courses/{big['id']}/plan"), 50)
            read_me = timed(lambda: teacher.get("/me"), 50)
        finally:
            mesh.stop()

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:7.1f} ms (min {min(values) * 1000:.1f})"

    print(f"\n== a course with {CHAPTERS} chapters and {UNITS} units, through the gateway")
    print(f"building the plan node by node: {building:5.1f} s ({(CHAPTERS + UNITS) / building:.0f} nodes/s)")
    print(f"open a run of it (copies {nodes} nodes):    {ms(open_big)}")
    print(f"open a run of an empty course (baseline): {ms(open_empty)}  -> ratio "
          f"{statistics.median(open_big) / statistics.median(open_empty):.1f}x")
    print(f"read its full plan:                       {ms(read_plan)}")
    print(f"GET /me (baseline):                       {ms(read_me)}  -> ratio "
          f"{statistics.median(read_plan) / statistics.median(read_me):.1f}x")


if __name__ == "__main__":
    main()
