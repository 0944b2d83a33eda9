"""The inbox end to end: due work reaches the students who have not handed it in, a peer-graded assignment's
reviews reach those who submitted once its deadline passes, each once; unread counts, marking read, and nobody
reads or marks another's messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devmesh.client import Api
from tests.e2e.conftest import SchoolWorld
from tests.e2e.test_assignments import RUBRIC, class_world, iso, submit
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_policies import layer_put
from tests.support import wait_until


def of_kind(user: Api, kind: str, run_id: str) -> list[dict]:
    return [i for i in user.get("/inbox")["items"] if i["kind"] == kind and i["run_id"] == run_id]


def test_due_work_and_reviews_to_do_reach_the_inbox_once(api: Api, center: Api, school: SchoolWorld) -> None:
    layer_put(school.admin, f"/schools/{school.id}/policy/layer", {"peer_reviews_each": 1, "peer_reviews_needed": 1})
    leader, run_id, _, (s0, s1, s2), _ = class_world(api, school, 3)
    deadline = datetime.now(UTC) + timedelta(seconds=8)
    peer = leader.post(f"/learning/runs/{run_id}/assignments", {
        "title": "短文互评", "brief": "x", "grading_mode": "peer", "rubric": RUBRIC, "deadline": iso(deadline)})
    later = leader.post(f"/learning/runs/{run_id}/assignments", {
        "title": "下周的报告", "brief": "x", "grading_mode": "team", "rubric": RUBRIC,
        "deadline": iso(datetime.now(UTC) + timedelta(days=5))})
    submit(s0, peer["id"], "答案零")
    submit(s1, peer["id"], "答案一")
    # Due within a day: the one who has not handed it in hears of it; nothing yet of the assignment due in 5 days.
    wait_until(lambda: of_kind(s2, "assignment_due", run_id), timeout=20)
    assert [i["link"] for i in of_kind(s2, "assignment_due", run_id)] == [
        f"/student/runs/{run_id}/assignments/{peer['id']}"]
    assert of_kind(s0, "assignment_due", run_id) == []
    assert later["id"] not in str(s2.get("/inbox"))
    # The deadline passes: those who submitted are asked to review, once however often the sweep runs.
    wait_until(lambda: of_kind(s0, "reviews_due", run_id) and of_kind(s1, "reviews_due", run_id), timeout=30)
    assert of_kind(s2, "reviews_due", run_id) == []
    wait_until(lambda: datetime.now(UTC) > deadline + timedelta(seconds=3), timeout=20)
    assert len(of_kind(s0, "reviews_due", run_id)) == 1

    # Unread counts and marking read: one's own messages only.
    inbox = s0.get("/inbox")
    assert inbox["unread"] == len([i for i in inbox["items"] if not i["read"]]) >= 1
    own = inbox["items"][0]["id"]
    assert s1.post("/inbox/read", {"ids": [own]})["marked"] == 0  # another's message: nothing marked
    assert s0.get("/inbox")["unread"] == inbox["unread"]
    assert s0.post("/inbox/read", {"ids": [own]})["marked"] == 1
    assert s0.get("/inbox?unread_only=true")["unread"] == inbox["unread"] - 1
    assert s0.post("/inbox/read", {})["unread"] == 0
    assert s0.get("/inbox?unread_only=true")["items"] == []
    expect_problem(401, lambda: api.get("/inbox"))
    expect_problem(400, lambda: s0.post("/inbox/read", {"ids": ["x"] * 501}))
