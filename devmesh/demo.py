"""Demo data, loaded through the gateway as a user would; running it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from devmesh.client import Api, ApiError

DEMO_PASSWORD = "Demo-2026-pass"
PLATFORM_ADMIN = "platform"
HOST_PROVINCE = "33"

SCHOOLS = [("ZSU", "浙江示范大学"), ("HZC", "杭州示范学院")]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    name: str
    school_code: str = ""
    number: str = ""
    phone: str = ""
    class_name: str = ""


ACCOUNTS = [
    DemoAccount("center", "center_admin", "省课程管理中心"),
    DemoAccount("zsu-admin", "school_admin", "浙江示范大学教务处", "ZSU", phone="13800000001"),
    DemoAccount("hzc-admin", "school_admin", "杭州示范学院教务处", "HZC", phone="13800000002"),
    DemoAccount("ZSU-T001", "teacher", "王老师", "ZSU", "T001", "13800000011"),
    DemoAccount("HZC-T001", "teacher", "陈老师", "HZC", "T001", "13800000012"),
    DemoAccount("ZSU-S001", "student", "张同学", "ZSU", "S001", "13800000021", "计算机2026-1班"),
    DemoAccount("HZC-S001", "student", "刘同学", "HZC", "S001", "13800000022", "会计2026-2班"),
]


def load(api: Api) -> None:
    platform = api.login(PLATFORM_ADMIN, DEMO_PASSWORD)
    school_ids = {}
    for code, name in SCHOOLS:
        found = platform.get("/schools", params={"query": code})["items"]
        match = [s for s in found if s["code"] == code]
        school = match[0] if match else platform.post(
            "/schools", {"code": code, "name": name, "province_code": HOST_PROVINCE}
        )
        school_ids[code] = school["id"]
    for account in ACCOUNTS:
        try:
            api.login(account.username, DEMO_PASSWORD)
            continue
        except ApiError as error:
            if error.status != 401:
                raise
        created = platform.post(
            "/users",
            {
                "role": account.role,
                "username": account.username,
                "name": account.name,
                "school_id": school_ids.get(account.school_code, ""),
                "province_code": HOST_PROVINCE if account.role == "center_admin" else "",
                "number": account.number,
                "phone": account.phone,
                "class_name": account.class_name,
            },
        )
        api.first_login(account.username, created["credentials"]["initial_password"], DEMO_PASSWORD)
    _term_calendar(api)
    _pending_teacher_registration(api, school_ids["ZSU"])
    _pending_school_application(api, platform)


TERMS = [
    {"code": "2026-autumn", "name": "2026秋季学期", "starts_on": "2026-09-01", "ends_on": "2027-01-20"},
    {"code": "2027-spring", "name": "2027春季学期", "starts_on": "2027-02-20", "ends_on": "2027-07-10"},
]


def _term_calendar(api: Api) -> None:
    center = api.login("center", DEMO_PASSWORD)
    known = {t["code"] for t in center.get("/terms")["items"]}
    for term in TERMS:
        if term["code"] not in known:
            center.post("/terms", term)


def _pending_teacher_registration(api: Api, school_id: str) -> None:
    try:
        api.post(
            "/registrations/teachers",
            {
                "school_id": school_id,
                "username": "li.teacher",
                "password": DEMO_PASSWORD,
                "name": "李老师",
                "phone": "13800000013",
                "staff_number": "T002",
            },
        )
    except ApiError as error:
        if error.status != 409:  # registered on an earlier run
            raise


def _pending_school_application(api: Api, platform: Api) -> None:
    name = "河南示范大学"
    existing = platform.get("/school-applications")["items"]
    if any(a["school_name"] == name for a in existing):
        return
    api.post(
        "/school-applications",
        {
            "school_name": name,
            "province_code": "41",
            "contact_name": "赵主任",
            "phone": "13900000001",
            "email": "jwc@example.edu.cn",
            "reason": "希望选用浙江省共享课程，为本校学生开设在线课程。",
        },
    )


def describe(gateway_url: str) -> str:
    rows = [f"  {PLATFORM_ADMIN:<12} platform_admin", *(f"  {a.username:<12} {a.role}" for a in ACCOUNTS)]
    return "\n".join(
        [
            f"The platform is up: {gateway_url}/docs (API docs, try it out)",
            f"  health: {gateway_url}/healthz   API: {gateway_url}/api/v1/",
            f"Demo accounts (password for all: {DEMO_PASSWORD}):",
            *rows,
            "  li.teacher   a teacher registration waiting for zsu-admin's review",
            "  plus one out-of-province school application waiting for the platform admin.",
            "Data is kept under the data folder; Ctrl-C stops everything.",
        ]
    )
