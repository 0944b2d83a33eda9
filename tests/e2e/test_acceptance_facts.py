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
from services.course.domain.policy import CHANGSHA_SCHOOL_POLICY
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
    # The school files no policy: the platform defaults judge. Clips of seconds fail the 5–25 minute norm, each.
    assert (facts["policy"], [(layer["layer"], layer["version"]) for layer in facts["policy_layers"]]) == (
        "platform defaults v1", [("platform", 1)])
    assert facts["policy_term_code"] == CURRENT_TERM["code"]
    assert (norms["length"]["measured"], norms["length"]["passed"], norms["length"]["total"]) == (True, 0, 3)
    assert (norms["length"]["share"], norms["length"]["met"], norms["length"]["rule"]) == (
        0.0, False, "5–25 minutes each")
    # Measured by the media service: every clip is 720p, one of three has subtitles, the leader recorded them all.
    measured = {name: (norms[name]["measured"], norms[name]["passed"], norms[name]["total"], norms[name]["share"],
                       norms[name]["met"]) for name in ("resolution", "subtitles", "leader_share")}
    assert measured == {"resolution": (True, 3, 3, 1.0, True), "subtitles": (True, 1, 3, 0.3333, False),
                        "leader_share": (True, 3, 3, 1.0, True)}, norms
    # The platform defaults count no videos per class hour (Changsha's 4 of 3–15 minutes is a school's policy).
    assert (facts["class_hours"], facts["videos_needed"], facts["videos_per_class_hour_counted"]) == (2.0, 0, False)
    assert facts["videos_per_class_hour_met"] is False
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


def test_a_school_that_files_its_own_acceptance_numbers_gets_facts_judged_by_them_and_named(
    api: Api, center: Api, school: SchoolWorld, clips: Path
) -> None:
    world = make_learning_world(api, school, clips, students=1)
    leader, course_id = world.leader, world.course_id
    leader.request("PATCH", f"/courses/{course_id}", json={"class_hours": 2})
    before = leader.get(f"/courses/{course_id}/acceptance-facts")
    norms = {n["name"]: n for n in before["norms"]}
    assert (norms["length"]["met"], norms["resolution"]["met"], before["videos_per_class_hour_counted"]) == (
        False, True, False)

    # The school's own numbers (seed 002's, its acceptance ones changed): clips of 4 s are long enough at
    # acceptance and as a class hour's video, 2 of them per class hour; 1080p at least; the leader records all.
    layer = f"/schools/{school.id}/policy/layer"
    numbers = {**CHANGSHA_SCHOOL_POLICY, "video_min_minutes_at_acceptance": 0.05,
               "video_min_height_at_acceptance": 1080, "leader_video_share_min_percent": 100,
               "videos_per_class_hour_min": 2, "video_per_class_hour_min_minutes": 0.05}
    filed = school.admin.request("PUT", layer, json={"effective_from_term": CURRENT_TERM["code"], "numbers": numbers,
                                                     "note": "验收标准"})
    facts = leader.get(f"/courses/{course_id}/acceptance-facts")
    norms = {n["name"]: n for n in facts["norms"]}
    assert (norms["length"]["passed"], norms["length"]["met"], norms["length"]["rule"]) == (
        3, True, "0.05–25 minutes each")
    assert (norms["resolution"]["passed"], norms["resolution"]["met"], norms["resolution"]["rule"]) == (
        0, False, "at least 1080p each")  # the clips are 720p
    assert (norms["leader_share"]["met"], norms["leader_share"]["rule"]) == (True, "the leader records at least 100%")
    assert (facts["videos_per_class_hour_counted"], facts["videos_needed"], facts["videos_3_to_15_minutes"],
            facts["videos_per_class_hour_met"]) == (True, 4, 3, False)  # 2 class hours × 2, 3 videos fit

    # The answer names the policy and version applied, number by number.
    assert facts["policy"] == (f"platform defaults v1 + school {school.id} v{filed['version']}, "
                               f"from {CURRENT_TERM['code']}")
    assert [(layer["layer"], layer["scope_id"], layer["version"]) for layer in facts["policy_layers"]] == [
        ("platform", "", 1), ("school", school.id, filed["version"])]
    applied = {n["name"]: n for n in facts["policy_numbers"]}
    assert set(applied) == {"video_min_minutes_at_acceptance", "video_max_minutes_at_acceptance",
                            "video_min_height_at_acceptance", "leader_video_share_min_percent",
                            "videos_per_class_hour_min", "video_per_class_hour_min_minutes",
                            "video_per_class_hour_max_minutes"}
    assert (applied["video_min_height_at_acceptance"]["value"], applied["video_min_height_at_acceptance"]["layer"],
            applied["video_min_height_at_acceptance"]["version"]) == (1080, "school", filed["version"])
    assert (applied["video_max_minutes_at_acceptance"]["value"],
            applied["video_max_minutes_at_acceptance"]["effective_from_term"]) == (25, CURRENT_TERM["code"])

    # A second version for the same term replaces the first: the facts follow it and name it.
    again = school.admin.request("PUT", layer, json={
        "effective_from_term": CURRENT_TERM["code"], "numbers": {**numbers, "video_min_height_at_acceptance": 720}})
    facts = leader.get(f"/courses/{course_id}/acceptance-facts")
    assert next(n for n in facts["norms"] if n["name"] == "resolution")["met"] is True
    assert facts["policy_layers"][-1]["version"] == again["version"] == filed["version"] + 1
    assert facts["policy"].endswith(f"school {school.id} v{again['version']}, from {CURRENT_TERM['code']}")


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
