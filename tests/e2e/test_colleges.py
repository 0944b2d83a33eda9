"""Colleges (学院/教学单位) and their college admins, through the gateway: the school admin makes colleges, puts
teachers in them and creates a college admin, who signs in with the college in their token; the wrong role, the
wrong school and no token are refused."""

from __future__ import annotations

import uuid

import jwt

from devmesh.client import Api
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account
from tests.e2e.test_auth import expect_problem


def claims_of(user: Api) -> dict:
    return jwt.decode(user.token, options={"verify_signature": False})


def test_the_school_admin_makes_colleges_places_teachers_and_creates_a_college_admin(
    api: Api, school: SchoolWorld
) -> None:
    tag = uuid.uuid4().hex[:6]
    cs = school.admin.post(f"/schools/{school.id}/colleges", {"name": f"计算机学院{tag}"})
    math = school.admin.post(f"/schools/{school.id}/colleges", {"name": f"数学学院{tag}"})
    assert cs["school_id"] == school.id and cs["teacher_count"] == 0
    expect_problem(409, lambda: school.admin.post(f"/schools/{school.id}/colleges", {"name": f"计算机学院{tag}"}))
    expect_problem(400, lambda: school.admin.post(f"/schools/{school.id}/colleges", {"name": "  "}))

    teacher_user, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                           number=f"T{tag}", name=f"王老师{tag}")
    assert "college" not in claims_of(teacher)
    placed = school.admin.request("PUT", f"/users/{teacher_user['id']}/college", json={"college_id": cs["id"]})
    assert placed["college_id"] == cs["id"] and placed["college_name"] == cs["name"]
    colleges = {c["name"]: c for c in teacher.get(f"/schools/{school.id}/colleges")["items"]}  # members read them
    assert colleges[cs["name"]]["teacher_count"] == 1 and colleges[math["name"]]["teacher_count"] == 0
    teacher = api.login(teacher_user["username"], PASSWORD)
    assert claims_of(teacher)["college"] == cs["id"]
    assert teacher.get("/me")["college_name"] == cs["name"]
    listed = school.admin.get("/users", params={"school_id": school.id, "role": "teacher"})["items"]
    assert [u["college_name"] for u in listed if u["id"] == teacher_user["id"]] == [cs["name"]]

    secretary_user, secretary = create_account(school.admin, api, role="college_admin", school_id=school.id,
                                               username=f"sec-{tag}", name=f"教学秘书{tag}", college_id=cs["id"])
    me = secretary.get("/me")
    assert me["role"] == "college_admin" and me["school_id"] == school.id
    assert me["college_id"] == cs["id"] and me["college_name"] == cs["name"]
    assert claims_of(secretary)["college"] == cs["id"] and claims_of(secretary)["role"] == "college_admin"
    admins = school.admin.get("/users", params={"school_id": school.id, "role": "college_admin"})["items"]
    assert [u["id"] for u in admins] == [secretary_user["id"]]
    assert [c["name"] for c in secretary.get(f"/schools/{school.id}/colleges")["items"]] == sorted(
        [cs["name"], math["name"]])

    # A teacher is taken out of their college; a college admin always has one; students have none.
    cleared = school.admin.request("PUT", f"/users/{teacher_user['id']}/college", json={"college_id": ""})
    assert cleared["college_id"] == "" and cleared["college_name"] == ""
    expect_problem(400, lambda: school.admin.request("PUT", f"/users/{secretary_user['id']}/college",
                                                     json={"college_id": ""}))
    student_user, _ = create_account(school.admin, api, role="student", school_id=school.id, number=f"S{tag}",
                                     name="张同学")
    expect_problem(400, lambda: school.admin.request("PUT", f"/users/{student_user['id']}/college",
                                                     json={"college_id": cs["id"]}))
    moved = school.admin.request("PUT", f"/users/{secretary_user['id']}/college", json={"college_id": math["id"]})
    assert moved["college_id"] == math["id"]
    secretary = api.login(secretary_user["username"], PASSWORD)  # moved: the old tokens name the old college
    assert claims_of(secretary)["college"] == math["id"]


def test_colleges_refuse_the_wrong_role_the_wrong_school_and_no_token(
    api: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    tag = uuid.uuid4().hex[:6]
    college = school.admin.post(f"/schools/{school.id}/colleges", {"name": f"化学学院{tag}"})
    elsewhere = other_school.admin.post(f"/schools/{other_school.id}/colleges", {"name": f"化学学院{tag}"})
    teacher_user, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                           number=f"T{tag}", name="李老师")
    stranger_user, _ = create_account(other_school.admin, api, role="teacher", school_id=other_school.id,
                                      number=f"T{tag}", name="赵老师")

    # A teacher neither creates colleges nor places anyone.
    expect_problem(403, lambda: teacher.post(f"/schools/{school.id}/colleges", {"name": f"物理学院{tag}"}))
    expect_problem(403, lambda: teacher.request("PUT", f"/users/{teacher_user['id']}/college",
                                                json={"college_id": college["id"]}))
    # Another school's admin neither creates this school's colleges, nor places its teachers, nor reads them.
    expect_problem(403, lambda: other_school.admin.post(f"/schools/{school.id}/colleges", {"name": f"物理{tag}"}))
    expect_problem(403, lambda: other_school.admin.request("PUT", f"/users/{teacher_user['id']}/college",
                                                           json={"college_id": elsewhere["id"]}))
    expect_problem(403, lambda: other_school.admin.get(f"/schools/{school.id}/colleges"))
    # This school's admin places neither another school's teacher nor in another school's college.
    expect_problem(403, lambda: school.admin.request("PUT", f"/users/{stranger_user['id']}/college",
                                                     json={"college_id": college["id"]}))
    expect_problem(400, lambda: school.admin.request("PUT", f"/users/{teacher_user['id']}/college",
                                                     json={"college_id": elsewhere["id"]}))
    # A college admin needs a college of the school.
    expect_problem(400, lambda: school.admin.post("/users", {"role": "college_admin", "school_id": school.id,
                                                             "username": f"sec-{tag}", "name": "秘书"}))
    expect_problem(400, lambda: school.admin.post("/users", {"role": "college_admin", "school_id": school.id,
                                                             "username": f"sec-{tag}", "name": "秘书",
                                                             "college_id": elsewhere["id"]}))
    # No token.
    expect_problem(401, lambda: api.get(f"/schools/{school.id}/colleges"))
    expect_problem(401, lambda: api.post(f"/schools/{school.id}/colleges", {"name": f"物理学院{tag}"}))
    expect_problem(401, lambda: api.request("PUT", f"/users/{teacher_user['id']}/college",
                                            json={"college_id": college["id"]}))

    # Nothing changed.
    assert school.admin.get("/users",
                            params={"school_id": school.id, "role": "college_admin"})["items"] == []
    names = [c["name"] for c in school.admin.get(f"/schools/{school.id}/colleges")["items"]]
    assert names == [college["name"]]
    assert all(c["teacher_count"] == 0 for c in school.admin.get(f"/schools/{school.id}/colleges")["items"])
