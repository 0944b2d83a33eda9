"""Assignments end to end through the gateway: a peer-graded assignment (the queue handing a late submitter's work
out first, anonymous reviews, a wide spread escalated to the team and settled with a reason, the reviews needed
relaxed after the policy's time, a missed review costing its share), attached files read by their reviewers only,
the grade in the gradebook; a team-graded assignment; and who may do what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devmesh.client import Api
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld, create_account, decide
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_policies import layer_put
from tests.support import wait_until

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
RUBRIC = [{"title": "论证", "points": 6}, {"title": "表达", "points": 4}]


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def class_world(api: Api, school: SchoolWorld, students: int) -> tuple[Api, str, str, list[Api], list[str]]:
    """(leader, run id, class id, student apis, student ids): a running SPOC run with one class."""
    tag = uuid.uuid4().hex[:6]
    _, leader = create_account(school.admin, api, role="teacher", school_id=school.id, number=f"T{tag}",
                               name="周老师")
    course = leader.post("/courses", {"kind": "spoc_independent", "name": f"写作课{tag}", "category": "专业课"})
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    decide(school.admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] in ("published", "running"))
    course_class = leader.post(f"/runs/{run['id']}/classes", {"name": f"写作{tag}"})
    apis, ids, numbers = [], [], []
    for n in range(students):
        user, student = create_account(school.admin, api, role="student", school_id=school.id,
                                       number=f"W{tag}{n}", name=f"同学{n}")
        apis.append(student)
        ids.append(user["id"])
        numbers.append(f"W{tag}{n}")
    assert leader.post(f"/classes/{course_class['id']}/students", {"student_numbers": numbers})["added"] == students
    return leader, run["id"], course_class["id"], apis, ids


def submit(student: Api, assignment_id: str, text: str, files: list[tuple[str, bytes]] | None = None) -> dict:
    return student.post(f"/learning/assignments/{assignment_id}/submission", data={"text": text},
                        files=[("files", (name, content)) for name, content in files or []] or None)


def review(student: Api, assignment_id: str, scores: list[float], comment: str = "论证清楚") -> dict:
    task = student.post(f"/learning/assignments/{assignment_id}/reviews/next")
    return student.request("PUT", f"/learning/peer-reviews/{task['id']}", json={"scores": scores,
                                                                                 "comment": comment})


def test_a_peer_graded_assignment_from_submission_to_the_gradebook(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    # Two reviews each and two needed; after 18 s one is enough; a missed review costs 10 %.
    layer_put(school.admin, f"/schools/{school.id}/policy/layer", {
        "peer_reviews_each": 2, "peer_reviews_needed": 2, "peer_relax_after_hours": 0.005,
        "peer_relaxed_reviews_needed": 1, "peer_spread_percent": 30, "peer_missed_review_percent": 10})
    leader, run_id, class_id, students, ids = class_world(api, school, 4)
    s0, s1, s2, s3 = students
    deadline = datetime.now(UTC) + timedelta(seconds=6)
    body = {"title": "议论文", "brief": "就在线学习写一篇短文", "grading_mode": "peer", "rubric": RUBRIC,
            "deadline": iso(deadline), "late_until": iso(deadline + timedelta(minutes=10))}
    expect_problem(403, lambda: s0.post(f"/learning/runs/{run_id}/assignments", body))
    expect_problem(400, lambda: leader.post(f"/learning/runs/{run_id}/assignments", {**body, "rubric": []}),
                   "RUBRIC_EMPTY")
    assignment = leader.post(f"/learning/runs/{run_id}/assignments", body)
    aid = assignment["id"]
    assert assignment["total_points"] == 10 and assignment["peer"]["reviews_needed"] == 2
    assert [a["id"] for a in s1.get(f"/learning/runs/{run_id}/assignments")["items"]] == [aid]
    expect_problem(403, lambda: other_school.admin.get(f"/learning/runs/{run_id}/assignments"))

    # Answers before the deadline: empty and disguised files refused; a PDF kept; reviews not open yet.
    expect_problem(400, lambda: submit(s0, aid, "  "), "EMPTY_SUBMISSION")
    expect_problem(400, lambda: submit(s0, aid, "正文", [("virus.pdf", b"MZ\x90\x00" + b"\x00" * 64)]),
                   "FILE_TYPE_REFUSED")
    first = submit(s0, aid, "在线学习让学生掌握节奏。", [("essay.pdf", PDF)])
    assert [(f["filename"], f["content_type"]) for f in first["attachments"]] == [("essay.pdf", "application/pdf")]
    assert submit(s1, aid, "在线学习需要自律。")["late"] is False
    submit(s2, aid, "在线学习与课堂互补。")
    expect_problem(409, lambda: s0.post(f"/learning/assignments/{aid}/reviews/next"), "REVIEWS_NOT_OPEN")
    wait_until(lambda: datetime.now(UTC) > deadline + timedelta(seconds=0.5), timeout=15)

    # After the deadline: the queue hands out the least reviewed, oldest first, never one's own.
    task = s0.post(f"/learning/assignments/{aid}/reviews/next")
    assert task["submission_text"] == "在线学习需要自律。"
    assert ids[1] not in str(task) and "同学1" not in str(task)  # the author is not named
    assert s0.post(f"/learning/assignments/{aid}/reviews/next")["id"] == task["id"]  # one at a time
    expect_problem(400, lambda: s0.request("PUT", f"/learning/peer-reviews/{task['id']}",
                                           json={"scores": [7, 1], "comment": "x"}), "BAD_SCORE")
    s0.request("PUT", f"/learning/peer-reviews/{task['id']}", json={"scores": [5, 3], "comment": "条理清楚"})
    expect_problem(404, lambda: s1.request("PUT", f"/learning/peer-reviews/{task['id']}",
                                           json={"scores": [1, 1], "comment": "改分"}))
    assert review(s1, aid, [5, 4])["submission_text"] == "在线学习让学生掌握节奏。"  # s0's

    late = submit(s3, aid, "迟交：在线学习的利与弊。")  # after the deadline, before the late cut-off
    assert late["late"] is True
    assert review(s2, aid, [6, 4])["submission_text"] == "迟交：在线学习的利与弊。"  # the late one goes first
    assert review(s3, aid, [1, 0])["submission_text"] == "在线学习与课堂互补。"
    assert review(s1, aid, [6, 4])["submission_text"] == "在线学习与课堂互补。"   # s2: 1 and 10, a wide spread
    assert review(s0, aid, [5, 4])["submission_text"] == "迟交：在线学习的利与弊。"
    assert review(s2, aid, [4, 4])["submission_text"] == "在线学习让学生掌握节奏。"
    expect_problem(409, lambda: s0.post(f"/learning/assignments/{aid}/reviews/next"), "REVIEWS_DONE")
    # s3 leaves its second review undone.

    # Files: the author and its reviewers read them; a peer who did not review it does not.
    sub0 = s0.get(f"/learning/assignments/{aid}/submission")
    link_path = f"/learning/submissions/{sub0['id']}/attachments/{sub0['attachments'][0]['id']}"
    assert httpx.get(s1.get(link_path)["url"]).content == PDF
    s0.get(link_path)
    expect_problem(403, lambda: s3.get(link_path))

    # The grades as they stand: medians; the spread escalated; s1 waiting for its second review.
    assert (sub0["state"], sub0["points"], sub0["reviews_finished"]) == ("graded", 8.5, 2)
    assert [r["total"] for r in sub0["reviews"]] == [9, 8] and ids[1] not in str(sub0["reviews"])
    assert s1.get(f"/learning/assignments/{aid}/submission")["state"] == "pending"
    escalated = leader.get(f"/learning/assignments/{aid}/submissions", params={"state": "escalated"})["items"]
    assert [(e["student_id"], e["peer_points"]) for e in escalated] == [(ids[2], 5.5)]
    assert leader.get(f"/learning/assignments/{aid}")["escalated"] == 1
    expect_problem(403, lambda: s0.get(f"/learning/assignments/{aid}/submissions"))
    expect_problem(403, lambda: other_school.admin.get(f"/learning/assignments/{aid}/submissions",
                                                       params={"class_id": class_id}))
    expect_problem(400, lambda: leader.post(f"/learning/submissions/{escalated[0]['id']}/grade",
                                            {"scores": [4, 3]}))  # a peer grade is settled with a reason
    expect_problem(403, lambda: s0.post(f"/learning/submissions/{escalated[0]['id']}/grade",
                                        {"scores": [6, 4], "reason": "我觉得好"}))
    settled = leader.post(f"/learning/submissions/{escalated[0]['id']}/grade",
                          {"scores": [4, 3], "comment": "论证尚可", "reason": "互评分歧过大，教师复核"})
    assert (settled["state"], settled["points"], settled["override_reason"]) == ("graded", 7, "互评分歧过大，教师复核")

    # After the relaxation time one review is enough, and the missed review costs s3 10 %.
    relaxed = deadline + timedelta(hours=0.005)
    wait_until(lambda: datetime.now(UTC) > relaxed + timedelta(seconds=0.5), timeout=40)
    mine1 = s1.get(f"/learning/assignments/{aid}/submission")
    assert (mine1["state"], mine1["points"], mine1["reviews_needed"]) == ("graded", 8, 1)
    mine3 = s3.get(f"/learning/assignments/{aid}/submission")
    assert (mine3["points"], mine3["penalty_percent"], mine3["reviews_done"], mine3["reviews_owed"]) == \
        (pytest.approx(9.5 * 0.9), 10, 1, 2)

    # The gradebook counts the assignment (score out of 100) in its category.
    grades = s0.get(f"/learning/runs/{run_id}/grades")
    item = next(i for i in grades["items"] if i["item_id"] == aid)
    assert (item["category"], item["score"], item["scored"]) == ("assignments", 85, True)


def test_a_team_graded_assignment_and_who_may_touch_it(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    leader, run_id, class_id, (s0, s1), ids = class_world(api, school, 2)
    outsider, _, _, (stranger,), _ = class_world(api, other_school, 1)
    deadline = datetime.now(UTC) + timedelta(minutes=30)
    assignment = leader.post(f"/learning/runs/{run_id}/assignments", {
        "title": "实验报告", "brief": "测量并报告数据", "grading_mode": "team", "rubric": RUBRIC,
        "deadline": iso(deadline), "weight": 2})
    aid = assignment["id"]
    expect_problem(401, lambda: api.get(f"/learning/assignments/{aid}"))
    expect_problem(403, lambda: stranger.get(f"/learning/assignments/{aid}"))
    expect_problem(403, lambda: submit(stranger, aid, "外校学生的报告"))
    expect_problem(403, lambda: outsider.get(f"/learning/assignments/{aid}/submissions"))
    expect_problem(403, lambda: submit(leader, aid, "老师替交"))

    first = submit(s0, aid, "第一稿", [("data.csv", "学号,成绩\n1,90\n".encode()),
                                      ("plot.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32)])
    assert len(first["attachments"]) == 2
    kept = first["attachments"][1]["id"]
    second = s0.post(f"/learning/assignments/{aid}/submission", data={"text": "第二稿", "keep": [kept]})
    assert (second["id"], second["text"], [f["id"] for f in second["attachments"]]) == (first["id"], "第二稿", [kept])
    expect_problem(400, lambda: s0.post(f"/learning/assignments/{aid}/submission",
                                        data={"text": "x", "keep": [str(uuid.uuid4())]}), "UNKNOWN_ATTACHMENT")
    expect_problem(409, lambda: s0.post(f"/learning/assignments/{aid}/reviews/next"), "NOT_PEER_GRADED")
    assert s0.get(f"/learning/assignments/{aid}/submission")["state"] == "submitted"
    expect_problem(404, lambda: s1.get(f"/learning/assignments/{aid}/submission"), "NOT_SUBMITTED")

    listed = leader.get(f"/learning/assignments/{aid}/submissions", params={"class_id": class_id})
    assert [(s["student_id"], s["state"]) for s in listed["items"]] == [(ids[0], "submitted")]
    expect_problem(400, lambda: leader.post(f"/learning/submissions/{first['id']}/grade", {"scores": [9, 1]}),
                   "BAD_SCORE")
    graded = leader.post(f"/learning/submissions/{first['id']}/grade", {"scores": [5, 4], "comment": "数据完整"})
    assert (graded["state"], graded["points"], graded["score"], graded["team_comment"]) == ("graded", 9, 90,
                                                                                            "数据完整")
    mine = s0.get(f"/learning/assignments/{aid}/submission")
    assert (mine["points"], mine["team_scores"]) == (9, [5, 4])
    grades = s0.get(f"/learning/runs/{run_id}/grades")
    assert next(i for i in grades["items"] if i["item_id"] == aid)["score"] == 90


def test_notices_reach_the_run_or_one_class_and_are_marked_read(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld
) -> None:
    leader, run_id, class_id, (s0, s1), _ = class_world(api, school, 2)
    other_class = leader.post(f"/runs/{run_id}/classes", {"name": f"二班{uuid.uuid4().hex[:4]}"})
    _, stranger_run, _, (stranger,), _ = class_world(api, other_school, 1)
    path = f"/learning/runs/{run_id}/notices"
    expect_problem(403, lambda: s0.post(path, {"title": "假通知", "body": "x"}), "TEAM_ONLY")
    expect_problem(403, lambda: stranger.post(path, {"title": "外校", "body": "x"}))
    expect_problem(404, lambda: leader.post(path, {"title": "错班", "body": "x", "class_id": stranger_run}))
    expect_problem(400, lambda: leader.post(path, {"title": "  ", "body": "x"}))
    everyone = leader.post(path, {"title": "开课通知", "body": "第一章已开放"})
    mine = leader.post(path, {"title": "本班见面课", "body": "周三下午", "class_id": class_id})
    theirs = leader.post(path, {"title": "二班见面课", "body": "周四上午", "class_id": other_class["id"]})
    assert (mine["class_id"], mine["poster_name"]) == (class_id, "周老师")

    seen = s0.get(path)
    assert [n["title"] for n in seen["notices"]] == ["本班见面课", "开课通知"] and seen["unread"] == 2
    # Each one reaches its readers' inboxes too (another class's does not).
    titles = {i["title"] for i in s0.get("/inbox")["items"] if i["kind"] == "notice"}
    assert titles == {"课程通知：开课通知", "课程通知：本班见面课"}
    assert not [i for i in stranger.get("/inbox")["items"] if i["run_id"] == run_id]
    assert s0.post(f"/learning/notices/{everyone['id']}/read")["read"] is True
    s0.post(f"/learning/notices/{everyone['id']}/read")  # twice is once
    assert s0.get(path)["unread"] == 1 and s1.get(path)["unread"] == 2
    expect_problem(404, lambda: s0.post(f"/learning/notices/{theirs['id']}/read"))
    expect_problem(403, lambda: stranger.get(path))
    staff = leader.get(path)
    assert {n["title"]: n["readers"] for n in staff["notices"]} == {"开课通知": 1, "本班见面课": 0, "二班见面课": 0}
    assert school.admin.get(path)["unread"] == 0


def test_students_asking_at_once_each_get_a_different_submission(
    api: Api, center: Api, school: SchoolWorld
) -> None:
    """The hand-out is one at a time per assignment (PostgreSQL locks the assignment's row; SQLite serialises
    writers): twelve reviewers asking together lease twelve different submissions. Thirteen submitted: with only
    twelve, the last one served may find nothing unleased but their own and rightly share another's."""
    from concurrent.futures import ThreadPoolExecutor

    layer_put(school.admin, f"/schools/{school.id}/policy/layer", {"peer_reviews_each": 1, "peer_reviews_needed": 1})
    leader, run_id, _, everyone, _ = class_world(api, school, 13)
    deadline = datetime.now(UTC) + timedelta(seconds=8)
    aid = leader.post(f"/learning/runs/{run_id}/assignments", {
        "title": "并发互评", "brief": "x", "grading_mode": "peer", "rubric": RUBRIC, "deadline": iso(deadline)})["id"]
    for n, student in enumerate(everyone):
        submit(student, aid, f"答案{n}")
    students = everyone[:12]
    wait_until(lambda: datetime.now(UTC) > deadline + timedelta(seconds=0.5), timeout=20)
    with ThreadPoolExecutor(12) as pool:
        tasks = list(pool.map(lambda s: s.post(f"/learning/assignments/{aid}/reviews/next"), students))
    assert len({t["submission_id"] for t in tasks}) == 12
    def finish(student: Api, task: dict) -> dict:
        return student.request("PUT", f"/learning/peer-reviews/{task['id']}", json={"scores": [3, 2], "comment": "好"})

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(finish, students, tasks))
    finished = [s["reviews_finished"] for s in leader.get(f"/learning/assignments/{aid}/submissions")["items"]]
    assert sorted(finished) == [0] + [1] * 12
