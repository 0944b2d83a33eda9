"""Bulk import of students and teachers from CSV and XLSX by the school's admin."""

from __future__ import annotations

import io

from openpyxl import Workbook

from devmesh.client import Api
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, new_phone
from tests.e2e.test_auth import expect_problem


def csv_bytes(rows: list[list[str]], header=("number", "name", "phone", "email", "class_name"),
              encoding: str = "utf-8") -> bytes:  # type: ignore[no-untyped-def]
    return "\n".join(",".join(r) for r in [list(header), *rows]).encode(encoding)


def xlsx_bytes(rows: list[list[object]], header=("学号", "姓名", "手机号", "邮箱", "班级")) -> bytes:  # type: ignore[no-untyped-def]
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(admin: Api, school_id: str, name: str, content: bytes, **params: object) -> dict:
    return admin.post(f"/schools/{school_id}/imports", files={"file": (name, content)},
                      params={"role": "student", **params})


def students(admin: Api) -> dict[str, dict]:
    return {u["number"]: u for u in admin.get("/users", params={"role": "student", "page_size": 200})["items"]}


def test_a_csv_imports_once_and_again_creates_no_duplicates(api: Api, school: SchoolWorld) -> None:
    rows = [[f"2026{i:04d}", f"学生{i}", new_phone(), f"s{i}@example.edu.cn", "计算机1班"] for i in range(20)]
    content = csv_bytes(rows)
    report = upload(school.admin, school.id, "students.csv", content)
    assert (report["imported"], report["rows"], report["created"], report["errors"]) == (True, 20, 20, [])
    assert len(report["credentials"]) == 20
    again = upload(school.admin, school.id, "students.csv", content)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 20)
    assert len(students(school.admin)) == 20
    # An imported student signs in with the one-time password and must change it.
    first = report["credentials"][0]
    student = api.first_login(first["username"], first["initial_password"], PASSWORD)
    assert student.get("/me")["class_name"] == "计算机1班"
    # A changed row updates the account instead of duplicating it.
    rows[1][4] = "计算机2班"
    changed = upload(school.admin, school.id, "students.csv", csv_bytes(rows))
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 19)
    assert students(school.admin)["20260001"]["class_name"] == "计算机2班"


def test_an_xlsx_with_chinese_headers_imports_teachers(school: SchoolWorld) -> None:
    content = xlsx_bytes([[9001, "王老师", int(new_phone()), "", ""], ["9002", "李老师", new_phone(), None, None]])
    report = school.admin.post(f"/schools/{school.id}/imports", files={"file": ("教师.xlsx", content)},
                               params={"role": "teacher"})
    assert (report["imported"], report["created"]) == (True, 2)
    teachers = school.admin.get("/users", params={"role": "teacher"})["items"]
    assert {t["number"] for t in teachers} == {"9001", "9002"}


def test_a_gb18030_csv_is_read_correctly(school: SchoolWorld) -> None:
    content = csv_bytes([["G1", "欧阳同学", new_phone(), "", "会计1班"]],
                        header=("学号", "姓名", "手机", "邮箱", "班级"), encoding="gb18030")
    assert upload(school.admin, school.id, "gbk.csv", content)["created"] == 1
    assert students(school.admin)["G1"]["name"] == "欧阳同学"


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_line(school: SchoolWorld) -> None:
    phone = new_phone()
    rows = [
        ["B1", "好学生", phone, "", ""],
        ["", "没有学号", new_phone(), "", ""],          # line 3
        ["B3", "坏手机", "12345", "", ""],              # line 4
        ["B4", "坏邮箱", new_phone(), "not-an-email", ""],  # line 5
        ["B1", "重复学号", new_phone(), "", ""],        # line 6
        ["B6", "重复手机", phone, "", ""],              # line 7
    ]
    report = upload(school.admin, school.id, "bad.csv", csv_bytes(rows))
    assert report["imported"] is False and report["created"] == 0
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "number"), (4, "phone"), (5, "email"), (6, "number"), (7, "phone")
    ]
    assert "duplicates line 2" in report["errors"][3]["reason"]
    assert students(school.admin) == {}
    # Asked for explicitly, the good rows go in and the bad ones are still reported.
    partial = upload(school.admin, school.id, "bad.csv", csv_bytes(rows), import_valid_rows="true")
    assert partial["imported"] is True and partial["created"] == 1 and len(partial["errors"]) == 5
    assert set(students(school.admin)) == {"B1"}


def test_a_phone_of_another_account_is_a_bad_row(api: Api, school: SchoolWorld, other_school: SchoolWorld) -> None:
    taken = new_phone()
    create_account(other_school.admin, api, role="student", school_id=other_school.id, number="X1", name="别校",
                   phone=taken)
    report = upload(school.admin, school.id, "s.csv", csv_bytes([["P1", "撞号", taken, "", ""]]))
    assert report["imported"] is False
    assert report["errors"][0]["field"] == "phone" and "another account" in report["errors"][0]["reason"]


def test_imports_are_refused_to_the_wrong_people_and_for_bad_files(
    api: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    content = csv_bytes([["R1", "学生", new_phone(), "", ""]])
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id, number="T8", name="冯老师")
    expect_problem(403, lambda: upload(other_school.admin, school.id, "s.csv", content))
    # Teachers import their own school's students only (course classes need it), never teachers.
    expect_problem(403, lambda: upload(teacher, school.id, "s.csv", content, role="teacher"))
    expect_problem(403, lambda: upload(teacher, other_school.id, "s.csv", content))
    _, student = create_account(school.admin, api, role="student", school_id=school.id, number="S8", name="学生")
    expect_problem(403, lambda: upload(student, school.id, "s.csv", content))
    expect_problem(401, lambda: upload(api, school.id, "s.csv", content))
    expect_problem(400, lambda: upload(school.admin, school.id, "s.txt", content))
    expect_problem(400, lambda: upload(school.admin, school.id, "s.csv", b""))
    expect_problem(400, lambda: upload(school.admin, school.id, "s.xlsx", b"not a zip file"))
    expect_problem(400, lambda: upload(school.admin, school.id, "s.csv", b"name,phone\nx,13900000000"))
    expect_problem(400, lambda: upload(school.admin, school.id, "s.csv", content, role="school_admin"))
    expect_problem(413, lambda: upload(school.admin, school.id, "s.csv", b"x" * (21 * 1024 * 1024)))
    assert set(students(school.admin)) == {"S8"}  # nothing of the refused files


def test_only_school_admins_change_existing_accounts_a_teachers_row_must_match(
    api: Api, school: SchoolWorld
) -> None:
    phone = new_phone()
    upload(school.admin, school.id, "s.csv", csv_bytes([["EX1", "原名", phone, "old@example.edu.cn", "一班"]]))
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id, number="TX1", name="管老师")
    new_phone_number = new_phone()
    rows = [["EX1", "改名", new_phone_number, "evil@example.com", "一班"],  # rewrites an existing student
            ["EX2", "新同学", new_phone(), "", "一班"]]
    refused = upload(teacher, school.id, "s.csv", csv_bytes(rows))
    assert refused["imported"] is False
    error = refused["errors"][0]
    assert (error["line"], error["field"]) == (2, "name")
    assert "name and phone and email differ" in error["reason"] and "academic affairs" in error["reason"]
    # With import_valid_rows the new student is created; the existing one stays as it was.
    partial = upload(teacher, school.id, "s.csv", csv_bytes(rows), import_valid_rows="true")
    assert (partial["imported"], partial["created"], partial["updated"]) == (True, 1, 0)
    assert [a["number"] for a in partial["accounts"]] == ["EX2"]
    existing = students(school.admin)["EX1"]
    assert (existing["name"], existing["phone"], existing["email"]) == ("原名", phone, "old@example.edu.cn")
    # A teacher's row that matches (blank cells change nothing; the class is not the teacher's to set) passes.
    same = upload(teacher, school.id, "s.csv", csv_bytes([["EX1", "原名", phone, "", "二班"]]))
    assert (same["imported"], same["updated"], same["unchanged"]) == (True, 0, 1)
    assert students(school.admin)["EX1"]["class_name"] == "一班"
    # The school's admin does change it.
    row = ["EX1", "改名", phone, "new@example.edu.cn", "二班"]
    changed = upload(school.admin, school.id, "s.csv", csv_bytes([row]))
    assert changed["updated"] == 1
    assert students(school.admin)["EX1"]["name"] == "改名"
