"""Out-of-province schools apply; a platform admin approves or rejects in the review service."""

from __future__ import annotations

import uuid
from datetime import datetime

from devmesh.client import Api
from devmesh.mesh import Mesh
from tests.e2e.conftest import PASSWORD, SchoolWorld, new_phone, review_item
from tests.e2e.mailbox import body_of, field, wait_for_mail
from tests.e2e.sheets import download_sheet
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until


def apply(api: Api, **overrides: str) -> dict:
    body = {"school_name": f"河南测试学院{uuid.uuid4().hex[:6]}", "province_code": "41", "contact_name": "赵主任",
            "phone": new_phone(), "email": "jwc@example.edu.cn", "reason": "希望选用共享课程", **overrides}
    return api.post("/school-applications", body)


def test_an_approved_application_creates_the_school_and_its_first_admin(
    api: Api, platform: Api, mesh: Mesh
) -> None:
    email = f"jwc-{uuid.uuid4().hex[:8]}@example.edu.cn"
    application = apply(api, email=email)
    assert application["status"] == "pending" and application["overdue"] is False
    submitted = datetime.fromisoformat(application["submitted_at"])
    due = datetime.fromisoformat(application["answer_due_at"])
    assert 2 <= (due - submitted).days <= 4  # two working days, weekends skipped
    item = review_item(platform, "school_application", application["id"])
    assert item["snapshot"]["school_name"] == application["school_name"]
    expect_problem(409, lambda: platform.post(f"/school-applications/{application['id']}/admin-credentials"))
    platform.post(f"/reviews/{item['id']}/decision", {"decision": "approve"})
    approved = wait_until(
        lambda: (a := platform.get(f"/school-applications/{application['id']}"))["status"] == "approved" and a
    )
    schools = api.get("/schools", params={"query": application["school_name"]})["items"]
    assert [s["id"] for s in schools] == [approved["school_id"]]
    assert schools[0]["host_province"] is False and schools[0]["province_code"] == "41"
    # Seed 000 §4.3: the account reaches the applicant by e-mail.
    mailed = body_of(wait_for_mail(mesh, email))
    username = field(r"Username: (\S+)", mailed)
    first_password = field(r"One-time password: (\S+)", mailed)
    assert application["school_name"] in mailed
    # Lost mail: the platform admin issues a new one-time password (mailed again, and on a sheet);
    # the first one stops working.
    reissued = platform.post(f"/school-applications/{application['id']}/admin-credentials")
    assert reissued["mailed"] is True and reissued["credentials"]["username"] == username
    second_password = field(r"One-time password: (\S+)", body_of(wait_for_mail(mesh, email, count=2)))
    assert second_password == reissued["credentials"]["initial_password"] != first_password
    expect_problem(401, lambda: api.login(username, first_password))
    rows = download_sheet(platform, reissued["credentials_sheet"])
    assert rows[1][:4] == [username, "赵主任", "", second_password]
    admin = api.first_login(username, second_password, PASSWORD)
    me = admin.get("/me")
    assert (me["role"], me["school_id"], me["province_code"]) == ("school_admin", approved["school_id"], "41")
    # The new school's admin manages their own school at once.
    assert admin.get("/users")["total"] == 1
    expect_problem(409, lambda: platform.post(f"/school-applications/{application['id']}/admin-credentials"))


def test_a_rejected_application_keeps_the_reason(api: Api, platform: Api) -> None:
    application = apply(api)
    item = review_item(platform, "school_application", application["id"])
    platform.post(f"/reviews/{item['id']}/decision", {"decision": "reject", "reason": "申请表缺少学校盖章"})
    rejected = wait_until(
        lambda: (a := platform.get(f"/school-applications/{application['id']}"))["status"] == "rejected" and a
    )
    assert rejected["rejection_reason"] == "申请表缺少学校盖章"
    assert not api.get("/schools", params={"query": application["school_name"]})["items"]


def test_bad_applications_are_refused(api: Api) -> None:
    expect_problem(400, lambda: apply(api, province_code="33"))  # the host province
    expect_problem(400, lambda: apply(api, province_code="99"))
    expect_problem(400, lambda: apply(api, phone="010-1234"))
    expect_problem(400, lambda: apply(api, email="nope"))
    expect_problem(400, lambda: apply(api, reason=" "))
    name = apply(api)["school_name"]
    expect_problem(409, lambda: apply(api, school_name=name))


def test_only_platform_admins_see_and_decide_applications(
    api: Api, platform: Api, school: SchoolWorld
) -> None:
    application = apply(api)
    item = review_item(platform, "school_application", application["id"])
    expect_problem(403, lambda: school.admin.get("/school-applications"))
    expect_problem(403, lambda: school.admin.get(f"/school-applications/{application['id']}"))
    expect_problem(401, lambda: api.get("/school-applications"))
    expect_problem(404, lambda: school.admin.get(f"/reviews/{item['id']}"))
    expect_problem(404, lambda: school.admin.post(f"/reviews/{item['id']}/decision", {"decision": "approve"}))
    assert item["id"] not in [i["id"] for i in school.admin.get("/reviews")["items"]]


def test_platform_admins_list_pending_and_overdue_applications(api: Api, platform: Api) -> None:
    application = apply(api)
    pending = platform.get("/school-applications", params={"status": "pending", "page_size": 200})["items"]
    assert application["id"] in [a["id"] for a in pending]
    overdue = platform.get("/school-applications", params={"overdue_only": "true", "page_size": 200})["items"]
    assert application["id"] not in [a["id"] for a in overdue]  # just submitted
    assert all(a["overdue"] for a in overdue)
