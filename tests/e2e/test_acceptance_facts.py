"""A course's completion acceptance facts (结项验收, seed 002 annex 2) through the gateway: what the platform measures
for the panel beside their scores, read by the course's leader and its school's admins only."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import grpc
import pytest

from contracts.learning.v1 import evaluation_pb2, evaluation_pb2_grpc
from contracts.media.v1 import media_pb2, media_pb2_grpc
from devmesh.client import Api
from devmesh.mesh import Mesh
from servicekit.clients import bearer
from servicekit.service_keys import service_metadata
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld, create_account, decide
from tests.e2e.learning_world import make_learning_world
from tests.e2e.media_support import upload, wait_for_state
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_evaluation import days_until
from tests.support import wait_until


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("acceptance-clips")


def test_the_panel_sees_the_measured_facts_of_a_course_and_outsiders_are_refused(
    api: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld, clips: Path
) -> None:
    # Three approved videos of about 4 seconds in the plan, one approved run this term, two students.
    world = make_learning_world(api, school, clips, students=2)
    leader, course_id = world.leader, world.course_id
    leader.request("PATCH", f"/courses/{course_id}", json={"class_hours": 2})
    notes = upload(leader, b"%PDF-1.4\n" + os.urandom(3000), "讲义.pdf", kind="material")
    wait_for_state(leader, notes["id"], "ready")
    decide(school.admin, "media_asset", notes["id"])
    wait_until(lambda: leader.get(f"/media/assets/{notes['id']}")["referenceable"])
    leader.post(f"/courses/{course_id}/materials", {"asset_id": notes["id"], "title": "讲义"})
    # In the learning service: a unit test of chapter 1 and a discussion topic, in the run.
    single = leader.post(f"/learning/runs/{world.run_id}/questions", {
        "kind": "single_choice", "stem": "1+1=?", "chapter_id": world.chapters[0], "options": ["1", "2"],
        "key": {"correct": [1]}})
    leader.post(f"/learning/runs/{world.run_id}/quizzes", {
        "kind": "unit_test", "title": "第一章单元测验", "chapter_id": world.chapters[0],
        "items": [{"question_id": single["id"], "points": 5}]})
    leader.post(f"/learning/runs/{world.run_id}/forum/topics", {"title": "课程讨论"})
    # In the media service: the clips are 1280×720, all uploaded by the leader; one of the three gets subtitles.
    subtitled = next(n["resource_id"] for n in leader.get(f"/courses/{course_id}/plan")["nodes"]
                     if n["kind"] == "unit" and n.get("resource_id"))
    leader.post(f"/media/assets/{subtitled}/subtitles", data={"language": "zh"},
                files={"file": ("subs.srt", "1\n00:00:00,000 --> 00:00:02,000\n同学们好\n".encode())})

    facts = leader.get(f"/courses/{course_id}/acceptance-facts")
    assert facts["course_id"] == course_id
    kinds = {k["kind"]: (k["measured"], k["count"], k["present"]) for k in facts["material_kinds"]}
    assert kinds["videos"] == (True, 3, True)
    assert kinds["materials"] == (True, 1, True)
    # Counted by the learning service over the course's runs.
    assert kinds["unit_tests"] == (True, 1, True) and kinds["discussion_topics"] == (True, 1, True)
    assert kinds["in_video_quizzes"] == kinds["exams"] == kinds["assignments"] == (True, 0, False)
    assert (facts["units"], facts["units_online"], facts["all_online"], facts["videos"]) == (3, 3, True, 3)
    assert 0.1 < facts["video_minutes"] < 0.3
    norms = {n["name"]: n for n in facts["norms"]}
    # Clips of seconds fail the 5–25 minute norm, each of them.
    assert (norms["length"]["measured"], norms["length"]["passed"], norms["length"]["total"]) == (True, 0, 3)
    assert (norms["length"]["share"], norms["length"]["met"]) == (0.0, False)
    # Measured by the media service: every clip is 720p, one of three has subtitles, the leader recorded them all.
    measured = {name: (norms[name]["measured"], norms[name]["passed"], norms[name]["total"], norms[name]["share"],
                       norms[name]["met"]) for name in ("resolution", "subtitles", "leader_share")}
    assert measured == {"resolution": (True, 3, 3, 1.0, True), "subtitles": (True, 1, 3, 0.3333, False),
                        "leader_share": (True, 3, 3, 1.0, True)}, norms
    # 2 class hours need 8 videos of 3–15 minutes; none of these is that long.
    assert (facts["class_hours"], facts["videos_needed"], facts["videos_3_to_15_minutes"]) == (2.0, 8, 0)
    assert (facts["videos_per_class_hour"], facts["videos_per_class_hour_met"]) == (0.0, False)
    assert (facts["run_count"], facts["terms"], facts["students"]) == (1, [CURRENT_TERM["code"]], 2)

    # The school's admin reads the same facts.
    assert school.admin.get(f"/courses/{course_id}/acceptance-facts")["videos"] == 3

    tag = uuid.uuid4().hex[:6]
    colleague_user, colleague = create_account(school.admin, api, role="teacher", school_id=school.id,
                                               number=f"C{tag}", name="同事")
    leader.post(f"/runs/{world.run_id}/team", {"user_id": colleague_user["id"], "permissions": ["manage_classes"]})
    refused = [other_school.admin, colleague, world.students[0]]
    for outsider in refused:
        expect_problem(403, lambda outsider=outsider: outsider.get(f"/courses/{course_id}/acceptance-facts"))
    expect_problem(401, lambda: api.get(f"/courses/{course_id}/acceptance-facts"))
    expect_problem(404, lambda: leader.get(f"/courses/{uuid.uuid4()}/acceptance-facts"))


async def _asset_facts(mesh: Mesh, asset_ids: list[str], metadata: tuple) -> media_pb2.GetAssetFactsResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ports.media}") as channel:
        return await media_pb2_grpc.MediaServiceStub(channel).GetAssetFacts(
            media_pb2.GetAssetFactsRequest(asset_ids=asset_ids), metadata=metadata, timeout=10)


def test_only_the_course_services_key_reads_the_facts_of_videos_from_the_media_service(
    mesh: Mesh, api: Api, center: Api, school: SchoolWorld, clips: Path
) -> None:
    world = make_learning_world(api, school, clips, students=1)
    videos = sorted({n["resource_id"] for n in world.leader.get(f"/courses/{world.course_id}/plan")["nodes"]
                     if n["kind"] == "unit" and n.get("resource_id")})

    def key(service: str) -> str:
        return (mesh.data_dir / "service-keys" / f"{service}.key").read_text().strip()

    def refused(metadata: tuple) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            asyncio.run(_asset_facts(mesh, videos, metadata))
        assert error.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED), (
            error.value.code(), error.value.details())

    for user in (world.leader, school.admin, center):  # a user's token, the videos' owner's included: never
        refused(bearer(user.token))
    refused(service_metadata("learning", key("learning")))  # another service's key
    refused(service_metadata("media", key("course")))  # the course key under another name
    refused(service_metadata("course", "0" * 64))  # a wrong key
    refused(())  # nobody
    reply = asyncio.run(_asset_facts(mesh, [*videos, "no-such-asset"], service_metadata("course", key("course"))))
    assert sorted((f.asset_id, f.height, f.has_subtitles, f.owner_id) for f in reply.facts) == [
        (video, 720, False, world.leader_id) for video in videos]


async def _run_scores(mesh: Mesh, run_ids: list[str], metadata: tuple) -> evaluation_pb2.RunEvaluationScores:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ports.learning}") as channel:
        return await evaluation_pb2_grpc.EvaluationServiceStub(channel).GetRunEvaluationScores(
            evaluation_pb2.GetRunEvaluationScoresRequest(run_ids=run_ids), metadata=metadata, timeout=10)


def test_the_facts_show_the_students_evaluation_read_with_the_course_services_key_only(
    mesh: Mesh, api: Api, center: Api, school: SchoolWorld, clips: Path, time_travel
) -> None:
    world = make_learning_world(api, school, clips, students=2)
    facts = world.leader.get(f"/courses/{world.course_id}/acceptance-facts")
    assert (facts["evaluation_measured"], facts["evaluation_scored"], facts["evaluations"]) == (True, False, [])

    # The term's last two weeks: both students rate the run, one all 4s and one all 5s (80 and 100 of 100).
    time_travel(days=days_until("2027-01-15"))
    for student, rating, comment in zip(world.students, (4, 5), ("讲得太快", ""), strict=True):
        items = student.get(f"/learning/runs/{world.run_id}/evaluation")["questionnaire"]["items"]
        student.post(f"/learning/runs/{world.run_id}/evaluation",
                     {"ratings": [rating] * len(items), "comment": comment})
    facts = world.leader.get(f"/courses/{world.course_id}/acceptance-facts")
    assert (facts["evaluation_measured"], facts["evaluation_scored"], facts["evaluation_score"],
            facts["evaluation_answers"]) == (True, True, 90.0, 2), facts
    [run] = facts["evaluations"]
    assert (run["term_code"], run["run_number"], run["answers"], run["scored"], run["score"], run["closed"]) == (
        CURRENT_TERM["code"], 1, 2, True, 90.0, False)
    assert run["grade_name"]

    # The learning service gives the scores, never the comments, and to the course service's key alone.
    course_key = (mesh.data_dir / "service-keys" / "course.key").read_text().strip()
    reply = asyncio.run(_run_scores(mesh, [world.run_id, "no-such-run"], service_metadata("course", course_key)))
    assert [(r.run_id, r.answers, r.score, list(r.comments)) for r in reply.runs] == [(world.run_id, 2, 90.0, [])]
    for metadata in (bearer(world.leader.token), bearer(school.admin.token), service_metadata("course", "0" * 64),
                     service_metadata("media", course_key), ()):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            asyncio.run(_run_scores(mesh, [world.run_id], metadata))
        assert error.value.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED), (
            error.value.code(), error.value.details())
