"""First credentials and getting back in, through the gateway: one-time credential sheets for whoever
created accounts, password resets by admins and class teachers, and the self-service reset by e-mail."""

from __future__ import annotations

import uuid

import pytest

from devmesh.client import Api
from devmesh.mesh import Mesh
from tests.e2e.conftest import CURRENT_TERM, PASSWORD, SchoolWorld, create_account, decide, new_phone
from tests.e2e.mailbox import body_of, field, mails_to, wait_for_mail
from tests.e2e.sheets import download_sheet, fetch_sheet
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_imports import csv_bytes, upload
from tests.support import wait_until


def test_a_created_account_comes_with_a_sheet_its_creator_downloads_once(
    api: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    created = school.admin.post("/users", {"role": "student", "school_id": school.id, "number": "C1",
                                           "name": "=HYPERLINK(\"x\")", "phone": new_phone()})
    sheet = created["credentials_sheet"]
    assert sheet["accounts"] == 1 and sheet["download_url"].startswith("/api/v1/credential-sheets/")
    # Nobody else, no token, a wrong key: refused, and the sheet is still there.
    assert fetch_sheet(other_school.admin, sheet).status_code == 404
    assert fetch_sheet(api, sheet).status_code == 401
    assert fetch_sheet(school.admin, {**sheet, "download_url": sheet["download_url"][:-4] + "AAAA"}).status_code == 403
    rows = download_sheet(school.admin, sheet)
    assert rows[0][:4] == ["username", "name", "number", "one-time password"]
    password = created["credentials"]["initial_password"]
    # A name that looks like a formula stays text.
    assert rows[1][:4] == [created["user"]["username"], "=HYPERLINK(\"x\")", "C1", password]
    again = fetch_sheet(school.admin, sheet)
    assert again.status_code == 410 and again.json()["reason"] == "SHEET_ALREADY_DOWNLOADED"
    assert "already downloaded" in again.json()["detail"]
    assert api.first_login(created["user"]["username"], password, PASSWORD).get("/me")["number"] == "C1"


def test_an_import_hands_its_new_accounts_over_on_one_sheet(api: Api, school: SchoolWorld) -> None:
    rows = [[f"IM{i}", f"学生{i}", new_phone(), "", "一班"] for i in range(3)]
    report = upload(school.admin, school.id, "students.csv", csv_bytes(rows))
    assert report["credentials_sheet"]["accounts"] == 3
    sheet = download_sheet(school.admin, report["credentials_sheet"])
    assert [r[2] for r in sheet[1:]] == ["IM0", "IM1", "IM2"]
    username, password = sheet[2][0], sheet[2][3]
    assert api.first_login(username, password, PASSWORD).get("/me")["number"] == "IM1"
    again = upload(school.admin, school.id, "students.csv", csv_bytes(rows))
    assert again["created"] == 0 and again["credentials_sheet"]["id"] == ""  # nothing new to hand over


def test_school_admins_reset_their_own_schools_students_and_teachers(
    api: Api, platform: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    student, student_api = create_account(school.admin, api, role="student", school_id=school.id, number="R1",
                                          name="冯同学")
    teacher, teacher_api = create_account(school.admin, api, role="teacher", school_id=school.id, number="RT1",
                                          name="陈老师")
    refresh = api.post("/auth/login", {"login": student["username"], "password": PASSWORD})["refresh_token"]
    for _ in range(3):  # a few failures: the reset lifts them too
        expect_problem(401, lambda: api.login(student["username"], "Wrong-pass-1"))
    # Wrong school, wrong role, no token, oneself: refused.
    expect_problem(403, lambda: other_school.admin.post(f"/users/{student['id']}/password-reset"))
    expect_problem(403, lambda: student_api.post(f"/users/{teacher['id']}/password-reset"))
    expect_problem(403, lambda: teacher_api.post(f"/users/{student['id']}/password-reset"))  # not their class
    expect_problem(401, lambda: api.post(f"/users/{student['id']}/password-reset"))
    admin_id, platform_id = school.admin.get("/me")["id"], platform.get("/me")["id"]
    expect_problem(400, lambda: school.admin.post(f"/users/{admin_id}/password-reset"))  # oneself
    expect_problem(403, lambda: school.admin.post(f"/users/{platform_id}/password-reset"))
    expect_problem(404, lambda: school.admin.post(f"/users/{uuid.uuid4()}/password-reset"))

    reset = school.admin.post(f"/users/{student['id']}/password-reset")
    one_time = reset["credentials"]["initial_password"]
    assert download_sheet(school.admin, reset["credentials_sheet"])[1][3] == one_time
    expect_problem(401, lambda: api.login(student["username"], PASSWORD))  # the old password is gone
    expect_problem(401, lambda: api.post("/auth/refresh", {"refresh_token": refresh}))  # sessions ended
    tokens = api.post("/auth/login", {"login": student["username"], "password": one_time})
    assert tokens["must_change_password"] is True
    api.first_login(student["username"], one_time, "Fresh-pass-2027")
    teacher_reset = school.admin.post(f"/users/{teacher['id']}/password-reset")
    api.first_login(teacher["username"], teacher_reset["credentials"]["initial_password"], "Fresh-pass-2027")


def test_a_class_import_hands_the_teacher_a_sheet_and_the_teacher_resets_only_their_students(
    api: Api, center: Api, school: SchoolWorld
) -> None:
    _, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number="CL1", name="褚老师")
    _, colleague = create_account(school.admin, api, role="teacher", school_id=school.id, number="CL2",
                                  name="卫老师")
    outsider, _ = create_account(school.admin, api, role="student", school_id=school.id, number="CS9", name="蒋同学")
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "线性代数", "category": "公共基础课"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    decide(school.admin, "course_run", run["id"])  # only an approved run takes students
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] == "running")
    own = leader.post(f"/runs/{run['id']}/classes", {"name": "数学1班"})
    csv = f"学号,姓名,手机号\nCS1,沈同学,{new_phone()}\nCS2,韩同学,{new_phone()}\n".encode()
    imported = leader.post(f"/classes/{own['id']}/imports", files={"file": ("s.csv", csv)})
    assert (imported["accounts_created"], imported["added"]) == (2, 2)
    sheet = {"download_url": imported["credentials_sheet_url"]}
    assert fetch_sheet(school.admin, sheet).status_code == 404  # the teacher's sheet, not the admin's
    rows = download_sheet(leader, sheet)
    by_number = {r[2]: r for r in rows[1:]}
    assert set(by_number) == {"CS1", "CS2"}
    student = api.first_login(by_number["CS1"][0], by_number["CS1"][3], PASSWORD).get("/me")
    # The teacher of the class resets a student of the class; not a student outside it, not a teacher;
    # a colleague who does not teach the class cannot.
    reset = leader.post(f"/users/{student['id']}/password-reset")
    api.first_login(student["username"], reset["credentials"]["initial_password"], "Fresh-pass-2027")
    expect_problem(403, lambda: leader.post(f"/users/{outsider['id']}/password-reset"))
    expect_problem(403, lambda: colleague.post(f"/users/{student['id']}/password-reset"))
    colleague_id = colleague.get("/me")["id"]
    expect_problem(403, lambda: leader.post(f"/users/{colleague_id}/password-reset"))
    # A team teacher's own class is theirs: they reset its students; leading the course is not enough.
    leader.post(f"/runs/{run['id']}/team", {"user_id": colleague_id, "permissions": ["manage_classes"]})
    second = colleague.post(f"/runs/{run['id']}/classes", {"name": "数学2班"})
    taught = colleague.post(f"/classes/{second['id']}/imports",
                            files={"file": ("s.csv", f"学号,姓名,手机号\nCS3,秦同学,{new_phone()}\n".encode())})
    cs3 = download_sheet(colleague, {"download_url": taught["credentials_sheet_url"]})[1]
    cs3_id = api.first_login(cs3[0], cs3[3], PASSWORD).get("/me")["id"]
    expect_problem(403, lambda: leader.post(f"/users/{cs3_id}/password-reset"))
    assert colleague.post(f"/users/{cs3_id}/password-reset")["credentials"]["username"] == cs3[0]


def test_a_forgotten_password_is_reset_by_a_single_use_mailed_link(api: Api, mesh: Mesh, school: SchoolWorld) -> None:
    email = f"reset-{uuid.uuid4().hex[:8]}@example.edu.cn"
    user, _ = create_account(school.admin, api, role="teacher", school_id=school.id, number="M1", name="杨老师",
                             email=email)
    known = api.post("/auth/password-reset", {"email": email.upper()})
    unknown_address = f"nobody-{uuid.uuid4().hex[:8]}@example.edu.cn"
    unknown = api.post("/auth/password-reset", {"email": unknown_address})
    assert known == unknown  # the answer never tells whether the address is known
    mail = body_of(wait_for_mail(mesh, email))
    assert user["username"] in mail
    token = field(r"token=([\w-]+)", mail)
    assert field(r"Reset code \(POST /api/v1/auth/password-reset/confirm\): ([\w-]+)", mail) == token
    expect_problem(400, lambda: api.post("/auth/password-reset/confirm", {"token": token, "new_password": "short"}))
    api.post("/auth/password-reset/confirm", {"token": token, "new_password": "Mailed-pass-2027"})
    assert api.login(user["username"], "Mailed-pass-2027").get("/me")["id"] == user["id"]
    expect_problem(401, lambda: api.login(user["username"], PASSWORD))
    used = expect_problem(400, lambda: api.post("/auth/password-reset/confirm",
                                                {"token": token, "new_password": "Other-pass-2027"}),
                          "RESET_LINK_INVALID")
    assert "not valid" in used["detail"]
    expect_problem(400, lambda: api.post("/auth/password-reset/confirm",
                                         {"token": "made-up-token", "new_password": "Other-pass-2027"}),
                   "RESET_LINK_INVALID")
    expect_problem(400, lambda: api.post("/auth/password-reset", {"email": "not-an-address"}))
    # A newer link replaces an older one.
    api.post("/auth/password-reset", {"email": email})
    first = field(r"token=([\w-]+)", body_of(wait_for_mail(mesh, email, count=2)))
    api.post("/auth/password-reset", {"email": email})
    second = field(r"token=([\w-]+)", body_of(wait_for_mail(mesh, email, count=3)))
    expect_problem(400, lambda: api.post("/auth/password-reset/confirm",
                                         {"token": first, "new_password": "Other-pass-2027"}))
    api.post("/auth/password-reset/confirm", {"token": second, "new_password": "Other-pass-2027"})
    assert not mails_to(mesh, unknown_address)


@pytest.mark.parametrize("query", ["%", "_"])
def test_percent_and_underscore_are_letters_in_searches(
    api: Api, platform: Api, school: SchoolWorld, query: str
) -> None:
    assert api.get("/schools", params={"query": query})["total"] == 0
    assert school.admin.get("/users", params={"query": query})["total"] == 0
    assert school.admin.get("/users", params={"query": f"-admin{query}"})["total"] == 0
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                number=f"P{uuid.uuid4().hex[:6]}", name="百分号老师")
    assert teacher.get("/teachers", params={"query": f"{query}{query}"})["items"] == []
    assert [t["name"] for t in teacher.get("/teachers", params={"query": "百分号"})["items"]][:1] == ["百分号老师"]
