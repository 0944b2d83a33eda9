"""Grades end to end (seed 002 五(四), 四(九)): the leader publishes a grading scheme before the run is
approved and it is frozen after; students see it; face-to-face marks are imported per class (all or nothing);
the gradebook applies the published weights; the leader finalises the results and the students who passed get a
certificate that their school's admin lists and exports; and who may not see or do what."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from devmesh.client import Api
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld, create_account, decide
from tests.e2e.learning_world import VIDEO_SECONDS, watch
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_courses import approved_video
from tests.support import wait_until

SECONDS = (VIDEO_SECONDS, VIDEO_SECONDS + 0.4)
SCHEME = {"video": 40, "quizzes": 10, "assignments": 10, "face_to_face": 20, "forum": 0, "final_exam": 20}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("grade-clips")


def marks_csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in [["学号", "姓名", "成绩"], *rows]).encode()


def marks_xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in [["学号", "姓名", "成绩"], *rows]:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def fetch(api: Api, path: str, **params: str) -> list[list[str]]:
    """A download as its caller would save it, opened with openpyxl."""
    response = api.http.get("/api/v1" + path, params=params, headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [["" if c is None else str(c) for c in row] for row in book.active.iter_rows(values_only=True)]


def categories(row: dict) -> dict[str, dict]:
    return {c["category"]: c for c in row["categories"]}


def test_a_published_scheme_grades_the_class_and_certifies_those_who_pass(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld, clips: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    term = CURRENT_TERM["code"]
    leader_user, leader = create_account(school.admin, api, role="teacher", school_id=school.id,
                                         number=f"T{tag}", name="张老师")
    analyst_user, analyst = create_account(school.admin, api, role="teacher", school_id=school.id,
                                           number=f"A{tag}", name="助教")
    _, outsider = create_account(school.admin, api, role="teacher", school_id=school.id, number=f"O{tag}",
                                 name="局外老师")
    # Two videos (different lengths: the media service keeps one asset per teacher and content).
    videos = [approved_video(clips, leader, school.admin, seconds=seconds) for seconds in SECONDS]
    course = leader.post("/courses", {"kind": "spoc_independent", "name": f"成绩测试课{tag}", "category": "专业课"})
    chapter = leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    chapter_id = next(n["id"] for n in chapter["nodes"] if n["kind"] == "chapter")
    for n, video in enumerate(videos, 1):
        leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "unit", "title": f"视频{n}",
                                                             "parent_id": chapter_id, "resource_id": video["id"]})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": term})
    scheme_url = f"/learning/runs/{run['id']}/grading-scheme"

    # Before approval: the default applies until the leader sets one; weights must be whole and sum to 100.
    default = leader.get(scheme_url)
    assert default["is_default"] and not default["frozen"] and default["pass_mark"] == 60
    assert default["weights"] == {"video": 30, "quizzes": 20, "assignments": 10, "face_to_face": 10, "forum": 0,
                                  "final_exam": 30}
    expect_problem(400, lambda: leader.request("PUT", scheme_url, json={**SCHEME, "video": 30}), "WEIGHTS_NOT_100")
    expect_problem(400, lambda: leader.request("PUT", scheme_url, json={**SCHEME, "video": 50, "forum": -10}),
                   "BAD_WEIGHT")
    expect_problem(400, lambda: leader.request("PUT", scheme_url, json={**SCHEME, "attendance": 0}))
    expect_problem(403, lambda: outsider.request("PUT", scheme_url, json=SCHEME))
    expect_problem(403, lambda: other_school.admin.get(scheme_url))
    expect_problem(401, lambda: Api(api.base_url).get(scheme_url))
    leader.request("PUT", scheme_url, json={**SCHEME, "video": 50, "final_exam": 10})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": term})
    leader.post(f"/runs/{run['id']}/team", {"user_id": analyst_user["id"], "permissions": ["view_analytics"]})
    # Still the leader's while it waits for review; only the leader's, not the team's.
    expect_problem(403, lambda: analyst.request("PUT", scheme_url, json=SCHEME))
    published = leader.request("PUT", scheme_url, json=SCHEME)
    assert published["weights"] == SCHEME and not published["is_default"] and not published["frozen"]
    decide(school.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] in ("published", "running"))
    frozen = expect_problem(409, lambda: leader.request("PUT", scheme_url, json=rules_default()), "SCHEME_FROZEN")
    assert "frozen since the run was approved" in frozen["detail"]

    # A class of three; students see the published scheme from the first day.
    plan = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})
    units = [n["id"] for n in plan["nodes"] if n["kind"] == "unit"]
    minutes = [n["minutes"] for n in plan["nodes"] if n["kind"] == "unit"]
    b_video = 100 * minutes[0] / sum(minutes)  # B watches the first video only
    class_id = leader.post(f"/runs/{run['id']}/classes", {"name": f"成绩班{tag}"})["id"]
    students, ids, numbers = [], [], []
    for n in range(3):
        user, student = create_account(school.admin, api, role="student", school_id=school.id,
                                       number=f"S{tag}{n}", name=f"学生{n}")
        students.append(student)
        ids.append(user["id"])
        numbers.append(f"S{tag}{n}")
    leader.post(f"/classes/{class_id}/students", {"student_numbers": numbers})
    leader.post(f"/classes/{class_id}/releases", {"chapter_id": plan["nodes"][0]["id"]})
    a, b, c = students
    seen = a.get(scheme_url)
    assert seen["weights"] == SCHEME and seen["frozen"] and seen["pass_mark"] == 60

    # A watches both units, B one of two, C none.
    watch(a, run["id"], units[0])
    watch(a, run["id"], units[1])
    watch(b, run["id"], units[0])

    gradebook_url = f"/learning/classes/{class_id}/gradebook"
    # Nothing but video to score yet: video carries the whole grade (the categories without items are left out).
    before = {r["student_id"]: r for r in leader.get(gradebook_url)["rows"]}
    assert before[ids[0]]["total"] == pytest.approx(100) and before[ids[0]]["passed"]
    assert before[ids[1]]["total"] == pytest.approx(b_video, abs=0.01) and not before[ids[1]]["passed"]

    # Face-to-face marks: a bad line refuses the whole file and stores nothing.
    marks_url = f"/learning/classes/{class_id}/face-to-face-marks"
    bad = leader.post(marks_url, files={"file": ("见面课1.csv", marks_csv(
        [[numbers[0], "学生0", "90"], ["S-nobody", "外人", "80"], [numbers[1], "学生1", "120"]]))},
        data={"session_title": "见面课1"})
    assert bad["imported"] is False and bad["marked"] == 0
    assert [(e["line"], e["field"]) for e in bad["errors"]] == [(3, "number"), (4, "mark")]
    assert "not a student of this class" in bad["errors"][0]["reason"]
    assert leader.get(f"/learning/classes/{class_id}/face-to-face-sessions")["items"] == []
    # A team teacher without the grade permission, and a student, import nothing.
    good = marks_csv([[numbers[0], "学生0", "90"], [numbers[1], "学生1", "40"], [numbers[2], "学生2", "60"]])
    expect_problem(403, lambda: analyst.post(marks_url, files={"file": ("m.csv", good)},
                                             data={"session_title": "见面课1"}))
    expect_problem(403, lambda: a.post(marks_url, files={"file": ("m.csv", good)}, data={"session_title": "见面课1"}))
    first = leader.post(marks_url, files={"file": ("见面课1.csv", good)}, data={"session_title": "见面课1"})
    assert first["imported"] and first["marked"] == 3 and first["errors"] == []
    # The second session weighs 3 (set by the team); B was absent (not on the sheet: 0).
    second = leader.post(marks_url, files={"file": ("见面课2.xlsx", marks_xlsx([[numbers[0], "学生0", 70],
                                                                               [numbers[2], "学生2", 100]]))},
                         data={"session_title": "见面课2", "weight": "3"})
    assert second["imported"] and second["marked"] == 2
    sessions = leader.get(f"/learning/classes/{class_id}/face-to-face-sessions")["items"]
    assert [(s["title"], s["weight"], s["marks"]) for s in sessions] == [("见面课1", 1, 3), ("见面课2", 3, 2)]

    # The gradebook: the published weights, scaled over the categories that have items (video and face-to-face:
    # 40 and 20 of 60 -> 66.67% and 33.33%); no quiz, assignment or exam was set in this run.
    book = leader.get(gradebook_url)
    assert book["weights"] == SCHEME and book["pass_mark"] == 60 and book["total"] == 3
    effective = {e["category"]: e for e in book["effective"]}
    assert effective["video"]["counted"] and effective["face_to_face"]["counted"]
    assert effective["video"]["weight"] == pytest.approx(200 / 3)
    assert effective["face_to_face"]["weight"] == pytest.approx(100 / 3)
    assert not effective["assignments"]["counted"] and effective["assignments"]["weight"] == 0
    rows = {r["student_id"]: r for r in book["rows"]}
    expected = {ids[0]: (100, (90 + 3 * 70) / 4), ids[1]: (b_video, (40 + 3 * 0) / 4), ids[2]: (0, (60 + 3 * 100) / 4)}
    for student_id, (video, face_to_face) in expected.items():
        scores = categories(rows[student_id])
        assert scores["video"]["score"] == pytest.approx(video, abs=0.01)
        assert scores["face_to_face"]["score"] == pytest.approx(face_to_face)
        arithmetic = (scores["video"]["score"] * 40 + scores["face_to_face"]["score"] * 20) / 60
        assert rows[student_id]["total"] == pytest.approx(arithmetic, abs=0.01)
    assert rows[ids[0]]["total"] == pytest.approx(91.67, abs=0.01) and rows[ids[0]]["passed"]  # 66.67 + 25
    assert rows[ids[1]]["total"] == pytest.approx(b_video * 2 / 3 + 10 / 3, abs=0.01)  # about 33.3 + 3.33
    assert not rows[ids[1]]["passed"]
    assert rows[ids[2]]["total"] == pytest.approx(30) and not rows[ids[2]]["passed"]  # 0 + 30
    page = leader.get(gradebook_url, params={"page_size": 2})
    assert len(page["rows"]) == 2 and page["next_page_token"]
    rest = leader.get(gradebook_url, params={"page_size": 2, "page_token": page["next_page_token"]})
    assert len(rest["rows"]) == 1 and rest["next_page_token"] == ""
    # The team with view_analytics reads it too; the run's school's admin as well.
    assert len(analyst.get(gradebook_url)["rows"]) == 3
    assert len(school.admin.get(gradebook_url)["rows"]) == 3

    # The XLSX export opens in a spreadsheet program.
    sheet = fetch(leader, f"{gradebook_url}/export")
    assert sheet[0][:2] == ["学号", "姓名"] and sheet[0][-2:] == ["总评", "是否合格"]
    assert "见面课(33.33%)" in sheet[0]
    exported = {row[0]: row for row in sheet[1:]}
    assert exported[numbers[0]][-1] == "合格" and exported[numbers[1]][-1] == "不合格"
    assert float(exported[numbers[0]][-2]) == pytest.approx(91.67, abs=0.01)

    # A student's own grades with each item; not another student's.
    mine = a.get(f"/learning/runs/{run['id']}/grades")
    assert mine["row"]["total"] == pytest.approx(91.67, abs=0.01) and mine["weights"] == SCHEME
    items = {(i["category"], i["title"]): i for i in mine["items"]}
    assert items[("face_to_face", "见面课2")]["weight"] == 3 and items[("face_to_face", "见面课2")]["score"] == 70
    absent = b.get(f"/learning/runs/{run['id']}/grades")["items"]
    assert next(i for i in absent if i["title"] == "见面课2")["scored"] is False
    expect_problem(403, lambda: a.get(f"/learning/runs/{run['id']}/grades", params={"student_id": ids[1]}))
    team_view = analyst.get(f"/learning/runs/{run['id']}/grades", params={"student_id": ids[1]})
    assert team_view["row"]["student_id"] == ids[1]

    # Refusals: a teacher not on the team, another school's admin, a student, no token.
    for refused in (outsider, other_school.admin, a):
        expect_problem(403, lambda who=refused: who.get(gradebook_url))
        expect_problem(403, lambda who=refused: who.post(f"/learning/runs/{run['id']}/results"))
    expect_problem(403, lambda: other_school.admin.get(f"/learning/runs/{run['id']}/grades",
                                                       params={"student_id": ids[0]}))
    expect_problem(403, lambda: analyst.post(f"/learning/runs/{run['id']}/results"))  # the leader's only
    expect_problem(401, lambda: Api(api.base_url).get(gradebook_url))
    expect_problem(401, lambda: Api(api.base_url).get("/certificates"))

    # Finalising: A passed and gets a certificate; B and C did not. Again: the same number.
    done = leader.post(f"/learning/runs/{run['id']}/results")
    assert (done["students"], done["passed"], done["certificates_issued"], done["pass_mark"]) == (3, 1, 1, 60)
    again = leader.post(f"/learning/runs/{run['id']}/results")
    assert (again["passed"], again["certificates_issued"], again["certificates_withdrawn"]) == (1, 0, 0)
    own = a.get("/certificates")["items"]
    assert [x["run_id"] for x in own] == [run["id"]]
    certificate = own[0]
    assert certificate["student_id"] == ids[0] and certificate["score"] == pytest.approx(91.67, abs=0.01)
    assert certificate["student_school_id"] == school.id and certificate["course_name"] == course["name"]
    assert certificate["number"].startswith("KC")
    graded = a.get(f"/learning/runs/{run['id']}/grades")
    assert graded["result"]["passed"] and graded["certificate"]["number"] == certificate["number"]
    assert b.get("/certificates")["items"] == []
    assert b.get(f"/learning/runs/{run['id']}/grades")["result"]["passed"] is False

    # The student's school's admin lists and exports them; another school's admin sees none of them.
    listed = school.admin.get("/certificates", params={"run_id": run["id"]})
    assert [x["number"] for x in listed["items"]] == [certificate["number"]] and listed["total"] == 1
    exported_certificates = fetch(school.admin, "/certificates/export", run_id=run["id"])
    assert exported_certificates[0][0] == "证书编号"
    assert [row[0] for row in exported_certificates[1:]] == [certificate["number"]]
    expect_problem(403, lambda: other_school.admin.get("/certificates", params={"school_id": school.id}))
    assert other_school.admin.get("/certificates", params={"run_id": run["id"]})["items"] == []
    assert all(row[0] != certificate["number"] for row in fetch(other_school.admin, "/certificates/export"))
    expect_problem(403, lambda: leader.get("/certificates"))
    expect_problem(403, lambda: a.get("/certificates/export"))


def rules_default() -> dict[str, int]:
    return {"video": 30, "quizzes": 20, "assignments": 10, "face_to_face": 10, "forum": 0, "final_exam": 30}
