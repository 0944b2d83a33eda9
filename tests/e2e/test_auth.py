"""Signing in, sessions, and refusals, through the gateway."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devmesh.client import Api, ApiError
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, new_phone
from tests.support import wait_until


def expect_problem(status: int, call, reason: str = "") -> dict:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as raised:
        call()
    assert raised.value.status == status, raised.value.problem
    assert raised.value.problem["status"] == status
    if reason:
        assert raised.value.problem.get("reason") == reason, raised.value.problem
    return raised.value.problem


def test_sign_in_by_username_or_phone(api: Api, school: SchoolWorld) -> None:
    phone = new_phone()
    user, _ = create_account(school.admin, api, role="teacher", school_id=school.id, number="T9", name="王老师",
                             phone=phone)
    by_name = api.login(user["username"], PASSWORD).get("/me")
    by_phone = api.login(phone, PASSWORD).get("/me")
    assert by_name["id"] == by_phone["id"] == user["id"]
    assert by_name["role"] == "teacher" and by_name["school_id"] == school.id


def test_wrong_password_and_unknown_account_get_the_same_answer(api: Api, school: SchoolWorld) -> None:
    user, _ = create_account(school.admin, api, role="student", school_id=school.id, number="S1", name="张同学")
    wrong = expect_problem(401, lambda: api.login(user["username"], "Wrong-pass-1"))
    unknown = expect_problem(401, lambda: api.login("nobody-here", "Wrong-pass-1"))
    assert wrong["detail"] == unknown["detail"]


def test_five_failures_lock_the_account_even_for_the_right_password(api: Api, school: SchoolWorld) -> None:
    user, _ = create_account(school.admin, api, role="student", school_id=school.id, number="S2", name="李同学")
    for _ in range(3):
        expect_problem(401, lambda: api.login(user["username"], "Wrong-pass-1"), "")
    for _ in range(2):  # from the fourth try on, each one needs a solved captcha
        challenge = expect_problem(401, lambda: api.login(user["username"], "Wrong-pass-1"), "CAPTCHA_REQUIRED")
        captcha = challenge["captcha"]
        problem = expect_problem(401, lambda c=captcha: api.post("/auth/login", {
            "login": user["username"], "password": "Wrong-pass-1", "captcha_id": c["id"],
            "captcha_answer": c["answer"]}))
        assert "reason" not in problem  # a real password check, failed
    problem = expect_problem(403, lambda: api.login(user["username"], PASSWORD), "ACCOUNT_LOCKED")
    assert "locked until" in problem["detail"]


def test_an_admin_made_account_must_change_its_password_first(api: Api, school: SchoolWorld) -> None:
    created = school.admin.post(
        "/users", {"role": "student", "school_id": school.id, "number": "S3", "name": "赵同学", "phone": new_phone()}
    )
    one_time = created["credentials"]["initial_password"]
    username = created["credentials"]["username"]
    assert username == f"{school.code}-S3"
    tokens = api.post("/auth/login", {"login": username, "password": one_time})
    assert tokens["must_change_password"] is True
    first = api.as_user(tokens["access_token"])
    assert first.get("/me")["must_change_password"] is True  # allowed
    expect_problem(403, lambda: first.get("/reviews"), "PASSWORD_CHANGE_REQUIRED")
    expect_problem(400, lambda: first.post("/auth/password", {"old_password": one_time, "new_password": "short"}))
    expect_problem(400, lambda: first.post("/auth/password", {"old_password": "Not-it-123", "new_password": PASSWORD}))
    changed = first.post("/auth/password", {"old_password": one_time, "new_password": PASSWORD,
                                            "refresh_token": tokens["refresh_token"]})
    assert changed["must_change_password"] is False
    expect_problem(401, lambda: api.login(username, one_time))  # the one-time password is gone
    expect_problem(401, lambda: api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}))
    assert api.login(username, PASSWORD).get("/me")["must_change_password"] is False


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(api: Api, school: SchoolWorld) -> None:
    user, _ = create_account(school.admin, api, role="teacher", school_id=school.id, number="T3", name="孙老师")
    tokens = api.post("/auth/login", {"login": user["username"], "password": PASSWORD})
    rotated = api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert api.as_user(rotated["access_token"]).get("/me")["id"] == user["id"]
    expect_problem(401, lambda: api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}))
    # The reuse revoked the whole family, the rotated token included.
    expect_problem(401, lambda: api.post("/auth/refresh", {"refresh_token": rotated["refresh_token"]}))


def test_logout_revokes_the_refresh_token(api: Api, school: SchoolWorld) -> None:
    user, _ = create_account(school.admin, api, role="teacher", school_id=school.id, number="T4", name="周老师")
    tokens = api.post("/auth/login", {"login": user["username"], "password": PASSWORD})
    session = api.as_user(tokens["access_token"])
    session.post("/auth/logout", {"refresh_token": tokens["refresh_token"]})
    expect_problem(401, lambda: api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}))
    other = api.post("/auth/login", {"login": user["username"], "password": PASSWORD})
    # The ended session's access token is refused too (once the revocation event arrived).
    wait_until(lambda: _status(lambda: session.get("/me")) == 401)
    expect_problem(400, lambda: api.as_user(other["access_token"]).post("/auth/logout",
                                                                       {"refresh_token": "not-a-token"}))
    assert other["refresh_token"]


def _status(call) -> int:  # type: ignore[no-untyped-def]
    try:
        call()
        return 200
    except ApiError as error:
        return error.status


def test_no_token_a_forged_token_and_garbage_are_refused(api: Api) -> None:
    expect_problem(401, lambda: api.get("/me"))
    expect_problem(401, lambda: api.as_user("garbage").get("/me"))
    forged = jwt.encode(
        {"sub": "x", "role": "platform_admin", "typ": "access", "exp": 9999999999, "iat": 1,
         "aud": "open-course-platform", "iss": "open-course-platform"},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": "made-up"},
    )
    expect_problem(401, lambda: api.as_user(forged).get("/users"))


def test_who_may_create_which_accounts(api: Api, platform: Api, school: SchoolWorld, other_school: SchoolWorld) -> None:
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id, number="T5", name="吴老师")
    student_body = {"role": "student", "school_id": school.id, "number": "S9", "name": "郑同学"}
    expect_problem(403, lambda: teacher.post("/users", student_body))
    expect_problem(403, lambda: other_school.admin.post("/users", student_body))
    expect_problem(403, lambda: school.admin.post("/users", {**student_body, "role": "school_admin"}))
    expect_problem(400, lambda: school.admin.post("/users", {**student_body, "phone": "12345"}))
    expect_problem(400, lambda: school.admin.post("/users", {**student_body, "role": "dean"}))
    school.admin.post("/users", student_body)
    expect_problem(409, lambda: school.admin.post("/users", student_body))
    # Admins list only their own school's accounts.
    listed = school.admin.get("/users", params={"role": "student"})
    assert {u["number"] for u in listed["items"]} == {"S9"}
    expect_problem(403, lambda: school.admin.get("/users", params={"school_id": other_school.id}))
    expect_problem(403, lambda: teacher.get("/users"))
    expect_problem(403, lambda: teacher.post("/schools", {"code": "NOPE1", "name": "不允许"}))
