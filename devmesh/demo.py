"""Demo data, loaded through the gateway as a user would; running it again changes nothing."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devmesh.client import Api, ApiError

DEMO_PASSWORD = "Demo-2026-pass"
PLATFORM_ADMIN = "platform"
HOST_PROVINCE = "33"

SCHOOLS = [("ZSU", "浙江示范大学"), ("HZC", "杭州示范学院")]
COLLEGES = {"ZSU": ["计算机学院", "数学科学学院"], "HZC": ["信息工程学院", "会计学院"]}


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    name: str
    school_code: str = ""
    number: str = ""
    phone: str = ""
    class_name: str = ""
    college: str = ""  # the name of the school's college (学院) a teacher or college admin belongs to


ACCOUNTS = [
    DemoAccount("center", "center_admin", "省课程管理中心"),
    DemoAccount("zsu-admin", "school_admin", "浙江示范大学教务处", "ZSU", phone="13800000001"),
    DemoAccount("hzc-admin", "school_admin", "杭州示范学院教务处", "HZC", phone="13800000002"),
    DemoAccount("ZSU-T001", "teacher", "王老师", "ZSU", "T001", "13800000011", college="计算机学院"),
    DemoAccount("HZC-T001", "teacher", "陈老师", "HZC", "T001", "13800000012", college="信息工程学院"),
    DemoAccount("zsu-cs", "college_admin", "计算机学院教学秘书", "ZSU", phone="13800000031", college="计算机学院"),
    DemoAccount("ZSU-S001", "student", "张同学", "ZSU", "S001", "13800000021", "计算机2026-1班"),
    DemoAccount("HZC-S001", "student", "刘同学", "HZC", "S001", "13800000022", "会计2026-2班"),
]


def load(api: Api, data_dir: Path) -> None:
    platform = api.login(PLATFORM_ADMIN, DEMO_PASSWORD)
    school_ids = {}
    for code, name in SCHOOLS:
        found = platform.get("/schools", params={"query": code})["items"]
        match = [s for s in found if s["code"] == code]
        school = match[0] if match else platform.post(
            "/schools", {"code": code, "name": name, "province_code": HOST_PROVINCE}
        )
        school_ids[code] = school["id"]
    # College admins come last: the school admins make the colleges they belong to first.
    for account in ACCOUNTS:
        if account.role != "college_admin":
            _account(api, platform, account, school_ids, {})
    admins = {code: api.login(f"{code.lower()}-admin", DEMO_PASSWORD) for code, _ in SCHOOLS}
    college_ids = _colleges(admins, school_ids)
    for account in ACCOUNTS:
        if account.role == "college_admin":
            _account(api, admins[account.school_code], account, school_ids, college_ids)
    _place_teachers(api, admins, college_ids)
    _term_calendar(api)
    _pending_teacher_registration(api, school_ids["ZSU"])
    _pending_school_application(api, platform)
    _demo_course(api, data_dir)
    _demo_project(api)


def _account(api: Api, creator: Api, account: DemoAccount, school_ids: dict[str, str],
             college_ids: dict[tuple[str, str], str]) -> None:
    try:
        api.login(account.username, DEMO_PASSWORD)
        return
    except ApiError as error:
        if error.status != 401:
            raise
    created = creator.post(
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
            "college_id": college_ids.get((account.school_code, account.college), ""),
        },
    )
    api.first_login(account.username, created["credentials"]["initial_password"], DEMO_PASSWORD)


def _colleges(admins: dict[str, Api], school_ids: dict[str, str]) -> dict[tuple[str, str], str]:
    """Each demo school's colleges, made by its admin: {(school code, college name): college id}."""
    ids = {}
    for code, names in COLLEGES.items():
        admin = admins[code]
        path = f"/schools/{school_ids[code]}/colleges"
        known = {c["name"]: c["id"] for c in admin.get(path)["items"]}
        for name in names:
            ids[(code, name)] = known.get(name) or admin.post(path, {"name": name})["id"]
    return ids


def _place_teachers(api: Api, admins: dict[str, Api], college_ids: dict[tuple[str, str], str]) -> None:
    for account in ACCOUNTS:
        if account.role == "teacher" and account.college:
            teacher = api.login(account.username, DEMO_PASSWORD).get("/me")
            college_id = college_ids[(account.school_code, account.college)]
            if teacher["college_id"] != college_id:
                admins[account.school_code].request("PUT", f"/users/{teacher['id']}/college",
                                                    json={"college_id": college_id})


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


DEMO_COURSE = "Python程序设计"
DEMO_VIDEO_SECONDS = 30


def _demo_video(folder: Path) -> Path:
    """A 30-second lecture stand-in the spec accepts as it is (H.264 720p, AAC 48 kHz): made once with ffmpeg."""
    from services.media.adapters.ffmpeg import binaries

    path = folder / "demo-lecture.mp4"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([
            binaries()[0], "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={DEMO_VIDEO_SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={DEMO_VIDEO_SECONDS}",
            "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-b:v", "1500k", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "160k", "-ac", "2", "-ar", "48000", str(path)], check=True, timeout=300)
    return path


def _wait(check, what: str, within: float = 180):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.5)
    raise RuntimeError(f"demo data: {what} did not happen within {within:.0f} s")


def _approve(admin: Api, kind: str, subject_id: str) -> None:
    """The school admin approves the review item of a subject, once its owner has queued it."""
    item = _wait(lambda: next((i for i in admin.get("/reviews", params={"kind": kind, "page_size": 200})["items"]
                               if i["subject_id"] == subject_id), None), f"the {kind} review item")
    admin.post(f"/reviews/{item['id']}/decision", {"decision": "approve"})


def _demo_course(api: Api, data_dir: Path) -> None:
    """王老师's SPOC with one chapter and one lecture video, its run approved for this term, a class with 张同学 in
    it and the chapter open: the student has a course to watch from the first sign-in."""
    teacher = api.login("ZSU-T001", DEMO_PASSWORD)
    if any(c["course"]["name"] == DEMO_COURSE for c in teacher.get("/courses")["items"]):
        return
    admin = api.login("zsu-admin", DEMO_PASSWORD)
    video = _demo_video(data_dir / "demo")
    content = video.read_bytes()
    asset = teacher.request("PUT", "/media/stream", params={"filename": video.name, "kind": "course_video"},
                            content=content, headers={"Content-Length": str(len(content))})
    asset_id = asset.get("id") or asset["duplicate_of"]
    _wait(lambda: teacher.get(f"/media/assets/{asset_id}")["state"] == "ready", "transcoding the demo video")
    _approve(admin, "media_asset", asset_id)
    _wait(lambda: teacher.get(f"/media/assets/{asset_id}")["referenceable"], "approving the demo video")
    course = teacher.post("/courses", {"kind": "spoc_independent", "name": DEMO_COURSE, "category": "专业课"})
    teacher.request("PATCH", f"/courses/{course['id']}", json={"online_credits": 0, "total_credits": 2})
    plan = teacher.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章 初识Python"})
    chapter = plan["nodes"][-1]["id"]
    teacher.post(f"/courses/{course['id']}/plan/nodes", {"kind": "unit", "title": "1.1 第一个程序",
                                                         "parent_id": chapter, "resource_id": asset_id})
    term = TERMS[0]["code"]
    run = teacher.post(f"/courses/{course['id']}/runs", {"term_code": term})
    teacher.post(f"/runs/{run['id']}/publish", {"term_code": term})
    _approve(admin, "course_run", run["id"])
    _wait(lambda: teacher.get(f"/runs/{run['id']}")["state"] in ("published", "running"), "approving the demo run")
    run_chapter = next(n["id"] for n in teacher.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})[
        "nodes"] if n["kind"] == "chapter")
    course_class = teacher.post(f"/runs/{run['id']}/classes", {"name": "计算机2026-1班"})
    teacher.post(f"/classes/{course_class['id']}/students", {"student_numbers": ["S001"]})
    teacher.post(f"/classes/{course_class['id']}/releases", {"chapter_id": run_chapter})
    _demo_quiz(teacher, run["id"], run_chapter)


def _demo_project(api: Api) -> None:
    """王老师 applies for a course-building project for the demo course: it waits for 计算机学院's recommendation."""
    teacher = api.login("ZSU-T001", DEMO_PASSWORD)
    if teacher.get("/projects")["projects"]:
        return
    course = next(c["course"] for c in teacher.get("/courses")["items"] if c["course"]["name"] == DEMO_COURSE)
    teacher.post("/projects", {
        "course_id": course["id"], "discipline": "计算机科学与技术", "audience": "本科一年级", "class_hours": 32,
        "leader_title": "副教授", "leader_degree": "博士", "leader_phone": "13800000011",
        "leader_email": "wang@zsu.example.edu.cn",
        "leader_teaching": [{"course_name": DEMO_COURSE, "category": "专业课", "audience": "本科", "class_hours": 32,
                             "listeners_per_year": 150}],
        "leader_research": "主持校级教改项目一项",
        "team": [{"name": "赵助教", "kind": "assistant", "title": "助教", "task": "答疑与作业批改"},
                 {"name": "孙工", "kind": "technical", "title": "工程师", "task": "视频拍摄与剪辑"}],
        "foundation": "本课程已开设三年，每年授课约一百五十人", "design": "线上自学视频与课堂练习相结合",
        "goals_plan": "半年建成全部视频，两年内开课三次", "expected_results": "建成校级在线开放课程"})


def _demo_quiz(teacher: Api, run_id: str, chapter_id: str) -> None:
    """A unit test of chapter 1, so the student has a quiz to answer and the teacher a result to read."""
    bank = f"/learning/runs/{run_id}/questions"
    questions = [
        {"kind": "single_choice", "stem": "Python 中输出文字用哪个函数？", "chapter_id": chapter_id,
         "options": ["input()", "print()", "len()"], "key": {"correct": [1]}},
        {"kind": "true_false", "stem": "Python 是解释型语言。", "chapter_id": chapter_id, "key": {"truth": True}},
        {"kind": "fill_blank", "stem": "Python 源文件的扩展名是 .____", "chapter_id": chapter_id,
         "key": {"accepted": ["py"]}},
    ]
    made = [teacher.post(bank, q) for q in questions]
    teacher.post(f"/learning/runs/{run_id}/quizzes", {
        "kind": "unit_test", "title": "第一章单元测验", "chapter_id": chapter_id, "attempts_allowed": 3,
        "grading_method": "highest", "items": [{"question_id": q["id"], "points": 10} for q in made]})


def describe(gateway_url: str) -> str:
    rows = [f"  {PLATFORM_ADMIN:<12} platform_admin", *(f"  {a.username:<12} {a.role}" for a in ACCOUNTS)]
    return "\n".join(
        [
            f"The platform is up. Web console: {gateway_url}/  (sign in with an account below)",
            f"  API docs: {gateway_url}/docs   health: {gateway_url}/healthz   API: {gateway_url}/api/v1/",
            f"Demo accounts (password for all: {DEMO_PASSWORD}):",
            *rows,
            "  zsu-cs is 计算机学院's teaching secretary (college admin); 王老师 and 陈老师 belong to a college.",
            f"  王老师's course-building project for {DEMO_COURSE} waits for zsu-cs's recommendation.",
            "  li.teacher   a teacher registration waiting for zsu-admin's review",
            "  plus one out-of-province school application waiting for the platform admin.",
            f"  ZSU-S001 studies {DEMO_COURSE} (王老师's course, one chapter open to the class, with a unit test).",
            "Data is kept under the data folder; Ctrl-C stops everything.",
        ]
    )
