"""The student side end to end: my courses, the plan as the class sees it, playing units with grants, progress that
counts only time really watched, completion events emitted once; and who may see what."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from contracts.learning.v1 import learning_pb2
from devmesh.client import Api
from devmesh.mesh import Mesh
from tests.e2e.conftest import SchoolWorld, create_account
from tests.e2e.learning_world import LearningWorld, make_learning_world, watch
from tests.e2e.test_auth import expect_problem
from tests.support import nats_as


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("learning-clips")


@pytest.fixture
def world(api: Api, center: Api, school: SchoolWorld, clips: Path) -> LearningWorld:
    return make_learning_world(api, school, clips, students=2)  # `center`: the term calendar is in place


def learning_events(mesh: Mesh, subject: str) -> list:
    """Every event on the LEARNING stream under `subject`, read back as its producer (nobody else consumes them)."""

    async def read() -> list:
        nc, js = await nats_as(mesh.nats_url, "learning", mesh.nats_credentials()["learning"], api_wait=5)
        try:
            sub = await js.pull_subscribe(subject, stream="LEARNING")
            found = []
            while True:
                try:
                    batch = await sub.fetch(200, timeout=1)
                except Exception:  # noqa: BLE001 - nats.errors.TimeoutError: nothing more
                    break
                for message in batch:
                    event = (learning_pb2.UnitCompleted if subject.startswith("learning.unit") else
                             learning_pb2.RunCompleted).FromString(message.data)
                    found.append(event)
                    await message.ack()
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


def test_a_student_sees_their_course_plays_released_units_and_progress_counts_only_real_watching(
    world: LearningWorld, mesh: Mesh
) -> None:
    student, other = world.students
    run, unit1, unit2, unit3 = world.run_id, *world.units

    # My courses: the run, its class and term, nothing done yet, the first unit next.
    mine = student.get("/me/courses")["items"]
    course = next(c for c in mine if c["run_id"] == run)
    assert course["class_id"] == world.class_id and course["completion"] == 0
    assert course["next_unit_id"] == unit1 and course["total_minutes"] > 0

    # The plan: chapter 2 shows its title but not its video, and cannot be played (the server refuses).
    plan = student.get(f"/learning/runs/{run}/plan")
    nodes = {n["id"]: n for n in plan["nodes"]}
    assert plan["relation"] == "student"
    assert nodes[world.chapters[1]]["released"] is False and nodes[unit3]["resource_id"] == ""
    assert nodes[unit1]["released"] and nodes[unit1]["resource_id"]
    refused = expect_problem(409, lambda: student.post(f"/learning/runs/{run}/units/{unit3}/plays"),
                             "CHAPTER_NOT_RELEASED")
    assert "第二章" in refused["detail"]

    # A play: its grant opens the video at the media service, for this student only.
    play = student.post(f"/learning/runs/{run}/units/{unit1}/plays")
    assert play["counts"] and play["grant"] and play["duration_seconds"] == pytest.approx(4, abs=0.4)
    length = play["duration_seconds"]
    playback = student.get(f"/media/assets/{play['asset_id']}/playback", params={"grant": play["grant"]})
    assert playback["hls_playlists"] and httpx.get(playback["progressive_url"]).status_code == 200
    expect_problem(403, lambda: other.get(f"/media/assets/{play['asset_id']}/playback",
                                          params={"grant": play["grant"]}))
    expect_problem(404, lambda: student.get(f"/media/assets/{play['asset_id']}/playback"))  # no grant: not theirs

    progress = f"/learning/plays/{play['play_id']}/progress"
    # Faster than the clock allows at 2x: refused; skipping ahead: not credited; a hidden page: not credited.
    too_fast = student.post(progress, {"segments": [{"seq": 1, "from_seconds": 0, "to_seconds": length}]})
    assert not too_fast["results"][0]["credited"] and "faster" in too_fast["results"][0]["refusal"]
    time.sleep(1.2)
    skipped = student.post(progress, {"segments": [
        {"seq": 2, "from_seconds": 2, "to_seconds": length, "event": "seek"}]})
    assert not skipped["results"][0]["credited"] and skipped["results"][0]["refusal"].startswith("skipped ahead")
    assert skipped["credited_seconds"] == 0
    hidden = student.post(progress, {"segments": [{"seq": 3, "from_seconds": 0, "to_seconds": 1, "hidden": True}]})
    assert hidden["results"][0]["refusal"] == "the page was hidden"
    # An offline player's batch, in order: credited; the same batch sent again changes nothing.
    time.sleep(1.0)
    batch = {"segments": [{"seq": 4, "from_seconds": 0, "to_seconds": 1}, {"seq": 5, "from_seconds": 1,
                                                                            "to_seconds": 2}]}
    done = student.post(progress, batch)
    assert [r["credited"] for r in done["results"]] == [True, True]
    assert done["credited_seconds"] == pytest.approx(length)  # 0-2 now joins the 2-end seen after the seek
    assert done["unit_completed"]
    again = student.post(progress, batch)
    assert [r["refusal"] for r in again["results"]] == ["already received"] * 2
    assert again["credited_seconds"] == pytest.approx(length)

    # Rewatching adds nothing and the unit completes once; the rest of chapter 1, then chapter 2 once released.
    watch(student, run, unit1)
    receipt = watch(student, run, unit2)
    assert receipt["unit_completed"] and receipt["run_completion"] == pytest.approx(2 / 3, abs=0.01)
    world.leader.post(f"/classes/{world.class_id}/releases", {"chapter_id": world.chapters[1]})
    receipt = watch(student, run, unit3)
    assert receipt["run_completion"] == pytest.approx(1)
    mine = next(c for c in student.get("/me/courses")["items"] if c["run_id"] == run)
    assert mine["completion"] == pytest.approx(1) and mine["next_unit_id"] == ""
    units = {u["unit_id"]: u for u in student.get(f"/learning/runs/{run}/progress")["units"]}
    assert all(u["completed"] for u in units.values())

    unit_events = [e for e in learning_events(mesh, "learning.unit.completed") if e.run_id == run]
    assert sorted(e.unit_id for e in unit_events if e.student_id == world.student_ids[0]) == sorted(world.units)
    run_events = [e for e in learning_events(mesh, "learning.run.completed") if e.run_id == run]
    assert [(e.student_id, e.school_id) for e in run_events] == [(world.student_ids[0], world.school.id)]

    # The team sees the class's progress; a teacher's own plays are not progress.
    table = world.leader.get(f"/learning/classes/{world.class_id}/progress")
    by_id = {s["student_id"]: s for s in table["students"]}
    assert by_id[world.student_ids[0]]["completion"] == pytest.approx(1)
    assert by_id[world.student_ids[1]]["completion"] == 0
    one = world.leader.get(f"/learning/runs/{run}/progress", params={"student_id": world.student_ids[0]})
    assert one["completion"] == pytest.approx(1)
    team_play = world.leader.post(f"/learning/runs/{run}/units/{unit3}/plays")
    assert team_play["counts"] is False


def test_the_wrong_role_school_class_or_no_token_is_refused(
    api: Api, world: LearningWorld, other_school: SchoolWorld
) -> None:
    run, unit1 = world.run_id, world.units[0]
    student, classmate = world.students
    stranger = create_account(other_school.admin, api, role="student", school_id=other_school.id, number="X1",
                              name="外校学生")[1]
    outsider_teacher = create_account(world.school.admin, api, role="teacher", school_id=world.school.id,
                                      number="X2", name="别的老师")[1]
    # No token.
    expect_problem(401, lambda: api.get("/me/courses"))
    expect_problem(401, lambda: api.get(f"/learning/runs/{run}/plan"))
    expect_problem(401, lambda: api.post(f"/learning/runs/{run}/units/{unit1}/plays"))
    # Not enrolled (another school's student), a teacher not on the team, another school's admin.
    for outsider in (stranger, outsider_teacher, other_school.admin):
        with pytest.raises(Exception) as refused:
            outsider.post(f"/learning/runs/{run}/units/{unit1}/plays")
        assert getattr(refused.value, "status", None) in (403, 404)
    # A play session belongs to its student; a classmate cannot report on it or read another's progress.
    play = student.post(f"/learning/runs/{run}/units/{unit1}/plays")
    expect_problem(404, lambda: classmate.post(f"/learning/plays/{play['play_id']}/progress", {"segments": [
        {"seq": 1, "from_seconds": 0, "to_seconds": 1}]}))
    for reader in (classmate, stranger):
        with pytest.raises(Exception) as refused:
            reader.get(f"/learning/runs/{run}/progress", params={"student_id": world.student_ids[0]})
        assert getattr(refused.value, "status", None) in (403, 404)
    # The class's progress is the team's and the school's admins', not a student's or another school's.
    for reader in (student, other_school.admin, outsider_teacher):
        with pytest.raises(Exception) as refused:
            reader.get(f"/learning/classes/{world.class_id}/progress")
        assert getattr(refused.value, "status", None) in (403, 404)
    assert world.school.admin.get(f"/learning/classes/{world.class_id}/progress")["students"]
    # A heartbeat without a token or with a token that is not one (the fast path passes both to the route, or
    # the learning service refuses the token).
    expect_problem(401, lambda: api.post(f"/learning/plays/{play['play_id']}/progress", {"segments": [
        {"seq": 1, "from_seconds": 0, "to_seconds": 1}]}))
    expect_problem(401, lambda: api.as_user("not-a-token").post(f"/learning/plays/{play['play_id']}/progress", {
        "segments": [{"seq": 1, "from_seconds": 0, "to_seconds": 1}]}))
    # Bad input changes nothing.
    expect_problem(400, lambda: student.post(f"/learning/plays/{play['play_id']}/progress",
                                                               {"segments": []}))
    for bad in ({"seq": 0, "from_seconds": 0, "to_seconds": 1}, {"seq": 1, "from_seconds": -1, "to_seconds": 1},
                {"seq": 1, "from_seconds": 0, "to_seconds": 1, "event": "rewind"},
                {"seq": 1, "from_seconds": 0, "to_seconds": 1, "extra": True}):
        expect_problem(400, lambda bad=bad: student.post(f"/learning/plays/{play['play_id']}/progress",
                                                         {"segments": [bad]}))
    expect_problem(400, lambda: student.request("POST", f"/learning/plays/{play['play_id']}/progress",
                                                content=b"{not json", headers={"Content-Type": "application/json"}))
    expect_problem(404, lambda: student.post("/learning/plays/00000000-0000-0000-0000-000000000000/progress",
                                             {"segments": [{"seq": 1, "from_seconds": 0, "to_seconds": 1}]}))
    assert student.get(f"/learning/runs/{run}/progress")["completion"] == 0
