"""The provincial center sees its province (and only it); a school sees, exports and publishes its numbers."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook

from devmesh.client import Api
from tests.e2e.conftest import CURRENT_TERM, PASSWORD, SchoolWorld, create_account, decide, new_code, new_phone
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_courses import approved_video, registered
from tests.e2e.test_sharing import list_dates, new_term
from tests.support import wait_until


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("statistics-clips")


@pytest.fixture
def henan(api: Api, platform: Api) -> tuple[Api, Api, dict]:
    """Province 41's center, and a school of it with its admin."""
    username = f"center41-{uuid.uuid4().hex[:6]}"
    created = platform.post("/users", {"role": "center_admin", "province_code": "41", "username": username,
                                       "name": "河南课程中心"})
    center41 = api.first_login(username, created["credentials"]["initial_password"], PASSWORD)
    code = new_code()
    school = platform.post("/schools", {"code": code, "name": f"河南大学{code}", "province_code": "41"})
    _, admin41 = create_account(platform, api, role="school_admin", school_id=school["id"],
                                username=f"{code.lower()}-admin", name="教务处")
    return center41, admin41, school


def running_course(school: SchoolWorld, leader: Api, name: str) -> tuple[dict, dict]:
    """An independent SPOC with a one-chapter plan and an approved run in the current term."""
    course = leader.post("/courses", {"kind": "spoc_independent", "name": name, "category": "专业课"})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    decide(school.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] == "running")
    return course, run


def class_with_students(teacher: Api, run_id: str, name: str, numbers: list[str]) -> dict:
    klass = teacher.post(f"/runs/{run_id}/classes", {"name": name})
    rows = "".join(f"{n},学生{n},{new_phone()}\n" for n in numbers)
    content = f"学号,姓名,手机号\n{rows}".encode()
    imported = teacher.post(f"/classes/{klass['id']}/imports", files={"file": ("s.csv", content)})
    assert imported["imported"] is True, imported
    return klass


def download(who: Api, path: str, **params: str) -> bytes:
    response = who.http.get(f"/api/v1{path}", params=params, headers={"Authorization": f"Bearer {who.token}"})
    assert response.status_code == 200, response.text
    return response.content


def csv_table(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_center_sees_and_exports_its_province_and_nothing_else(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld, henan: tuple[Api, Api, dict]
) -> None:
    center41, admin41, _ = henan
    tag = uuid.uuid4().hex[:6]
    leader_user, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number="L1",
                                         name="王老师")
    _, student = create_account(school.admin, api, role="student", school_id=school.id, number="S0", name="学生")
    course, run = running_course(school, leader, f"统计学{tag}")
    formula = leader.post("/courses", {"kind": "spoc_independent", "name": f"=1+1{tag}", "category": "专业课"})

    # A tutor of another school of the province adopts the run: their class, two of their students.
    tutor_name = f"辅导{tag}"
    _, tutor = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="T1",
                              name=tutor_name)
    tutor_id = leader.get("/teachers", params={"query": tutor_name})["items"][0]["user_id"]
    leader.post(f"/runs/{run['id']}/team", {"user_id": tutor_id, "permissions": ["manage_classes"]})
    class_with_students(tutor, run["id"], "外校1班", ["W1", "W2"])
    class_with_students(leader, run["id"], "本校1班", ["B1"])

    # The lists that answered 403 to the center now answer for its province.
    assert {c["course"]["id"] for c in center.get("/courses", params={"page_size": 200, "query": tag})["items"]} == {
        course["id"], formula["id"]}
    assert center.get("/mooc-applications")["total"] >= 0
    assert center41.get("/courses", params={"query": tag})["total"] == 0

    # Courses by school, kind, category and state, with their use.
    courses = center.get("/statistics/courses", params={"school_id": school.id})
    assert courses["total"] == 2 and courses["columns"][0] == "course_id"
    row = next(r for r in courses["items"] if r["course_id"] == course["id"])
    assert (row["kind"], row["category"], row["state"], row["runs"], row["classes"], row["students"]) == (
        "spoc_independent", "专业课", "running", "1", "2", "3")
    none = center.get("/statistics/courses", params={"school_id": school.id, "state": "none"})["items"]
    assert [r["course_id"] for r in none] == [formula["id"]]
    first = center.get("/statistics/courses", params={"school_id": school.id, "page_size": 1})
    second = center.get("/statistics/courses", params={"school_id": school.id, "page_size": 1,
                                                       "page_token": first["next_page_token"]})
    assert {first["items"][0]["course_id"], second["items"][0]["course_id"]} == {course["id"], formula["id"]}
    assert second["next_page_token"] == ""

    # Runs per term with students, and who adopts whose courses.
    runs = center.get("/statistics/runs", params={"school_id": school.id, "term_code": CURRENT_TERM["code"]})
    assert [(r["run_id"], r["students"], r["students_from_other_schools"]) for r in runs["items"]] == [
        (run["id"], "3", "2")]
    adoptions = center.get("/statistics/adoptions", params={"school_id": school.id})["items"]
    assert [(a["course_id"], a["adopting_school_id"], a["adopting_school_name"], a["classes"], a["students"])
            for a in adoptions] == [(course["id"], other_school.id, other_school.name, "1", "2")]
    assert other_school.admin.get("/statistics/adoptions")["items"] == adoptions  # the adopting side sees it too

    # The registry and SPOC→MOOC applications of the province.
    entry = registered(center, school, f"数据科学{tag}", leader_user["id"])
    registry = center.get("/statistics/registry", params={"school_id": school.id})["items"]
    assert [(e["entry_id"], e["status"]) for e in registry] == [(entry["id"], "approved")]
    assert center.get("/statistics/mooc-applications", params={"school_id": school.id})["total"] == 0
    # The exports hold the same rows (every page, CSV and XLSX).
    for adoptions in (csv_table(download(center, "/statistics/adoptions/export", school_id=school.id, format="csv")),
                      [[c.value for c in row] for row in load_workbook(io.BytesIO(download(
                          center, "/statistics/adoptions/export", school_id=school.id))).active.iter_rows()]):
        assert adoptions[0][7:9] == ["选课学校ID", "选课学校"]
        assert [(r[2], r[7], r[8], r[9], r[10]) for r in adoptions[1:]] == [
            (course["id"], other_school.id, other_school.name, "1", "2")]
    for entries in (csv_table(download(center, "/statistics/registry/export", school_id=school.id, format="csv")),
                    [[c.value for c in row] for row in load_workbook(io.BytesIO(download(
                        center, "/statistics/registry/export", school_id=school.id))).active.iter_rows()]):
        assert entries[0][:3] == ["条目ID", "学校ID", "课程名称"]
        assert [(r[0], r[2], r[4]) for r in entries[1:]] == [(entry["id"], f"数据科学{tag}", "approved")]

    # Sharing lists across terms.
    term = new_term(center)
    list_id = center.post("/sharing/lists", {"term_code": term, "title": f"清单{tag}", **list_dates(term)})["id"]
    assert list_id
    lists = center.get("/statistics/lists", params={"page_size": 200})["items"]
    assert [(x["state"], x["entries"]) for x in lists if x["term_code"] == term] == [("open", "0")]
    assert term not in [x["term_code"] for x in center41.get("/statistics/lists", params={"page_size": 200})["items"]]

    # Exports: every page, CSV and XLSX, formulas written inert.
    table = csv_table(download(center, "/statistics/courses/export", school_id=school.id, format="csv"))
    assert table[0][:3] == ["课程ID", "学校ID", "课程名称"] and len(table) == 3
    assert f"'=1+1{tag}" in [r[2] for r in table[1:]]
    sheet = load_workbook(io.BytesIO(download(center, "/statistics/runs/export", school_id=school.id))).active
    assert [c.value for c in sheet[2]][5] == run["id"]
    lists_csv = csv_table(download(center, "/statistics/lists/export", format="csv"))
    assert term in [r[0] for r in lists_csv[1:]]

    # Province 41's center sees none of it; a school admin only its school; teachers and students nothing.
    for report in ("courses", "runs", "adoptions", "registry"):
        assert center41.get(f"/statistics/{report}", params={"school_id": school.id})["total"] == 0
        assert admin41.get(f"/statistics/{report}")["total"] == 0
        expect_problem(403, lambda report=report: other_school.admin.get(
            f"/statistics/{report}", params={"school_id": school.id}))
        for stranger in (leader, tutor, student):
            expect_problem(403, lambda report=report, stranger=stranger: stranger.get(f"/statistics/{report}"))
        expect_problem(401, lambda report=report: api.get(f"/statistics/{report}"))
    for report in ("mooc-applications", "lists", "adoption-requests"):
        assert center.get(f"/statistics/{report}")["report"] == report
        for stranger in (leader, tutor, student):
            expect_problem(403, lambda report=report, stranger=stranger: stranger.get(f"/statistics/{report}"))
            expect_problem(403, lambda report=report, stranger=stranger: stranger.get(f"/statistics/{report}/export"))
        expect_problem(401, lambda report=report: api.get(f"/statistics/{report}"))
    assert center41.get("/statistics/mooc-applications", params={"school_id": school.id})["total"] == 0
    assert {r["course_id"] for r in school.admin.get("/statistics/courses")["items"]} == {course["id"], formula["id"]}
    assert other_school.admin.get("/statistics/courses")["total"] == 0
    expect_problem(403, lambda: leader.get("/statistics/lists"))
    expect_problem(403, lambda: leader.get("/statistics/courses/export"))
    expect_problem(401, lambda: api.get("/statistics/courses/export"))

    # Bad input: a clear 400 naming what is wrong.
    expect_problem(400, lambda: center.get("/statistics/everything"), reason="UNKNOWN_REPORT")
    expect_problem(400, lambda: center.get("/statistics/courses", params={"kind": "mook"}))
    expect_problem(400, lambda: center.get("/statistics/runs", params={"state": "asleep"}), reason="BAD_FILTER")
    expect_problem(400, lambda: center.get("/statistics/registry", params={"term_code": "x"}), reason="BAD_FILTER")
    expect_problem(400, lambda: center.get("/statistics/courses", params={"page_token": "bogus"}))
    expect_problem(400, lambda: center.get("/statistics/courses/export", params={"format": "pdf"}))


def test_a_school_reports_its_update_ratio_and_use_and_publishes_them(
    api: Api, center: Api, clips: Path, school: SchoolWorld, other_school: SchoolWorld,
    henan: tuple[Api, Api, dict]
) -> None:
    center41, _, _ = henan
    tag = uuid.uuid4().hex[:6]
    _, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number="L1", name="王老师")
    _, student = create_account(school.admin, api, role="student", school_id=school.id, number="S0", name="学生")
    renewed, run = running_course(school, leader, f"更新课{tag}")
    class_with_students(leader, run["id"], "本校1班", ["B1", "B2"])
    video = approved_video(clips, leader, school.admin)
    leader.post(f"/courses/{renewed['id']}/materials", {"asset_id": video["id"], "title": "第一讲"})
    stale = leader.post("/courses", {"kind": "spoc_independent", "name": f"旧课{tag}", "category": "专业课"})

    # The school's own admin reads it before publishing: per course, the ratio against the 5–10% target.
    report = school.admin.get("/statistics/school-report")
    assert report["notes"]["school_year"] == "2026-2027" and report["notes"]["target"] == "5%-10%"
    assert report["notes"]["published_at"] == "" and "credited" in report["notes"]["minutes_watched"]
    rows = {r["course_id"]: r for r in report["items"]}
    assert set(rows) == {renewed["id"], stale["id"]}
    assert (rows[renewed["id"]]["resources"], rows[renewed["id"]]["updated_resources"],
            rows[renewed["id"]]["update_ratio"], rows[renewed["id"]]["target"]) == ("1", "1", "1", "above_target")
    assert (rows[stale["id"]]["update_ratio"], rows[stale["id"]]["target"]) == ("0", "below_target")
    assert (rows[renewed["id"]]["runs"], rows[renewed["id"]]["classes"], rows[renewed["id"]]["students"]) == (
        "1", "1", "2")
    assert rows[renewed["id"]]["minutes_watched"] == rows[stale["id"]]["minutes_watched"] == "0"  # nobody watched
    assert school.admin.get("/statistics/school-report", params={"school_year": "2025"})["total"] == 0
    expect_problem(400, lambda: school.admin.get("/statistics/school-report", params={"school_year": "2027"}),
                   reason="BAD_SCHOOL_YEAR")
    expect_problem(400, lambda: school.admin.get("/statistics/school-report", params={"school_year": "twenty"}),
                   reason="BAD_SCHOOL_YEAR")
    exported = csv_table(download(school.admin, "/statistics/school-report/export", format="csv"))
    assert exported[0][8:10] == ["资源更新比例", "对照5%-10%目标"] and exported[0][13] == "观看分钟数"
    assert sorted(r[9] for r in exported[1:]) == ["above_target", "below_target"]
    sheet = load_workbook(io.BytesIO(download(school.admin, "/statistics/school-report/export"))).active
    assert sheet.max_row == 3

    # Unpublished: its teachers and the center are refused; nobody publishes for the school but its admin.
    expect_problem(403, lambda: leader.get("/statistics/school-report"), reason="REPORT_NOT_PUBLISHED")
    expect_problem(403, lambda: center.get("/statistics/school-report", params={"school_id": school.id}),
                   reason="REPORT_NOT_PUBLISHED")
    for stranger in (leader, student, center):
        expect_problem(403, lambda stranger=stranger: stranger.post("/statistics/school-report/publish", {}))
    expect_problem(401, lambda: api.post("/statistics/school-report/publish", {}))
    expect_problem(400, lambda: school.admin.post("/statistics/school-report/publish", {"school_year": "2031"}))
    assert school.admin.get("/statistics/school-report")["notes"]["published_at"] == ""

    published = school.admin.post("/statistics/school-report/publish", {"school_year": "2026"})
    assert published["school_id"] == school.id and published["published_at"]

    # Published: the school's teachers and its province's center read it; nobody else.
    assert {r["course_id"] for r in leader.get("/statistics/school-report")["items"]} == set(rows)
    seen = center.get("/statistics/school-report", params={"school_id": school.id})
    assert seen["notes"]["published_at"] and {r["course_id"] for r in seen["items"]} == set(rows)
    assert csv_table(download(center, "/statistics/school-report/export", school_id=school.id, format="csv"))[1:]
    expect_problem(400, lambda: center.get("/statistics/school-report"), reason="SCHOOL_REQUIRED")
    expect_problem(403, lambda: center41.get("/statistics/school-report", params={"school_id": school.id}))
    expect_problem(403, lambda: other_school.admin.get("/statistics/school-report", params={"school_id": school.id}))
    expect_problem(403, lambda: student.get("/statistics/school-report"))
    expect_problem(401, lambda: api.get("/statistics/school-report"))
    _, outsider = create_account(other_school.admin, api, role="teacher", school_id=other_school.id, number="O1",
                                 name="外校老师")
    expect_problem(403, lambda: outsider.get("/statistics/school-report", params={"school_id": school.id}))
    expect_problem(403, lambda: outsider.get("/statistics/school-report"), reason="REPORT_NOT_PUBLISHED")


def test_the_center_lists_and_exports_its_provinces_spoc_to_mooc_applications_and_nothing_else(
    api: Api, center: Api, clips: Path, school: SchoolWorld, henan: tuple[Api, Api, dict]
) -> None:
    center41, admin41, _ = henan
    tag = uuid.uuid4().hex[:6]
    _, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number="L1", name="申请老师")
    course = leader.post("/courses", {"kind": "spoc_independent", "name": f"申请课{tag}", "category": "专业课"})
    chapter = leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    video = approved_video(clips, leader, school.admin, seconds=6)
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "unit", "title": "1.1", "resource_id": video["id"],
                                                        "parent_id": chapter["nodes"][0]["id"]})
    leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})

    # The platform's 240 minutes are the policy's number: a school that asks for 3 seconds lets a 6-second
    # course apply (the clips stay short; the center still decides).
    refused = expect_problem(409, lambda: leader.post(f"/courses/{course['id']}/mooc-application", {}),
                             reason="APPLICATION_NOT_READY")
    assert "needs 240 minutes of approved video; it has 0.1 (mooc_application_min_video_minutes 240 (platform " \
           "defaults v1))" in refused["detail"]
    school.admin.request("PUT", f"/schools/{school.id}/policy/layer", json={
        "effective_from_term": CURRENT_TERM["code"], "numbers": {"mooc_application_min_video_minutes": 0.05}})
    application = leader.post(f"/courses/{course['id']}/mooc-application", {})
    assert (application["course_id"], application["status"]) == (course["id"], "pending")

    # The center's list and report of its province hold it, with the course and its figures.
    listed = center.get("/mooc-applications", params={"page_size": 200})["items"]
    assert application["id"] in [a["id"] for a in listed]
    report = center.get("/statistics/mooc-applications", params={"school_id": school.id})
    assert [(r["application_id"], r["course_id"], r["course_name"], r["leader_name"], r["approved_video_minutes"],
             r["run_count"], r["status"]) for r in report["items"]] == [
        (application["id"], course["id"], f"申请课{tag}", "申请老师", "0.1", "1", "pending")]
    assert [r["application_id"] for r in school.admin.get("/statistics/mooc-applications")["items"]] == [
        application["id"]]
    table = csv_table(download(center, "/statistics/mooc-applications/export", school_id=school.id, format="csv"))
    assert table[0][:3] == ["申请ID", "学校ID", "课程ID"]
    assert [r[:4] for r in table[1:]] == [[application["id"], school.id, course["id"], f"申请课{tag}"]]
    sheet = load_workbook(io.BytesIO(download(center, "/statistics/mooc-applications/export",
                                              school_id=school.id))).active
    assert sheet.max_row == 2 and [c.value for c in sheet[2]][:3] == [application["id"], school.id, course["id"]]

    # Province 41's center (and its school's admin) sees none of it, in the list, the report or the export.
    assert application["id"] not in [a["id"] for a in center41.get("/mooc-applications",
                                                                    params={"page_size": 200})["items"]]
    assert center41.get("/statistics/mooc-applications", params={"school_id": school.id})["total"] == 0
    assert application["id"] not in [r["application_id"] for r in center41.get(
        "/statistics/mooc-applications", params={"page_size": 200})["items"]]
    assert csv_table(download(center41, "/statistics/mooc-applications/export", school_id=school.id,
                              format="csv"))[1:] == []
    assert admin41.get("/statistics/mooc-applications")["total"] == 0
