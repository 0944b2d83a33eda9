"""An exam's open answers graded by peers end to end: the team chooses it when setting the exam; once the exam
closes each open question becomes a peer-graded review of the run (the same queue, anonymity and rules as a
peer-graded assignment), the median goes back to each student's exam score, a wide spread waits for the team, whose
grade (with its reason) goes back too; the gradebook counts it in the final exam, not among the assignments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devmesh.client import Api
from tests.e2e.conftest import SchoolWorld
from tests.e2e.test_assignments import class_world, iso
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_policies import layer_put
from tests.support import wait_until


def test_peers_grade_an_exams_open_answers_and_the_team_settles_the_spread(
    api: Api, center: Api, school: SchoolWorld
) -> None:
    layer_put(school.admin, f"/schools/{school.id}/policy/layer", {
        "peer_reviews_each": 2, "peer_reviews_needed": 2, "peer_spread_percent": 30})
    leader, run_id, _, students, ids = class_world(api, school, 3)
    bank = f"/learning/runs/{run_id}/questions"
    single = leader.post(bank, {"kind": "single_choice", "stem": "1+1=?", "options": ["1", "2"],
                                "key": {"correct": [1]}})
    essay = leader.post(bank, {"kind": "open", "stem": "谈谈你对惯性的理解", "key": {"reference": "言之有理"}})
    now = datetime.now(UTC)
    closes = now + timedelta(seconds=12)
    quizzes = f"/learning/runs/{run_id}/quizzes"
    items = [{"question_id": single["id"], "points": 40}, {"question_id": essay["id"], "points": 60}]
    expect_problem(400, lambda: leader.post(quizzes, {  # a unit test is graded by the team
        "kind": "unit_test", "title": "测验", "chapter_id": "x", "items": items, "open_answers_by": "peer"}))
    expect_problem(400, lambda: leader.post(quizzes, {  # nothing open to grade
        "kind": "exam", "title": "期末考试", "opens_at": iso(now - timedelta(minutes=1)), "closes_at": iso(closes),
        "duration_minutes": 0.1, "items": items[:1], "open_answers_by": "peer"}), "BAD_QUIZ")
    exam = leader.post(quizzes, {
        "kind": "exam", "title": "期末考试", "opens_at": iso(now - timedelta(minutes=1)), "closes_at": iso(closes),
        "duration_minutes": 0.1, "items": items, "open_answers_by": "peer"})
    assert exam["open_answers_by"] == "peer"
    answers = ["惯性是物体保持原有运动状态的性质", "质量越大惯性越大", "惯性不是力"]
    for student, text in zip(students, answers, strict=True):
        attempt = student.post(f"/learning/quizzes/{exam['id']}/attempts")
        student.post(f"/learning/attempts/{attempt['id']}/submit", {"answers": [
            {"question_id": single["id"], "choices": [1]}, {"question_id": essay["id"], "text": text}]})
    assert leader.get(f"/learning/quizzes/{exam['id']}/pending-answers")["items"] == []
    expect_problem(409, lambda: leader.post(f"/learning/attempts/{attempt['id']}/grades", {
        "question_id": essay["id"], "points": 50}), "PEER_GRADED")

    # The exam closes: the open question's review opens for those who took the exam.
    def review() -> dict | None:
        return next((a for a in students[0].get(f"/learning/runs/{run_id}/assignments")["items"]
                     if "第2题" in a["title"]), None)

    opened = wait_until(review, timeout=40)
    aid = opened["id"]
    assert opened["grading_mode"] == "peer"
    expect_problem(409, lambda: students[0].post(f"/learning/assignments/{aid}/submission", data={"text": "x"}),
                   "EXAM_ANSWERS")
    authors = {s["id"]: s["student_id"] for s in leader.get(f"/learning/assignments/{aid}/submissions")["items"]}
    assert sorted(authors.values()) == sorted(ids)
    given = {ids[0]: [50, 54], ids[1]: [30, 60], ids[2]: [40, 44]}  # what each author's answer receives
    for student in students:
        for _ in range(2):
            task = student.post(f"/learning/assignments/{aid}/reviews/next")
            assert "student_id" not in task and "student_name" not in str(task)  # anonymous
            points = given[authors[task["submission_id"]]].pop()
            student.request("PUT", f"/learning/peer-reviews/{task['id']}", json={"scores": [points],
                                                                                 "comment": "有道理"})

    # The medians go back to the exam; the answer the reviewers disagree on waits for the team.
    def results() -> dict:
        return {r["student_id"]: r for r in leader.get(f"/learning/quizzes/{exam['id']}/results")["items"]}

    wait_until(lambda: results()[ids[0]]["pending_count"] == 0 and results()[ids[2]]["pending_count"] == 0,
               timeout=20)
    now_results = results()
    assert now_results[ids[0]]["score"] == pytest.approx(40 + 52)
    assert now_results[ids[2]]["score"] == pytest.approx(40 + 42)
    assert now_results[ids[1]]["pending_count"] == 1
    escalated = next(s for s in leader.get(f"/learning/assignments/{aid}/submissions")["items"]
                     if s["student_id"] == ids[1])
    assert escalated["state"] == "escalated"
    expect_problem(400, lambda: leader.post(f"/learning/submissions/{escalated['id']}/grade", {"scores": [45]}))
    leader.post(f"/learning/submissions/{escalated['id']}/grade", {"scores": [45], "reason": "两份互评分歧较大，复核"})
    wait_until(lambda: results()[ids[1]]["pending_count"] == 0, timeout=20)
    assert results()[ids[1]]["score"] == pytest.approx(40 + 45)

    # The gradebook counts it in the final exam, not among the assignments.
    grades = students[0].get(f"/learning/runs/{run_id}/grades")
    assert [(i["category"], i["score"]) for i in grades["items"] if i["category"] in ("final_exam", "assignments")] \
        == [("final_exam", pytest.approx(92))]
