"""A whole term of one run, end to end through the gateway with the real services: a MOOC of one school, published
on the province's sharing list and adopted by another school, whose students are imported into a class, watch the
chapters released to them, answer quizzes, take the exam once all the course hours are done, get face-to-face
marks, and are graded with the weights the leader published before the run was approved; the adopting school lists
the certificates of its students who passed. And the refusals: wrong role, wrong school, wrong class, no token."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devmesh.client import Api, ApiError
from tests.e2e.conftest import SchoolWorld, create_account, decide, new_phone
from tests.e2e.learning_world import VIDEO_SECONDS, watch
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_courses import approved_video, registered
from tests.support import wait_until

# A term of this test's own that is under way today (the shared calendar's terms have other tests' lists).
TERM = {"code": "2026-winter", "name": "2026冬季学期", "starts_on": "2026-11-01", "ends_on": "2027-02-28"}
LIST_DATES = {"notice_on": "2026-10-08", "publish_by": "2026-10-30"}
SCHEME = {"video": 30, "quizzes": 20, "assignments": 0, "face_to_face": 20, "forum": 0, "final_exam": 30}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("whole-term-clips")


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def refused(call, *statuses: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as raised:
        call()
    assert raised.value.status in (statuses or (403, 404)), raised.value.problem


def categories(row: dict) -> dict[str, float]:
    return {c["category"]: c["score"] for c in row["categories"]}


def test_a_whole_term_of_an_adopted_mooc_run(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld, make_school, clips: Path  # type: ignore[no-untyped-def]
) -> None:
    providing, adopting, third = other_school, school, make_school()
    tag = uuid.uuid4().hex[:6]
    try:
        center.post("/terms", TERM)
    except ApiError as error:
        assert error.status == 409
    term = TERM["code"]

    # ---- The providing school builds a MOOC: registry entry, plan of three chapters, bank, published weights.
    leader_user, leader = create_account(providing.admin, api, role="teacher", school_id=providing.id,
                                         number=f"L{tag}", name="周老师")
    name = f"大学物理{tag}"
    entry = registered(center, providing, name, leader_user["id"])
    course = leader.post("/courses", {"kind": "mooc", "name": name, "category": "专业课",
                                      "registry_entry_id": entry["id"]})
    leader.request("PATCH", f"/courses/{course['id']}", json={"online_credits": 0, "total_credits": 2})
    # Five videos of different lengths (one teacher's identical uploads are one asset); the last chapter's is the
    # shortest, so four of five units are a little over 80% of the course hours.
    lengths = [VIDEO_SECONDS + 0.16, VIDEO_SECONDS + 0.12, VIDEO_SECONDS + 0.08, VIDEO_SECONDS + 0.04, VIDEO_SECONDS]
    videos = [approved_video(clips, leader, providing.admin, seconds=s) for s in lengths]
    chapters = {}
    layout = (("第一章 力学", videos[:2]), ("第二章 热学", videos[2:4]), ("第三章 光学", videos[4:]))
    for title, chapter_videos in layout:
        plan = leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": title})
        chapters[title] = next(n["id"] for n in plan["nodes"] if n["kind"] == "chapter" and n["title"] == title)
        for n, video in enumerate(chapter_videos, 1):
            leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "unit", "title": f"{title} 视频{n}",
                                                                 "parent_id": chapters[title],
                                                                 "resource_id": video["id"]})
    bank = f"/courses/{course['id']}/questions"
    leader.post(bank, {"kind": "single_choice", "stem": "牛顿第一定律又称?", "chapter_id": chapters["第一章 力学"],
                       "options": ["惯性定律", "万有引力定律"], "key": {"correct": [0]}})
    leader.post(bank, {"kind": "true_false", "stem": "能量守恒", "chapter_id": chapters["第一章 力学"],
                       "key": {"truth": True}})
    leader.post(bank, {"kind": "open", "stem": "谈谈光的波粒二象性", "key": {"reference": "言之有理即可"}})

    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": term})
    scheme_url = f"/learning/runs/{run['id']}/grading-scheme"
    leader.request("PUT", scheme_url, json=SCHEME)  # published before the run is approved, frozen after
    leader.post(f"/runs/{run['id']}/publish", {"term_code": term})
    decide(providing.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] == "running")
    expect_problem(409, lambda: leader.request("PUT", scheme_url, json={**SCHEME, "video": 40, "final_exam": 20}),
                   "SCHEME_FROZEN")
    run_plan = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})
    run_chapters = [n["id"] for n in run_plan["nodes"] if n["kind"] == "chapter"]
    units = [n["id"] for n in run_plan["nodes"] if n["kind"] == "unit"]
    copied = wait_until(lambda: (q := leader.get(f"/learning/runs/{run['id']}/questions")["items"]) and
                        len(q) == 3 and q)
    by_stem = {q["stem"]: q for q in copied}
    assert by_stem["牛顿第一定律又称?"]["chapter_id"] == run_chapters[0]  # the run's own chapter

    # ---- The sharing list: nominated, approved, published (late: the term has begun).
    list_id = center.post("/sharing/lists", {"term_code": term, "title": f"{term} 共享清单{tag}", **LIST_DATES})["id"] \
        if not any(x["term_code"] == term for x in center.get("/sharing/lists")["items"]) else \
        next(x["id"] for x in center.get("/sharing/lists")["items"] if x["term_code"] == term)
    shared = providing.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": run["id"]})
    providing.admin.post(f"/sharing/lists/{list_id}/submit")
    decide(center, "sharing_entry", shared["id"])
    wait_until(lambda: center.get(f"/sharing/entries/{shared['id']}")["state"] == "approved")
    center.post(f"/sharing/lists/{list_id}/publish", {"late_reason": "测试学期已开始"})

    # ---- The adopting school's tutor teacher asks to join; the leader adds them to the team; the tutor makes a
    # class of the school's students and imports them.
    tutor_user, tutor = create_account(adopting.admin, api, role="teacher", school_id=adopting.id,
                                       number=f"T{tag}", name="郑老师")
    adoption = tutor.post(f"/sharing/entries/{shared['id']}/adoptions",
                          {"tutor_id": tutor_user["id"], "expected_students": 2})
    leader.post(f"/sharing/adoptions/{adoption['id']}/accept", {"permissions": ["manage_classes", "grade"]})
    class_id = tutor.post(f"/runs/{run['id']}/classes", {"name": f"物理{tag}班"})["id"]
    phones = [new_phone(), new_phone()]
    students, ids, numbers = [], [], []
    for n, phone in enumerate(phones):
        number = f"W{tag}{n}"
        user, student = create_account(adopting.admin, api, role="student", school_id=adopting.id, number=number,
                                       name=f"吴同学{n}", phone=phone)
        students.append(student)
        ids.append(user["id"])
        numbers.append(number)
    a, b = students
    roster = "学号,姓名,手机号\n" + "".join(f"{numbers[n]},吴同学{n},{phones[n]}\n" for n in range(2))
    report = tutor.post(f"/classes/{class_id}/imports", files={"file": ("roster.csv", roster.encode())})
    assert report["imported"] and report["added"] == 2 and report["over_limit"] == []
    for chapter in run_chapters[:2]:
        tutor.post(f"/classes/{class_id}/releases", {"chapter_id": chapter})
    # A student of another school's public class is in the run but not in this class.
    _, stranger = create_account(third.admin, api, role="student", school_id=third.id, number=f"P{tag}", name="旁人")
    stranger.post(f"/runs/{run['id']}/join")

    # ---- Quizzes and the exam, set by the team on the run's bank.
    quizzes = f"/learning/runs/{run['id']}/quizzes"
    unit_test = leader.post(quizzes, {"kind": "unit_test", "title": "第一章单元测验", "chapter_id": run_chapters[0],
                                      "attempts_allowed": 2, "grading_method": "highest", "items": [
                                          {"question_id": by_stem["牛顿第一定律又称?"]["id"], "points": 5},
                                          {"question_id": by_stem["能量守恒"]["id"], "points": 5}]})
    now = datetime.now(UTC)
    exam = leader.post(quizzes, {"kind": "exam", "title": "期末考试", "opens_at": iso(now - timedelta(minutes=1)),
                                 "closes_at": iso(now + timedelta(hours=2)), "duration_minutes": 0.05, "items": [
                                     {"question_id": by_stem["牛顿第一定律又称?"]["id"], "points": 40},
                                     {"question_id": by_stem["谈谈光的波粒二象性"]["id"], "points": 60}]})

    # ---- Students watch: skipping ahead and the unreleased chapter refused.
    assert a.get(scheme_url)["weights"] == SCHEME  # the published weights, from the first day
    mine = next(c for c in a.get("/me/courses")["items"] if c["run_id"] == run["id"])
    assert (mine["class_id"], mine["term_code"], mine["next_unit_id"]) == (class_id, term, units[0])
    play = a.post(f"/learning/runs/{run['id']}/units/{units[0]}/plays")
    time.sleep(1.2)
    skipped = a.post(f"/learning/plays/{play['play_id']}/progress", {"segments": [
        {"seq": 1, "from_seconds": 2, "to_seconds": 4, "event": "seek"}]})
    assert skipped["results"][0]["refusal"].startswith("skipped ahead") and skipped["credited_seconds"] == 0
    expect_problem(409, lambda: a.post(f"/learning/runs/{run['id']}/units/{units[4]}/plays"), "CHAPTER_NOT_RELEASED")
    for unit in units[:4]:
        watch(a, run["id"], unit)
    for unit in units[:2]:
        watch(b, run["id"], unit)

    # ---- The chapter test: A right, B wrong.
    for student, (choice, truth) in ((a, (0, True)), (b, (1, False))):
        attempt = student.post(f"/learning/quizzes/{unit_test['id']}/attempts")
        done = student.post(f"/learning/attempts/{attempt['id']}/submit", {"answers": [
            {"question_id": by_stem["牛顿第一定律又称?"]["id"], "choices": [choice]},
            {"question_id": by_stem["能量守恒"]["id"], "truth": truth}]})
        assert done["score"] == pytest.approx(100 if student is a else 0)

    # ---- The exam: refused at 80% of the course hours, admitted at 100%, submitted by the server at its deadline.
    refusal = expect_problem(409, lambda: a.post(f"/learning/quizzes/{exam['id']}/attempts"),
                             "COURSE_HOURS_INCOMPLETE")
    assert refusal["detail"].startswith("80% of the course hours done") and "第三章 光学 视频1" in refusal["detail"]
    tutor.post(f"/classes/{class_id}/releases", {"chapter_id": run_chapters[2]})
    assert watch(a, run["id"], units[4])["run_completion"] == pytest.approx(1)
    attempt = a.post(f"/learning/quizzes/{exam['id']}/attempts")
    a.request("PUT", f"/learning/attempts/{attempt['id']}/answers", json={"answers": [
        {"question_id": by_stem["牛顿第一定律又称?"]["id"], "choices": [0]},
        {"question_id": by_stem["谈谈光的波粒二象性"]["id"], "text": "光既是波也是粒子"}]})
    wait_until(lambda: a.get(f"/learning/attempts/{attempt['id']}")["state"] != "in_progress", timeout=20)
    assert a.get(f"/learning/attempts/{attempt['id']}")["auto_submitted"] is True
    tutor.post(f"/learning/attempts/{attempt['id']}/grades",
                {"question_id": by_stem["谈谈光的波粒二象性"]["id"], "points": 50, "comment": "较好"})

    # ---- Face-to-face marks for the class.
    marks = f"学号,姓名,成绩\n{numbers[0]},吴同学0,90\n{numbers[1]},吴同学1,50\n".encode()
    assert tutor.post(f"/learning/classes/{class_id}/face-to-face-marks", files={"file": ("见面课.csv", marks)},
                       data={"session_title": "见面课1"})["imported"]

    # ---- The gradebook with the published weights: A 30*100 + 20*100 + 20*90 + 30*90 = 95; B fails.
    book = tutor.get(f"/learning/classes/{class_id}/gradebook")
    assert book["weights"] == SCHEME
    rows = {r["student_id"]: r for r in book["rows"]}
    assert categories(rows[ids[0]]) == pytest.approx(
        {**categories(rows[ids[0]]), "video": 100, "quizzes": 100, "face_to_face": 90, "final_exam": 90})
    assert rows[ids[0]]["total"] == pytest.approx(95, abs=0.01) and rows[ids[0]]["passed"]
    minutes = [n["minutes"] for n in run_plan["nodes"] if n["kind"] == "unit"]
    b_video = sum(minutes[:2]) / sum(minutes) * 100  # two units of five, by their videos' minutes
    assert categories(rows[ids[1]])["video"] == pytest.approx(b_video, abs=0.5)
    assert rows[ids[1]]["total"] == pytest.approx(0.3 * b_video + 0.2 * 50, abs=0.2) and not rows[ids[1]]["passed"]

    # ---- Results and certificates: the adopting school lists its students' certificates.
    finalised = leader.post(f"/learning/runs/{run['id']}/results")
    assert (finalised["passed"], finalised["certificates_issued"]) == (1, 1)
    listed = adopting.admin.get("/certificates", params={"run_id": run["id"]})["items"]
    assert [(c["student_id"], c["student_school_id"], c["course_name"]) for c in listed] == [
        (ids[0], adopting.id, name)]
    assert providing.admin.get("/certificates", params={"run_id": run["id"]})["items"] == []
    assert a.get(f"/learning/runs/{run['id']}/grades")["certificate"]["number"] == listed[0]["number"]

    # The adopting school's admin reads its own students' results on the providing school's course.
    seen = adopting.admin.get(f"/learning/runs/{run['id']}/grades", params={"student_id": ids[0]})
    assert seen["row"]["total"] == pytest.approx(95, abs=0.01) and seen["certificate"]["number"]
    # The tutor (another school's teacher on the team) plays every unit; a teacher's play is not progress.
    tutor_play = tutor.post(f"/learning/runs/{run['id']}/units/{units[4]}/plays")
    assert tutor_play["counts"] is False
    assert tutor.get(f"/media/assets/{tutor_play['asset_id']}/playback", params={"grant": tutor_play["grant"]})[
        "hls_url"].endswith("/hls/master.m3u8")

    # ---- Refusals: wrong role, wrong school, wrong class, no token.
    refused(lambda: a.get(f"/learning/classes/{class_id}/gradebook"))  # a student: the team's view
    refused(lambda: a.post(quizzes, {"kind": "unit_test", "title": "x", "chapter_id": run_chapters[0]}))
    refused(lambda: third.admin.get(f"/learning/classes/{class_id}/gradebook"))  # another school
    refused(lambda: third.admin.get("/certificates", params={"school_id": adopting.id}))
    refused(lambda: stranger.get(f"/learning/runs/{run['id']}/grades", params={"student_id": ids[0]}))
    refused(lambda: stranger.get(f"/learning/classes/{class_id}/progress"))  # another class of the run
    refused(lambda: b.get(f"/learning/attempts/{attempt['id']}"))
    refused(lambda: b.get(f"/learning/runs/{run['id']}/grades", params={"student_id": ids[0]}))
    refused(lambda: third.admin.get(f"/learning/runs/{run['id']}/grades", params={"student_id": ids[0]}))
    # The public class's student: chapter 3 is released to the tutor's class, not to theirs.
    expect_problem(409, lambda: stranger.post(f"/learning/runs/{run['id']}/units/{units[4]}/plays"),
                   "CHAPTER_NOT_RELEASED")
    for path in (f"/learning/classes/{class_id}/gradebook", f"/learning/runs/{run['id']}/plan", "/me/courses",
                 "/certificates"):
        expect_problem(401, lambda path=path: Api(api.base_url).get(path))
