"""The course forum end to end through the gateway: the team's topics, a student's question answered late (the
team reminded at the deadline, the school's admins a working day later, the asker told when the answer comes, the
first-response time kept), discussions with unread marks and search, moderation (a report, hiding with a reason,
a blocked word of the province refused, the audit trail), the forum's share of the grade by the leader's rule, and
who may do what."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from devmesh.client import Api
from devmesh.mesh import Mesh
from servicekit.working_days import working_days_later
from tests.e2e.conftest import SchoolWorld, create_account
from tests.e2e.mailbox import body_of, wait_for_mail
from tests.e2e.test_assignments import class_world
from tests.e2e.test_auth import expect_problem
from tests.support import wait_until


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def inbox_kinds(user: Api) -> dict[str, list[dict]]:
    kinds: dict[str, list[dict]] = {}
    for item in user.get("/inbox")["items"]:
        kinds.setdefault(item["kind"], []).append(item)
    return kinds


def travel_to(time_travel, when: datetime) -> None:  # type: ignore[no-untyped-def]
    time_travel(seconds=(when - datetime.now(UTC)).total_seconds())


def test_a_question_answered_late_reminds_the_team_then_the_school(  # type: ignore[no-untyped-def]
    api: Api, platform: Api, mesh: Mesh, center: Api, school: SchoolWorld, other_school: SchoolWorld, time_travel
) -> None:
    leader, run_id, _, (asker, other), _ = class_world(api, school, 2)
    address = f"dean-{uuid.uuid4().hex[:6]}@school.example"  # a second admin of the school, with an address
    _, dean = create_account(platform, api, role="school_admin", school_id=school.id,
                             username=address.split("@")[0], name="教务处", email=address)
    topics = f"/learning/runs/{run_id}/forum/topics"
    topic = leader.post(topics, {"title": "第一章讨论", "description": "本章的问题在这里提"})
    question = asker.post(f"/learning/forum/topics/{topic['id']}/threads", {
        "kind": "question", "title": "第二题怎么做", "body": "请老师讲一下第二题的思路"})
    due = parse(question["answer_due_at"])
    assert due == working_days_later(parse(question["created_at"]), 2)  # the policy's 2 working days
    assert (question["answered"], question["overdue"]) == (False, False)
    unanswered = f"/learning/runs/{run_id}/forum/threads?unanswered=true"
    assert [t["id"] for t in leader.get(unanswered)["threads"]] == [question["id"]]

    # Past the deadline: the team is reminded (once, however often the sweep runs); the school not yet.
    travel_to(time_travel, due + timedelta(minutes=1))
    wait_until(lambda: "forum_overdue" in inbox_kinds(leader), timeout=20)
    reminder = inbox_kinds(leader)["forum_overdue"]
    assert len(reminder) == 1 and reminder[0]["link"].endswith(question["id"])
    assert leader.get(unanswered)["threads"][0]["overdue"] is True
    assert "forum_overdue" not in inbox_kinds(school.admin)

    # A working day later still unanswered: the school's admins hear of it, and get it by mail too where they can.
    travel_to(time_travel, working_days_later(due, 1) + timedelta(minutes=1))
    wait_until(lambda: "forum_overdue" in inbox_kinds(school.admin), timeout=20)
    assert len(inbox_kinds(leader)["forum_overdue"]) == 1
    mail = wait_for_mail(mesh, address)
    assert question["title"] in str(mail["Subject"]) and question["id"] in body_of(mail)
    unread = school.admin.get("/inbox?unread_only=true")
    assert unread["unread"] >= 1
    escalation = unread["items"][0]
    marked = school.admin.post("/inbox/read", {"ids": [escalation["id"]]})
    assert (marked["marked"], marked["unread"]) == (1, unread["unread"] - 1)
    # each of the school's admins reads it for themselves
    assert escalation["id"] in [i["id"] for i in dean.get("/inbox?unread_only=true")["items"]]
    assert next(i for i in school.admin.get("/inbox")["items"] if i["id"] == escalation["id"])["read"] is True
    assert dean.post("/inbox/read", {})["unread"] == 0
    assert escalation["id"] not in [i["id"] for i in school.admin.get("/inbox?unread_only=true")["items"]]

    # The leader answers: the asker is told; the response time is kept for the course's evaluation.
    leader.post(f"/learning/forum/threads/{question['id']}/replies", {"body": "先画受力图，再列方程。"})
    assert "forum_answer" in inbox_kinds(asker)
    assert "forum_answer" not in inbox_kinds(other)
    assert leader.get(unanswered)["threads"] == []
    stats = leader.get(f"/learning/runs/{run_id}/forum/stats")
    assert (stats["questions"], stats["answered"], stats["answered_on_time"], stats["overdue"]) == (1, 1, 0, 0)
    assert stats["median_first_response_hours"] > 24 and stats["answer_working_days"] == 2
    expect_problem(403, lambda: asker.get(f"/learning/runs/{run_id}/forum/stats"))

    # Refusals: another school's student and another run's leader cannot read or post; a student sets no topic.
    outsider, _, _, (stranger,), _ = class_world(api, other_school, 1)
    expect_problem(403, lambda: stranger.get(topics))
    expect_problem(403, lambda: outsider.post(f"/learning/forum/threads/{question['id']}/replies", {"body": "x"}))
    expect_problem(403, lambda: asker.post(topics, {"title": "学生的版块"}))
    expect_problem(401, lambda: api.get(topics))


def test_discussions_unread_search_moderation_and_the_forum_grade(
    api: Api, center: Api, school: SchoolWorld
) -> None:
    leader, run_id, class_id, (s0, s1, s2), ids = class_world(api, school, 3)
    _, assistant = create_account(school.admin, api, role="teacher", school_id=school.id,
                                  number=f"A{uuid.uuid4().hex[:6]}", name="助教")
    topic = leader.post(f"/learning/runs/{run_id}/forum/topics", {"title": "课程讨论"})
    threads = f"/learning/runs/{run_id}/forum/threads"
    start = f"/learning/forum/topics/{topic['id']}/threads"
    talk = s0.post(start, {"kind": "discussion", "title": "学习心得", "body": "牛顿第二定律的直观理解"})
    assert "answer_due_at" not in talk  # a discussion waits for no answer
    assert [t["unread"] for t in s1.get(threads)["threads"]] == [True]
    assert s1.get(f"/learning/runs/{run_id}/forum/topics")["topics"][0]["unread"] == 1
    reply = s1.post(f"/learning/forum/threads/{talk['id']}/replies", {"body": "我觉得可以用加速度来理解这个问题"})
    assert s1.get(threads)["threads"][0]["unread"] is False  # their own reply
    assert s0.get(threads)["threads"][0]["unread"] is True   # moved since s0 looked
    page = s0.get(f"/learning/forum/threads/{talk['id']}")
    assert [p["body"] for p in page["posts"]] == ["我觉得可以用加速度来理解这个问题"]
    assert s0.get(threads)["threads"][0]["unread"] is False
    assert [t["id"] for t in s2.get(threads + "?q=加速度")["threads"]] == [talk["id"]]  # found by a reply
    assert s2.get(threads + "?q=100%")["threads"] == []  # % is a letter, not a wildcard

    # Blocked words of the province: the center keeps them; a post with one is refused and the refusal kept.
    word = f"禁词{uuid.uuid4().hex[:4]}"
    words = "/learning/provinces/33/blocked-words"
    assert word in center.request("PATCH", words, json={"add": [word]})["words"]
    expect_problem(403, lambda: leader.request("PATCH", words, json={"add": ["x"]}))
    expect_problem(403, lambda: school.admin.get(words))
    refused = expect_problem(400, lambda: s2.post(f"/learning/forum/threads/{talk['id']}/replies",
                                                  {"body": f"这里有{word}"}))
    assert refused["reason"] == "BLOCKED_WORDS" and word in refused["detail"]
    expect_problem(400, lambda: s2.post(start, {"kind": "discussion", "title": word.upper(), "body": "x"}))
    assert s0.get(f"/learning/forum/threads/{talk['id']}")["thread"]["replies"] == 1
    center.request("PATCH", words, json={"remove": [word]})

    # A report; the team hides the reply with a reason (the report settles); students no longer see it.
    s2.post(f"/learning/forum/threads/{talk['id']}/reports", {"post_id": reply["id"], "reason": "与课程无关的广告"})
    reports = leader.get(f"/learning/runs/{run_id}/forum/reports")["reports"]
    assert [(r["post_id"], r["excerpt"][:3]) for r in reports] == [(reply["id"], "我觉得")]
    expect_problem(403, lambda: s2.get(f"/learning/runs/{run_id}/forum/reports"))
    moderation = f"/learning/forum/threads/{talk['id']}/moderation"
    expect_problem(403, lambda: s0.post(moderation, {"post_id": reply["id"], "action": "hide", "reason": "x"}))
    expect_problem(400, lambda: leader.post(moderation, {"post_id": reply["id"], "action": "hide"}))
    leader.post(moderation, {"post_id": reply["id"], "action": "hide", "reason": "广告", "report_id": reports[0]["id"]})
    hidden = s2.get(f"/learning/forum/threads/{talk['id']}")
    assert (hidden["posts"], hidden["thread"]["replies"]) == ([], 0)
    assert leader.get(f"/learning/forum/threads/{talk['id']}")["posts"][0]["hidden"] is True
    assert leader.get(f"/learning/runs/{run_id}/forum/reports")["reports"] == []
    expect_problem(404, lambda: s2.post(f"/learning/forum/threads/{talk['id']}/reports",
                                        {"post_id": reply["id"], "reason": "again"}))
    # A report dismissed; the answer endorsed; all of it in the audit trail.
    answer = s2.post(f"/learning/forum/threads/{talk['id']}/replies", {"body": "加速度与合外力成正比，与质量成反比"})
    report = s1.post(f"/learning/forum/threads/{talk['id']}/reports", {"post_id": answer["id"], "reason": "不对"})
    leader.post(moderation, {"post_id": answer["id"], "action": "dismiss", "reason": "内容正确",
                             "report_id": report["id"]})
    endorse = f"/learning/forum/threads/{talk['id']}/answer"
    expect_problem(403, lambda: s0.request("PUT", endorse, json={"post_id": answer["id"]}))
    leader.request("PUT", endorse, json={"post_id": answer["id"]})
    endorsed = s0.get(f"/learning/forum/threads/{talk['id']}")
    assert [p["endorsed"] for p in endorsed["posts"]] == [True]
    trail = leader.get(f"/learning/runs/{run_id}/forum/audit")["entries"]
    assert [e["action"] for e in reversed(trail)] == ["refuse_blocked", "refuse_blocked", "report", "hide", "report",
                                                      "dismiss", "endorse"]
    assert school.admin.get(f"/learning/runs/{run_id}/forum/audit")["entries"] == trail
    expect_problem(403, lambda: s0.get(f"/learning/runs/{run_id}/forum/audit"))

    # The forum's share of the grade: the leader's rule (40 points for a first post, 60 for 2 substantive replies).
    expect_problem(403, lambda: assistant.request("PUT", f"/learning/runs/{run_id}/forum/rule", json={
        "first_post_points": 40, "replies_needed": 2, "min_reply_chars": 10}))
    expect_problem(400, lambda: leader.request("PUT", f"/learning/runs/{run_id}/forum/rule", json={
        "first_post_points": 40, "replies_needed": 0, "min_reply_chars": 10}))
    assert leader.request("PUT", f"/learning/runs/{run_id}/forum/rule", json={
        "first_post_points": 40, "replies_needed": 2, "min_reply_chars": 10})["graded"] is True
    s1.post(f"/learning/forum/threads/{talk['id']}/replies", {"body": "好"})  # too short to count as substantive
    forum_score = {}
    for student in (s0, s1, s2):
        grades = student.get(f"/learning/runs/{run_id}/grades")
        forum_score[student] = next(i["score"] for i in grades["items"] if i["category"] == "forum")
    # s0 started a thread (40); s1's long reply was hidden, its short one counts as a post (40); s2: 40 + 30.
    assert [forum_score[s] for s in (s0, s1, s2)] == [40, 40, 70]
