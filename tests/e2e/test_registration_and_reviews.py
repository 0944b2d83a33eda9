"""Teacher self-registration reviewed by the school's admin, and who sees which review queue."""

from __future__ import annotations

import uuid

from devmesh.client import Api, ApiError
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, new_phone, review_item
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until


def register(api: Api, school: SchoolWorld, **overrides: str) -> tuple[str, dict]:
    username = f"t{uuid.uuid4().hex[:8]}"
    body = {"school_id": school.id, "username": username, "password": PASSWORD, "name": "新老师",
            "phone": new_phone(), "staff_number": f"N{uuid.uuid4().hex[:6]}", **overrides}
    return username, api.post("/registrations/teachers", body)


def login_problem(api: Api, username: str) -> dict:
    try:
        api.login(username, PASSWORD)
    except ApiError as error:
        return error.problem
    return {}


def test_a_registered_teacher_waits_for_approval_then_signs_in(api: Api, school: SchoolWorld) -> None:
    username, registration = register(api, school)
    assert registration["status"] == "pending"
    assert login_problem(api, username)["reason"] == "REGISTRATION_PENDING"
    item = review_item(school.admin, "teacher_registration", registration["user_id"])
    assert item["scope"] == {"type": "school", "id": school.id}
    assert item["snapshot"]["username"] == username
    decided = school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "approve"})
    assert decided["state"] == "approved"
    wait_until(lambda: not login_problem(api, username))
    assert api.login(username, PASSWORD).get("/me")["status"] == "active"


def test_a_rejected_teacher_sees_the_reason_and_the_audit_trail_keeps_it(api: Api, school: SchoolWorld) -> None:
    username, registration = register(api, school)
    item = review_item(school.admin, "teacher_registration", registration["user_id"])
    expect_problem(400, lambda: school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "reject"}))
    expect_problem(400, lambda: school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "maybe"}))
    school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "reject", "reason": "工号与人事系统不符"})
    problem = wait_until(lambda: (p := login_problem(api, username)).get("reason") == "REGISTRATION_REJECTED" and p)
    assert "工号与人事系统不符" in problem["detail"]
    expect_problem(409, lambda: school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "approve"}))
    history = school.admin.get(f"/reviews/{item['id']}")["history"]
    assert [h["action"] for h in history] == ["queued", "rejected"]
    me = school.admin.get("/me")
    assert history[1]["actor_id"] == me["id"] and history[1]["actor_role"] == "school_admin"
    assert history[1]["reason"] == "工号与人事系统不符" and history[1]["at"]
    rejected = school.admin.get("/reviews", params={"state": "rejected"})["items"]
    assert item["id"] in [i["id"] for i in rejected]


def test_another_schools_admin_can_neither_see_nor_decide_the_item(
    api: Api, platform: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    _, registration = register(api, school)
    item = review_item(school.admin, "teacher_registration", registration["user_id"])
    assert item["id"] not in [i["id"] for i in other_school.admin.get("/reviews")["items"]]
    expect_problem(404, lambda: other_school.admin.get(f"/reviews/{item['id']}"))
    expect_problem(404, lambda: other_school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "approve"}))
    expect_problem(404, lambda: platform.post(f"/reviews/{item['id']}/decision", {"decision": "approve"}))
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id, number="T7", name="钱老师")
    expect_problem(403, lambda: teacher.get("/reviews"))
    expect_problem(403, lambda: teacher.post(f"/reviews/{item['id']}/decision", {"decision": "approve"}))
    expect_problem(401, lambda: api.get("/reviews"))
    expect_problem(401, lambda: api.post(f"/reviews/{item['id']}/decision", {"decision": "approve"}))
    assert school.admin.get(f"/reviews/{item['id']}")["state"] == "pending"


def test_bad_registrations_are_refused_and_queue_nothing(api: Api, school: SchoolWorld) -> None:
    before = school.admin.get("/reviews")["total"]
    expect_problem(400, lambda: register(api, school, phone="12"))
    expect_problem(400, lambda: register(api, school, password="onlyletters"))
    expect_problem(400, lambda: register(api, school, username="a b"))
    expect_problem(404, lambda: register(api, school, school_id=str(uuid.uuid4())))
    expect_problem(400, lambda: api.post("/registrations/teachers", {"school_id": school.id}))
    taken, _ = register(api, school)
    expect_problem(409, lambda: register(api, school, username=taken))
    wait_until(lambda: school.admin.get("/reviews")["total"] == before + 1)


def test_the_queue_is_oldest_first_and_paginated(api: Api, school: SchoolWorld) -> None:
    user_ids = [register(api, school)[1]["user_id"] for _ in range(3)]
    wait_until(lambda: school.admin.get("/reviews")["total"] >= 3)
    seen, token = [], ""
    while True:
        page = school.admin.get("/reviews", params={"page_size": 2, "page_token": token})
        assert len(page["items"]) <= 2
        seen += [i["subject_id"] for i in page["items"]]
        token = page["next_page_token"]
        if not token:
            break
    assert [s for s in seen if s in user_ids] == user_ids
    expect_problem(400, lambda: school.admin.get("/reviews", params={"page_token": "%%%"}))
    expect_problem(400, lambda: school.admin.get("/reviews", params={"state": "lost"}))
