"""Student evaluation of teaching end to end through the gateway (seed 002 四(七)): the school's questionnaire,
each student's one anonymous rating at the end of a run, the school admin's results per course, term and teacher,
a course below good two terms in a row flagged to its school admin (inbox and results), stopped from opening new
runs (its leader suspended from applications) and lifted once rectified; and who may do what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from devmesh.client import Api, ApiError
from tests.e2e.conftest import CURRENT_TERM, NEXT_TERM, SchoolWorld, create_account, decide
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until

ITEMS = ["教师讲解清楚", "作业与测验有助于学习", "答疑及时"]
OTHER_ITEMS = ["辅导教师答疑及时", "课程总体满意"]


def days_until(day: str) -> float:
    """Days from now to noon UTC of `day` (the learning service's clock moves there)."""
    target = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
    return (target - datetime.now(UTC)).total_seconds() / 86400


def students_of(school: SchoolWorld, api: Api, tag: str, count: int) -> tuple[list[Api], list[str]]:
    apis, numbers = [], []
    for n in range(count):
        _, student = create_account(school.admin, api, role="student", school_id=school.id, number=f"E{tag}{n}",
                                    name=f"学生{n}")
        apis.append(student)
        numbers.append(f"E{tag}{n}")
    return apis, numbers


def open_run(leader: Api, admin: Api, course_id: str, term: dict) -> str:
    run = leader.post(f"/courses/{course_id}/runs", {"term_code": term["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": term["code"]})
    decide(admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] in ("published", "running"))
    return run["id"]


def rate(student: Api, run_id: str, ratings: list[int], comment: str = "") -> dict:
    return student.post(f"/learning/runs/{run_id}/evaluation", {"ratings": ratings, "comment": comment})


def course_result(admin: Api, course_id: str) -> dict | None:
    courses = admin.get("/evaluation/results", params={"course_id": course_id})["courses"]
    return next((c for c in courses if c["course_id"] == course_id), None)


def test_a_course_rated_below_good_two_terms_in_a_row_is_flagged_stopped_and_lifted(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld, time_travel
) -> None:
    tag = uuid.uuid4().hex[:6]
    admin = school.admin
    # The school's questionnaire: a school admin sets it (a new version each time); nobody else.
    assert admin.get("/evaluation/questionnaire")["version"] == 0  # the platform's default until set
    expect_problem(400, lambda: admin.request("PUT", "/evaluation/questionnaire", json={"items": []}),
                   "QUESTIONNAIRE_EMPTY")
    questionnaire = admin.request("PUT", "/evaluation/questionnaire", json={"title": "评教", "items": ITEMS})
    assert (questionnaire["version"], questionnaire["items"]) == (1, ITEMS)

    leader_user, leader = create_account(admin, api, role="teacher", school_id=school.id, number=f"L{tag}",
                                         name="钱老师")
    # A tutor teacher of an adopting school teaches that school's students, who rate with their own questionnaire.
    tutor_user, tutor = create_account(other_school.admin, api, role="teacher", school_id=other_school.id,
                                       number=f"U{tag}", name="孙老师")
    other_school.admin.request("PUT", "/evaluation/questionnaire", json={"items": OTHER_ITEMS})
    expect_problem(403, lambda: leader.request("PUT", "/evaluation/questionnaire", json={"items": ITEMS}))
    expect_problem(403, lambda: leader.get("/evaluation/questionnaire"))
    course = leader.post("/courses", {"kind": "spoc_independent", "name": f"评教课{tag}", "category": "专业课"})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})

    # Term 1: the leader's class (two students) and a team teacher's class (one student).
    run1 = open_run(leader, admin, course["id"], CURRENT_TERM)
    leader.post(f"/runs/{run1}/team", {"user_id": tutor_user["id"], "permissions": ["manage_classes"]})
    (s0, s1), numbers = students_of(school, api, tag + "a", 2)
    (s2,), other_numbers = students_of(other_school, api, tag + "o", 1)
    mine = leader.post(f"/runs/{run1}/classes", {"name": f"一班{tag}"})
    theirs = tutor.post(f"/runs/{run1}/classes", {"name": f"二班{tag}"})
    assert leader.post(f"/classes/{mine['id']}/students", {"student_numbers": numbers})["added"] == 2
    assert tutor.post(f"/classes/{theirs['id']}/students", {"student_numbers": other_numbers})["added"] == 1

    # Before the term's last two weeks: the questionnaire shows, rating waits.
    view = s0.get(f"/learning/runs/{run1}/evaluation")
    assert (view["open"], view["submitted"], view["questionnaire"]["items"]) == (False, False, ITEMS)
    assert view["opens_at"].startswith("2027-01-07")
    expect_problem(409, lambda: rate(s0, run1, [3, 3, 3]), "EVALUATION_NOT_OPEN")

    time_travel(days=days_until("2027-01-15"))
    assert s0.get(f"/learning/runs/{run1}/evaluation")["open"] is True
    expect_problem(400, lambda: rate(s0, run1, [3, 3]), "RATINGS_COUNT")
    expect_problem(400, lambda: rate(s0, run1, [3, 3, 6]), "RATING_OUT_OF_RANGE")
    expect_problem(403, lambda: rate(leader, run1, [5, 5, 5]), "STUDENTS_ONLY")
    (outsider,), _ = students_of(other_school, api, tag + "x", 1)
    with pytest.raises(ApiError) as not_in_run:
        rate(outsider, run1, [5, 5, 5])
    assert not_in_run.value.status in (403, 404)
    assert rate(s0, run1, [3, 4, 4], comment="讲得太快")["submitted"] is True
    expect_problem(409, lambda: rate(s0, run1, [5, 5, 5]), "ALREADY_EVALUATED")
    rate(s1, run1, [4, 4, 3])
    assert s2.get(f"/learning/runs/{run1}/evaluation")["questionnaire"]["items"] == OTHER_ITEMS
    expect_problem(400, lambda: rate(s2, run1, [4, 4, 4]), "RATINGS_COUNT")
    rate(s2, run1, [4, 4], comment="答疑很及时")
    assert s0.get(f"/learning/runs/{run1}/evaluation")["submitted"] is True

    # The school admin's results: the run so far (not final), anonymous comments, per teacher; nobody else's.
    result = course_result(admin, course["id"])
    assert result is not None and result["flagged"] is False
    (run_score,) = result["runs"]
    assert (run_score["answers"], run_score["closed"]) == (3, False)
    assert run_score["score"] == pytest.approx(round((11 / 3 + 11 / 3 + 4) / 3 * 20, 2))
    assert run_score["grade"] == "fair" and run_score["grade_name"] == "中等"
    assert sorted(run_score["comments"]) == ["答疑很及时", "讲得太快"]
    assert {i["item"]: i["answers"] for i in run_score["items"]} == {**dict.fromkeys(ITEMS, 2),
                                                                      **dict.fromkeys(OTHER_ITEMS, 1)}
    results = admin.get("/evaluation/results", params={"course_id": course["id"]})
    teachers = {t["user_id"]: t for t in results["teachers"] if t["run_id"] == run1}
    assert teachers[leader_user["id"]]["role"] == "leader" and teachers[leader_user["id"]]["answers"] == 3
    assert (teachers[tutor_user["id"]]["role"], teachers[tutor_user["id"]]["answers"],
            teachers[tutor_user["id"]]["score"], teachers[tutor_user["id"]]["grade"]) == ("tutor", 1, 80, "good")
    assert "钱老师" not in str(run_score) and "学生" not in str(results)  # no student is named anywhere
    assert course_result(other_school.admin, course["id"]) is None
    expect_problem(403, lambda: leader.get("/evaluation/results"))
    expect_problem(403, lambda: s0.get("/evaluation/results"))

    # Term 2: a re-run, rated low by its own students.
    run2 = open_run(leader, admin, course["id"], NEXT_TERM)
    (s3, s4), numbers2 = students_of(school, api, tag + "b", 2)
    second = leader.post(f"/runs/{run2}/classes", {"name": f"三班{tag}"})
    assert leader.post(f"/classes/{second['id']}/students", {"student_numbers": numbers2})["added"] == 2
    time_travel(days=days_until("2027-07-05"))
    # Term 1's window has closed: its score is final (the sweep), not flagged after one term.
    wait_until(lambda: course_result(admin, course["id"])["runs"][-1]["closed"], timeout=20)
    expect_problem(409, lambda: rate(s1, run1, [5, 5, 5]), "EVALUATION_CLOSED")
    rate(s3, run2, [3, 3, 3])
    rate(s4, run2, [4, 3, 3])
    assert course_result(admin, course["id"])["flagged"] is False

    # After term 2's window: two evaluated terms in a row below good (80) flag the course.
    time_travel(days=days_until("2027-07-30"))
    flagged = wait_until(lambda: (r := course_result(admin, course["id"])) and r["flagged"] and r, timeout=20)
    assert flagged["flag_terms"] == [CURRENT_TERM["code"], NEXT_TERM["code"]]
    assert [r["term_code"] for r in flagged["runs"]] == [NEXT_TERM["code"], CURRENT_TERM["code"]]
    assert all(r["closed"] and r["score"] < r["good_score"] == 80 for r in flagged["runs"])
    inbox = wait_until(lambda: [i for i in admin.get("/inbox")["items"] if i["kind"] == "evaluation"
                                and course["name"] in i["title"]])
    assert len(inbox) == 1 and "连续2个学期" in inbox[0]["title"]
    assert not [i for i in other_school.admin.get("/inbox")["items"] if i["kind"] == "evaluation"]

    # The school admin stops it: no new run, the leader suspended from applications; only this school's admin.
    expect_problem(400, lambda: admin.post(f"/courses/{course['id']}/stop", {"reason": " "}), "STOP_REASON_REQUIRED")
    expect_problem(404, lambda: other_school.admin.post(f"/courses/{course['id']}/stop", {"reason": "评教"}))
    expect_problem(403, lambda: leader.post(f"/courses/{course['id']}/stop", {"reason": "评教"}))
    stopped = admin.post(f"/courses/{course['id']}/stop", {"reason": "学生评教连续两学期未达良好"})
    assert stopped["stopped"] is True and stopped["stop_reason"] == "学生评教连续两学期未达良好"
    expect_problem(409, lambda: admin.post(f"/courses/{course['id']}/stop", {"reason": "again"}),
                   "COURSE_ALREADY_STOPPED")
    refusal = expect_problem(409, lambda: leader.post(f"/courses/{course['id']}/runs",
                                                      {"term_code": NEXT_TERM["code"]}), "COURSE_STOPPED")
    assert "整改" in refusal["detail"]
    standing = leader.get("/leader-standing")
    assert standing["may_apply"] is False and standing["stopped_course_ids"] == [course["id"]]
    assert admin.get("/leader-standing", params={"user_id": leader_user["id"]})["may_apply"] is False
    assert other_school.admin.get("/leader-standing", params={"user_id": leader_user["id"]})["may_apply"] is True
    assert course_result(admin, course["id"])["stopped"] is True

    # Rectified: the school admin lifts the stop; runs open again, the leader may apply.
    expect_problem(404, lambda: other_school.admin.post(f"/courses/{course['id']}/lift-stop", {}))
    lifted = admin.post(f"/courses/{course['id']}/lift-stop", {"note": "整改完毕"})
    assert lifted["stopped"] is False
    expect_problem(409, lambda: admin.post(f"/courses/{course['id']}/lift-stop", {}), "COURSE_NOT_STOPPED")
    assert leader.get("/leader-standing")["may_apply"] is True
    assert leader.post(f"/courses/{course['id']}/runs", {"term_code": NEXT_TERM["code"]})["number"] == 3


def test_evaluation_needs_a_signed_in_caller(api: Api, school: SchoolWorld) -> None:
    for method, path in (("GET", "/evaluation/questionnaire"), ("GET", "/evaluation/results"),
                         ("GET", "/learning/runs/x/evaluation"), ("POST", "/learning/runs/x/evaluation"),
                         ("POST", "/courses/x/stop"), ("GET", "/leader-standing")):
        expect_problem(401, lambda m=method, p=path: api.request(m, p, json={"ratings": [5], "reason": "r"}))
