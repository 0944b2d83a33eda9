"""Public learners (社会学习者) through the gateway: they register with an e-mail address, verify it with the
mailed code, sign in with it, and learn in the public classes of MOOC runs (never in a school's SPOC)."""

from __future__ import annotations

import uuid

import httpx

from devmesh.client import Api
from devmesh.mesh import Mesh
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld, create_account, decide
from tests.e2e.mailbox import body_of, field, mails_to, wait_for_mail
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_sharing import mooc_run, new_term
from tests.support import wait_until

PASSWORD = "Learner-pass-2026"
CODE = r"Verification code \(POST /api/v1/learners/verify\): (\d{6})"


def new_address() -> str:
    return f"learner-{uuid.uuid4().hex[:10]}@example.com"


def mailed_code(mesh: Mesh, address: str, count: int = 1) -> str:
    return field(CODE, body_of(wait_for_mail(mesh, address, count)))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def registered_learner(api: Api, mesh: Mesh, name: str = "李华") -> tuple[str, Api]:
    address = new_address()
    api.post("/learners", {"email": address, "name": name, "password": PASSWORD})
    api.post("/learners/verify", {"email": address, "code": mailed_code(mesh, address)})
    return address, api.login(address, PASSWORD)


def test_a_public_learner_registers_verifies_the_mailed_code_and_signs_in_by_address(api: Api, mesh: Mesh) -> None:
    address = new_address()
    registration = api.post("/learners", {"email": address.upper(), "name": " 李华 ", "password": PASSWORD})
    assert (registration["email"], registration["status"]) == (address, "unverified")
    assert registration["code_expires_at"] and registration["username"].startswith("learner-")
    mail = wait_for_mail(mesh, address)
    code = field(CODE, body_of(mail))
    assert "30 分钟" in body_of(mail) and "30 minutes" in body_of(mail)
    # Before the code: the right password is refused with the reason, a wrong one says nothing more.
    refused = expect_problem(409, lambda: api.login(address, PASSWORD), "EMAIL_NOT_VERIFIED")
    assert "verify your e-mail address" in refused["detail"]
    expect_problem(401, lambda: api.login(address, "Wrong-pass-2026"))
    verified = api.post("/learners/verify", {"email": address, "code": f" {code} "})
    assert (verified["user_id"], verified["status"]) == (registration["user_id"], "active")
    learner = api.login(address.upper(), PASSWORD)
    me = learner.get("/me")
    assert (me["id"], me["role"], me["school_id"], me["province_code"], me["status"]) == (
        registration["user_id"], "student", "", "", "active")
    assert (me["name"], me["email"], me["username"]) == ("李华", address, registration["username"])
    assert api.login(registration["username"], PASSWORD).get("/me")["id"] == me["id"]  # the username works too
    expect_problem(409, lambda: api.post("/learners/verify", {"email": address, "code": code}), "ALREADY_VERIFIED")
    expect_problem(409, lambda: api.post("/learners/verification-code", {"email": address}), "ALREADY_VERIFIED")


def test_wrong_codes_run_out_and_a_new_code_replaces_the_old(api: Api, mesh: Mesh) -> None:
    address = new_address()
    api.post("/learners", {"email": address, "name": "王五", "password": PASSWORD})
    code = mailed_code(mesh, address)
    first = expect_problem(400, lambda: api.post("/learners/verify", {"email": address, "code": wrong(code)}),
                           "VERIFICATION_CODE_WRONG")
    assert "4 tries left" in first["detail"]
    expect_problem(400, lambda: api.post("/learners/verify", {"email": address, "code": "12ab56"}),
                   "VERIFICATION_CODE_INVALID")  # not a code at all: no try spent
    # The last code still works: asking for another one this soon is refused.
    soon = httpx.post(f"{mesh.gateway_url}/api/v1/learners/verification-code", json={"email": address})
    assert soon.status_code == 429 and soon.json()["reason"] == "VERIFICATION_CODE_RATE_LIMITED"
    assert 1 <= int(soon.headers["Retry-After"]) <= 60
    for left in (3, 2, 1):
        problem = expect_problem(400, lambda: api.post("/learners/verify", {"email": address, "code": wrong(code)}))
        assert f"{left} tries left" in problem["detail"]
    last = expect_problem(400, lambda: api.post("/learners/verify", {"email": address, "code": wrong(code)}))
    assert "last try" in last["detail"]
    expect_problem(409, lambda: api.post("/learners/verify", {"email": address, "code": code}),
                   "VERIFICATION_TRIES_EXHAUSTED")
    expect_problem(409, lambda: api.login(address, PASSWORD), "EMAIL_NOT_VERIFIED")
    # A new code (at once: the old one is dead), and the old one no longer works.
    api.post("/learners/verification-code", {"email": address})
    new = mailed_code(mesh, address, 2)
    if new != code:
        expect_problem(400, lambda: api.post("/learners/verify", {"email": address, "code": code}),
                       "VERIFICATION_CODE_WRONG")
    api.post("/learners/verify", {"email": address, "code": new})
    assert api.login(address, PASSWORD).get("/me")["status"] == "active"


def test_a_taken_address_and_bad_input_are_refused_and_change_nothing(
    api: Api, mesh: Mesh, school: SchoolWorld
) -> None:
    address = new_address()
    api.post("/learners", {"email": address, "name": "先来", "password": PASSWORD})
    mailed_code(mesh, address)
    taken = expect_problem(409, lambda: api.post("/learners", {"email": f" {address.upper()} ", "name": "后到",
                                                               "password": "Other-pass-2026"}), "EMAIL_TAKEN")
    assert "already belongs to an account" in taken["detail"]
    # An address a school account has is taken as well.
    staff = new_address()
    create_account(school.admin, api, role="teacher", school_id=school.id, number="PL1", name="周老师", email=staff)
    expect_problem(409, lambda: api.post("/learners", {"email": staff, "name": "周", "password": PASSWORD}),
                   "EMAIL_TAKEN")
    fresh = new_address()
    for body, reason in (
        ({"email": "not-an-address", "name": "某人", "password": PASSWORD}, "EMAIL_INVALID"),
        ({"email": fresh, "name": "   ", "password": PASSWORD}, "NAME_INVALID"),
        ({"email": fresh, "name": "某\x07人", "password": PASSWORD}, "NAME_INVALID"),
        ({"email": fresh, "name": "某人", "password": "short1"}, ""),
        ({"email": fresh, "name": "某人", "password": "12345678901"}, ""),
        ({"email": fresh, "name": "某人" * 60, "password": PASSWORD}, "VALIDATION_FAILED"),
        ({"email": fresh, "name": "某人"}, "VALIDATION_FAILED"),
    ):
        expect_problem(400, lambda body=body: api.post("/learners", body), reason)
    # Nothing was kept: no mail, no account (the address is still free and registers now).
    assert mails_to(mesh, fresh) == []
    expect_problem(404, lambda: api.post("/learners/verification-code", {"email": fresh}), "REGISTRATION_NOT_FOUND")
    expect_problem(404, lambda: api.post("/learners/verify", {"email": fresh, "code": "123456"}))
    api.post("/learners", {"email": fresh, "name": "某人", "password": PASSWORD})
    assert mailed_code(mesh, fresh)


def test_registration_is_rate_limited_per_address(api: Api, mesh: Mesh) -> None:
    address = new_address()
    statuses = [httpx.post(f"{mesh.gateway_url}/api/v1/learners",
                           json={"email": address, "name": "刷", "password": PASSWORD}).status_code
                for _ in range(11)]
    assert statuses[0] == 201 and set(statuses[1:10]) == {409}  # GATEWAY_RATE_LIMIT_LEARNER_REGISTRATION_ACCOUNT
    assert statuses[10] == 429


def test_a_public_learner_joins_a_mooc_runs_public_class_but_no_spoc(
    api: Api, mesh: Mesh, center: Api, school: SchoolWorld
) -> None:
    _, learner = registered_learner(api, mesh)
    _, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number="PL2", name="吴老师")
    term = new_term(center)
    mooc = mooc_run(center, school, leader, "吴老师", f"公共课程{uuid.uuid4().hex[:4]}", term)
    joined = learner.post(f"/runs/{mooc['run']['id']}/join")
    assert (joined["class_id"], joined["already_joined"]) == (mooc["run"]["public_class_id"], False)
    assert learner.post(f"/runs/{mooc['run']['id']}/join")["already_joined"] is True
    spoc = leader.post("/courses", {"kind": "spoc_independent", "name": "校内课程", "category": "专业课"})
    leader.post(f"/courses/{spoc['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    run = leader.post(f"/courses/{spoc['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    decide(school.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] in ("published", "running"))
    expect_problem(404, lambda: learner.post(f"/runs/{run['id']}/join"))
