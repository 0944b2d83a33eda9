"""Quizzes and exams end to end: the bank copied into a run (chapter tags re-pointed), quizzes auto-graded with
attempts and grading methods, answer keys hidden until the policy allows, unreleased chapters refused, the exam's
100% course-hours gate, its server deadline (extra time, autosave, automatic submission), open answers graded by
the team, offline exam marks imported; and who may do what."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from devmesh.client import Api, ApiError
from devmesh.mesh import Mesh
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld, create_account
from tests.e2e.learning_world import LearningWorld, make_learning_world, watch
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until

# The exam sweep runs every second in the test mesh (read when the mesh starts, after collection).

KEY_FIELDS = ("key", "correct", "accepted", "truth", "reference", "explanation")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assessment-clips")


@pytest.fixture
def world(api: Api, center: Api, school: SchoolWorld, clips: Path) -> LearningWorld:
    return make_learning_world(api, school, clips, students=2)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def refused(call) -> None:  # type: ignore[no-untyped-def]
    """403, or 404 where the caller may not even know the thing exists."""
    with pytest.raises(ApiError) as raised:
        call()
    assert raised.value.status in (403, 404), raised.value.problem


def holds_answer_key(body: object) -> bool:
    """Anywhere in a JSON answer: a field of the answer key."""
    if isinstance(body, dict):
        return any(k in KEY_FIELDS or holds_answer_key(v) for k, v in body.items())
    if isinstance(body, list):
        return any(holds_answer_key(v) for v in body)
    return False


def question(kind: str, stem: str, chapter_id: str = "", **fields: object) -> dict:
    return {"kind": kind, "stem": stem, "chapter_id": chapter_id, **fields}


def test_a_course_bank_is_copied_into_a_new_run_with_its_chapter_tags_re_pointed(
        world: LearningWorld, api: Api, school: SchoolWorld, other_school: SchoolWorld) -> None:
    leader = world.leader
    course = leader.post("/courses", {"kind": "spoc_independent", "name": f"题库课{uuid.uuid4().hex[:6]}",
                                      "category": "专业课"})
    plan = leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    chapter = next(n["id"] for n in plan["nodes"] if n["kind"] == "chapter")
    url = f"/courses/{course['id']}/questions"
    made = leader.post(url, question("single_choice", "1+1=?", chapter, options=["1", "2"], key={"correct": [1]}))
    assert made["chapter_id"] == chapter and made["run_id"] == "" and made["key"]["correct"] == [1]
    leader.post(url, question("fill_blank", "中国的首都", key={"accepted": ["北京", "Beijing"]}))
    # Bad content: a clear 400 that says what is wrong, and nothing stored.
    bad = expect_problem(400, lambda: leader.post(url, question("single_choice", "x", options=["a", "b"],
                                                                key={"correct": [0, 1]})), "BAD_QUESTION")
    assert "exactly one correct option" in bad["detail"]
    expect_problem(400, lambda: leader.post(url, question("single_choice", "x", "no-such-chapter",
                                                          options=["a", "b"], key={"correct": [0]})))
    # Only the leader uses the parent course's bank.
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                number=f"T{uuid.uuid4().hex[:6]}", name="李老师")
    refused(lambda: teacher.post(url, question("true_false", "x")))
    refused(lambda: world.students[0].get(url))
    expect_problem(401, lambda: api.get(url))
    assert len(leader.get(url)["items"]) == 2

    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    run_plan = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})
    run_chapter = next(n["id"] for n in run_plan["nodes"] if n["kind"] == "chapter")
    copied = wait_until(lambda: leader.get(f"/learning/runs/{run['id']}/questions")["items"])
    assert len(copied) == 2
    by_stem = {q["stem"]: q for q in copied}
    assert by_stem["1+1=?"]["chapter_id"] == run_chapter != chapter
    assert by_stem["1+1=?"]["source_question_id"] == made["id"] and by_stem["1+1=?"]["run_id"] == run["id"]
    assert by_stem["中国的首都"]["key"]["accepted"] == ["北京", "Beijing"]
    # Other schools' admins and teachers off the team see no run bank.
    refused(lambda: teacher.get(f"/learning/runs/{run['id']}/questions"))
    refused(lambda: other_school.admin.get(f"/learning/runs/{run['id']}/questions"))


def test_quizzes_are_graded_with_their_attempts_and_method_and_keys_stay_hidden_until_the_policy_allows(
        world: LearningWorld, api: Api, school: SchoolWorld, other_school: SchoolWorld) -> None:
    leader, (student, second) = world.leader, world.students
    bank = f"/learning/runs/{world.run_id}/questions"
    single = leader.post(bank, question("single_choice", "1+1=?", world.chapters[0], options=["1", "2", "3"],
                                        key={"correct": [1], "explanation": "arithmetic"}))
    multi = leader.post(bank, question("multiple_choice", "primes?", world.chapters[0],
                                       options=["2", "3", "4", "5"], key={"correct": [0, 1, 3]}))
    blank = leader.post(bank, question("fill_blank", "中国的首都", world.chapters[0],
                                       key={"accepted": ["北京", "Beijing"]}))
    truth = leader.post(bank, question("true_false", "天是蓝的", world.chapters[1], key={"truth": True}))
    # Students and teachers off the team set nothing.
    expect_problem(403, lambda: student.post(bank, question("true_false", "x")))
    expect_problem(403, lambda: student.get(bank))

    quizzes = f"/learning/runs/{world.run_id}/quizzes"
    items = [{"question_id": single["id"], "points": 2}, {"question_id": multi["id"], "points": 4},
             {"question_id": blank["id"], "points": 4}]
    in_video = leader.post(quizzes, {"kind": "in_video", "title": "随堂测验1", "unit_id": world.units[0],
                                     "at_seconds": 2, "attempts_allowed": 2, "grading_method": "highest",
                                     "items": items})
    assert in_video["chapter_id"] == world.chapters[0] and in_video["total_points"] == 10
    expect_problem(400, lambda: leader.post(quizzes, {"kind": "in_video", "title": "x", "unit_id": world.units[0],
                                                      "at_seconds": 999, "items": items}), "BAD_QUIZ")
    expect_problem(403, lambda: student.post(quizzes, {"kind": "unit_test", "title": "x",
                                                       "chapter_id": world.chapters[0], "items": items}))

    # The student sees the questions, never the answer key, before submitting.
    url = f"/learning/quizzes/{in_video['id']}"
    view = student.get(url)
    assert [q["question_id"] for q in view["questions"]] == [single["id"], multi["id"], blank["id"]]
    assert not holds_answer_key(view) and view["answers_visible"] is False
    assert "北京" not in json.dumps(view, ensure_ascii=False)
    assert holds_answer_key(leader.get(url))
    due = {d["id"] for c in student.get("/me/courses")["items"] for d in c["due"]}
    assert in_video["id"] in due

    # Attempt 1: autosaved answers, then submitted: multiple choice half (a correct subset), fill-in width-blind.
    first = student.post(f"{url}/attempts")
    assert first["state"] == "in_progress" and not holds_answer_key(first)
    saved = student.request("PUT", f"/learning/attempts/{first['id']}/answers", json={"answers": [
        {"question_id": single["id"], "choices": [0]}, {"question_id": multi["id"], "choices": [0, 3]}]})
    assert {a["question_id"] for a in saved["answers"]} == {single["id"], multi["id"]}
    expect_problem(404, lambda: second.get(f"/learning/attempts/{first['id']}"))
    done = student.post(f"/learning/attempts/{first['id']}/submit",
                        {"answers": [{"question_id": blank["id"], "text": " ＢＥＩＪＩＮＧ "}]})
    assert done["state"] == "graded" and done["points"] == pytest.approx(0 + 2 + 4)
    assert done["score"] == pytest.approx(60)
    # after_submit: the key is shown now, to this student only.
    shown = student.get(url)
    assert shown["answers_visible"] is True and shown["questions"][0]["key"]["correct"] == [1]
    assert not holds_answer_key(second.get(url))
    # Attempt 2 is worse; "highest" keeps 60. A third is refused.
    again = student.post(f"{url}/attempts")
    worse = student.post(f"/learning/attempts/{again['id']}/submit",
                         {"answers": [{"question_id": single["id"], "choices": [1]}]})
    assert worse["score"] == pytest.approx(20)
    mine = student.get(url)
    assert mine["my_score"] == pytest.approx(60) and mine["attempts_left"] == 0
    expect_problem(409, lambda: student.post(f"{url}/attempts"), "NO_ATTEMPTS_LEFT")
    results = {r["student_id"]: r for r in leader.get(f"{url}/results")["items"]}
    assert results[world.student_ids[0]]["score"] == pytest.approx(60)
    assert results[world.student_ids[0]]["attempts"] == 2
    expect_problem(403, lambda: student.get(f"{url}/results"))
    assert in_video["id"] not in {d["id"] for c in student.get("/me/courses")["items"] for d in c["due"]}

    # after_close, "last": the key stays hidden after submitting, until the quiz closes.
    closes = datetime.now(UTC) + timedelta(seconds=6)
    unit_test = leader.post(quizzes, {"kind": "unit_test", "title": "第一章单元测验", "chapter_id": world.chapters[0],
                                      "show_answers": "after_close", "grading_method": "last",
                                      "attempts_allowed": 3, "closes_at": iso(closes),
                                      "items": [{"question_id": single["id"], "points": 5}]})
    test_url = f"/learning/quizzes/{unit_test['id']}"
    one = second.post(f"{test_url}/attempts")
    second.post(f"/learning/attempts/{one['id']}/submit", {"answers": [{"question_id": single["id"], "choices": [1]}]})
    two = second.post(f"{test_url}/attempts")
    second.post(f"/learning/attempts/{two['id']}/submit", {"answers": [{"question_id": single["id"], "choices": [2]}]})
    hidden = second.get(test_url)
    assert not holds_answer_key(hidden) and hidden["my_score"] == pytest.approx(0)  # the last attempt counts
    time.sleep(max(0.0, (closes - datetime.now(UTC)).total_seconds()) + 0.5)
    after = second.get(test_url)
    assert after["answers_visible"] is True and after["questions"][0]["key"]["correct"] == [1]
    expect_problem(409, lambda: second.post(f"{test_url}/attempts"), "QUIZ_CLOSED")

    # Chapter 2 is not released to the class: its quiz is neither shown nor answered.
    locked = leader.post(quizzes, {"kind": "unit_test", "title": "第二章单元测验", "chapter_id": world.chapters[1],
                                   "items": [{"question_id": truth["id"], "points": 1}]})
    listed = {q["id"]: q for q in student.get(quizzes)["items"]}
    assert listed[locked["id"]]["released"] is False and listed[in_video["id"]]["released"] is True
    expect_problem(409, lambda: student.get(f"/learning/quizzes/{locked['id']}"), "CHAPTER_NOT_RELEASED")
    expect_problem(409, lambda: student.post(f"/learning/quizzes/{locked['id']}/attempts"), "CHAPTER_NOT_RELEASED")
    assert locked["id"] not in {d["id"] for c in student.get("/me/courses")["items"] for d in c["due"]}

    # Nobody outside the run: no token, a student not in the class, a teacher off the team, another school's admin.
    expect_problem(401, lambda: api.get(url))
    _, outsider = create_account(school.admin, api, role="student", school_id=school.id,
                                 number=f"X{uuid.uuid4().hex[:6]}", name="旁听生")
    _, teacher = create_account(school.admin, api, role="teacher", school_id=school.id,
                                number=f"T{uuid.uuid4().hex[:6]}", name="李老师")
    for stranger in (outsider, teacher, other_school.admin):
        refused(lambda: stranger.get(url))  # noqa: B023 - called at once
        refused(lambda: stranger.post(f"{url}/attempts"))  # noqa: B023

    # An offline exam: marks imported per class; a bad line refuses the whole file and stores nothing.
    now = datetime.now(UTC)
    exam = leader.post(quizzes, {"kind": "exam", "title": "期末考试(线下)", "mode": "offline",
                                 "opens_at": iso(now - timedelta(hours=1)), "closes_at": iso(now + timedelta(hours=1))})
    expect_problem(409, lambda: student.post(f"/learning/quizzes/{exam['id']}/attempts"), "OFFLINE_EXAM")
    expect_problem(409, lambda: leader.post(quizzes, {"kind": "exam", "title": "again", "mode": "offline",
                                                      "opens_at": iso(now), "closes_at": iso(now + timedelta(1))}),
                   "EXAM_EXISTS")
    marks_url = f"/learning/quizzes/{exam['id']}/offline-marks"
    bad_file = f"学号,姓名,成绩\n{world.numbers[0]},学生0,88\nS-nobody,外人,70\n{world.numbers[1]},学生1,101\n"
    bad = leader.post(marks_url, data={"class_id": world.class_id},
                      files={"file": ("marks.csv", bad_file.encode())})
    assert bad["imported"] is False and [e["line"] for e in bad["errors"]] == [3, 4]
    assert "not a student of this class" in bad["errors"][0]["message"]
    assert leader.get(f"/learning/quizzes/{exam['id']}/results")["items"] == []
    good_file = f"学号,成绩\n{world.numbers[0]},88\n{world.numbers[1]},59.5\n".encode()
    expect_problem(403, lambda: student.post(marks_url, data={"class_id": world.class_id},
                                             files={"file": ("marks.csv", good_file)}))
    good = leader.post(marks_url, data={"class_id": world.class_id}, files={"file": ("marks.csv", good_file)})
    assert good["imported"] is True and good["count"] == 2
    marks = {r["student_id"]: r for r in leader.get(f"/learning/quizzes/{exam['id']}/results")["items"]}
    assert marks[world.student_ids[1]]["score"] == pytest.approx(59.5) and marks[world.student_ids[1]]["offline"]


def test_the_exam_needs_all_course_hours_is_timed_on_the_server_and_open_answers_are_graded_by_the_team(
        world: LearningWorld, mesh: Mesh) -> None:
    leader, (student, other) = world.leader, world.students
    leader.post(f"/classes/{world.class_id}/releases", {"chapter_id": world.chapters[1]})
    bank = f"/learning/runs/{world.run_id}/questions"
    single = leader.post(bank, question("single_choice", "1+1=?", options=["1", "2"], key={"correct": [1]}))
    essay = leader.post(bank, question("open", "谈谈你的理解", key={"reference": "言之有理即可"}))
    now = datetime.now(UTC)
    exam = leader.post(f"/learning/runs/{world.run_id}/quizzes", {
        "kind": "exam", "title": "期末考试", "opens_at": iso(now - timedelta(minutes=1)),
        "closes_at": iso(now + timedelta(hours=1)), "duration_minutes": 0.05,  # 3 seconds
        "items": [{"question_id": single["id"], "points": 40}, {"question_id": essay["id"], "points": 60}]})
    assert exam["show_answers"] == "after_close" and exam["attempts_allowed"] == 1
    url = f"/learning/quizzes/{exam['id']}"
    assert url.rsplit("/", 1)[1] in {d["id"] for c in student.get("/me/courses")["items"] for d in c["due"]}
    assert student.get(url)["questions"] == []  # an exam's questions are seen in an attempt

    # Before 100% of the course hours: refused, with how far and what remains.
    watch(student, world.run_id, world.units[0])
    refusal = expect_problem(409, lambda: student.post(f"{url}/attempts"), "COURSE_HOURS_INCOMPLETE")
    assert "% of the course hours done (" in refusal["detail"] and "minutes); " in refusal["detail"]
    assert "remaining: 第一章 绪论 视频2, 第二章 进阶 视频1" in refusal["detail"]
    assert not refusal["detail"].startswith("100%")

    # Extra time for the student (the team, before the student starts); a student may not set it.
    expect_problem(403, lambda: student.request("PUT", f"{url}/extra-time/{world.student_ids[0]}",
                                                json={"extra_minutes": 5}))
    extra = leader.request("PUT", f"{url}/extra-time/{world.student_ids[0]}", json={"extra_minutes": 0.05})
    assert extra["extra_minutes"] == pytest.approx(0.05)

    for unit in world.units[1:]:
        watch(student, world.run_id, unit)
    attempt = student.post(f"{url}/attempts")
    started, deadline = parse(attempt["started_at"]), parse(attempt["deadline_at"])
    assert (deadline - started).total_seconds() == pytest.approx(6, abs=0.01)  # 3 s + 3 s extra
    assert {q["question_id"] for q in student.get(url)["questions"]} == {single["id"], essay["id"]}
    assert not holds_answer_key(student.get(url))
    expect_problem(409, lambda: leader.request("PUT", f"{url}/extra-time/{world.student_ids[0]}",
                                               json={"extra_minutes": 10}), "EXAM_STARTED")
    student.request("PUT", f"/learning/attempts/{attempt['id']}/answers", json={"answers": [
        {"question_id": single["id"], "choices": [1]}, {"question_id": essay["id"], "text": "我的理解是……"}]})

    # Nobody submits: the server's sweep does at the deadline, with what was saved (results read no attempt).
    def submitted() -> dict | None:
        rows = leader.get(f"{url}/results")["items"]
        return next((r for r in rows if r["student_id"] == world.student_ids[0]), None)

    result = wait_until(submitted, timeout=20)
    assert result["attempts"] == 1 and result["pending_count"] == 1 and result["score"] == pytest.approx(40)
    with pytest.raises(ApiError) as late:
        student.request("PUT", f"/learning/attempts/{attempt['id']}/answers", json={"answers": [
            {"question_id": single["id"], "choices": [0]}]})
    assert late.value.status == 409 and late.value.problem["reason"] in ("ALREADY_SUBMITTED", "DEADLINE_PASSED")
    mine = student.get(f"/learning/attempts/{attempt['id']}")
    assert mine["auto_submitted"] is True and mine["state"] == "submitted"
    assert parse(mine["submitted_at"]) == pytest.approx(deadline, abs=timedelta(milliseconds=5))
    assert mine["results"] == []  # after_close: not yet
    expect_problem(409, lambda: student.post(f"{url}/attempts"), "NO_ATTEMPTS_LEFT")

    # The open answer waits for the team (grade permission); a student cannot grade.
    pending = leader.get(f"{url}/pending-answers")["items"]
    assert [(p["attempt_id"], p["question_id"], p["text"]) for p in pending] == [
        (attempt["id"], essay["id"], "我的理解是……")]
    expect_problem(403, lambda: student.get(f"{url}/pending-answers"))
    grade = {"question_id": essay["id"], "points": 45, "comment": "不错"}
    expect_problem(403, lambda: other.post(f"/learning/attempts/{attempt['id']}/grades", grade))
    expect_problem(400, lambda: leader.post(f"/learning/attempts/{attempt['id']}/grades",
                                            {**grade, "question_id": single["id"]}), "NOT_AN_OPEN_QUESTION")
    graded = leader.post(f"/learning/attempts/{attempt['id']}/grades", grade)
    assert graded["state"] == "graded" and graded["score"] == pytest.approx(85)
    assert leader.get(f"{url}/pending-answers")["items"] == []

    # Another student, still at 0%: refused too (and an attempt cannot be read by a classmate).
    refusal = expect_problem(409, lambda: other.post(f"{url}/attempts"), "COURSE_HOURS_INCOMPLETE")
    assert refusal["detail"].startswith("0% of the course hours done")
    expect_problem(404, lambda: other.get(f"/learning/attempts/{attempt['id']}"))
    with httpx.Client(base_url=mesh.gateway_url) as anonymous:
        assert anonymous.get(f"/api/v1{url}").status_code == 401
