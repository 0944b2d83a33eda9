"""Builders for end-to-end tests: fresh schools and accounts made through the gateway."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import pytest

from devmesh.client import Api, ApiError

PASSWORD = "Own-pass-2026"
CURRENT_TERM = {"code": "2026-autumn", "name": "2026秋季学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20"}
NEXT_TERM = {"code": "2027-spring", "name": "2027春季学期", "starts_on": "2027-02-20", "ends_on": "2027-07-10"}


def new_phone() -> str:
    return "139" + "".join(random.choices("0123456789", k=8))


def new_code() -> str:
    return "T" + uuid.uuid4().hex[:8].upper()


def review_item(admin: Api, kind: str, subject_id: str) -> dict:
    """The review item of a subject in the admin's queue, once the owner's event has queued it."""
    from tests.support import wait_until

    def find() -> dict | None:
        items = admin.get("/reviews", params={"kind": kind, "page_size": 200})["items"]
        return next((i for i in items if i["subject_id"] == subject_id), None)

    return wait_until(find)


def decide(admin: Api, kind: str, subject_id: str, decision: str = "approve", reason: str = "") -> dict:
    item = review_item(admin, kind, subject_id)
    return admin.post(f"/reviews/{item['id']}/decision", {"decision": decision, "reason": reason})


@dataclass
class SchoolWorld:
    id: str
    code: str
    name: str
    admin: Api


def create_account(creator: Api, api: Api, **fields: str) -> tuple[dict, Api]:
    """An account made by an admin, signed in once to set its own password."""
    created = creator.post("/users", {"phone": new_phone(), **fields})
    user = created["user"]
    return user, api.first_login(user["username"], created["credentials"]["initial_password"], PASSWORD)


@pytest.fixture
def make_school(api: Api, platform: Api):  # type: ignore[no-untyped-def]
    def make() -> SchoolWorld:
        code = new_code()
        school = platform.post("/schools", {"code": code, "name": f"测试大学{code}", "province_code": "33"})
        _, admin = create_account(
            platform, api, role="school_admin", school_id=school["id"], username=f"{code.lower()}-admin",
            name="教务处",
        )
        return SchoolWorld(school["id"], code, school["name"], admin)

    return make


@pytest.fixture
def school(make_school) -> SchoolWorld:  # type: ignore[no-untyped-def]
    return make_school()


@pytest.fixture
def other_school(make_school) -> SchoolWorld:  # type: ignore[no-untyped-def]
    return make_school()


@pytest.fixture(scope="session")
def center(api: Api, platform: Api) -> Api:
    """The provincial center's admin, with the term calendar in place."""
    username = f"center-{uuid.uuid4().hex[:6]}"
    created = platform.post("/users", {"role": "center_admin", "province_code": "33", "username": username,
                                       "name": "课程管理中心"})
    center = api.first_login(username, created["credentials"]["initial_password"], PASSWORD)
    for term in (CURRENT_TERM, NEXT_TERM):
        try:
            center.post("/terms", term)
        except ApiError as error:
            assert error.status == 409
    return center
