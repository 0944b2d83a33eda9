"""The school report's minutes watched: the course service asks the learning service with its own key for the video
minutes credited to students on each course's runs of the school year; nobody else may ask (seed 002 二(四): the
academic affairs office publishes the courses' utilisation as well as their resource updates)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from contracts.learning.v1 import learning_pb2, learning_pb2_grpc
from devmesh.client import Api
from devmesh.mesh import Mesh
from servicekit.clients import bearer
from servicekit.service_keys import service_metadata
from tests.e2e.conftest import SchoolWorld
from tests.e2e.learning_world import make_learning_world, watch
from tests.e2e.test_center_statistics import csv_table, download
from tests.support import wait_until


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-minutes-clips")


def _key(mesh: Mesh, service: str) -> str:
    return (mesh.data_dir / "service-keys" / f"{service}.key").read_text().strip()


async def _watched(mesh: Mesh, run_ids: list[str], metadata: tuple, method: str = "GetWatchedMinutes"):  # type: ignore[no-untyped-def]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ports.learning}") as channel:
        stub = learning_pb2_grpc.LearningServiceStub(channel)
        if method == "GetWatchedMinutes":
            return await stub.GetWatchedMinutes(learning_pb2.GetWatchedMinutesRequest(run_ids=run_ids),
                                                metadata=metadata, timeout=10)
        return await stub.ListMyCourses(learning_pb2.ListMyCoursesRequest(), metadata=metadata, timeout=10)


def test_the_school_report_counts_the_minutes_students_watched_on_each_courses_runs(
    mesh: Mesh, api: Api, center: Api, school: SchoolWorld, clips: Path
) -> None:
    world = make_learning_world(api, school, clips, students=1)  # `center`: the term calendar is in place
    before = {r["course_id"]: r for r in school.admin.get("/statistics/school-report")["items"]}
    assert before[world.course_id]["minutes_watched"] == "0"

    receipt = watch(world.students[0], world.run_id, world.units[0])
    credited = receipt["credited_seconds"]
    assert credited > 0, receipt

    def minutes() -> float:
        rows = {r["course_id"]: r for r in school.admin.get("/statistics/school-report")["items"]}
        return float(rows[world.course_id]["minutes_watched"] or "nan")

    wait_until(lambda: minutes() > 0)
    assert minutes() == pytest.approx(credited / 60, abs=0.01)
    report = school.admin.get("/statistics/school-report")
    assert "unavailable" not in report["notes"]["minutes_watched"]
    exported = csv_table(download(school.admin, "/statistics/school-report/export", format="csv"))
    column = exported[0].index("观看分钟数")
    row = next(r for r in exported[1:] if world.course_id in r)
    assert float(row[column]) == pytest.approx(credited / 60, abs=0.01)

    # The learning service's answer to the course service, by run (runs nobody watched are left out).
    reply = asyncio.run(_watched(mesh, [world.run_id, "no-such-run"], service_metadata("course", _key(mesh, "course"))))
    assert dict(reply.minutes_by_run) == {world.run_id: pytest.approx(credited / 60)}


def test_only_the_course_services_key_reads_the_minutes_watched(
    mesh: Mesh, api: Api, center: Api, school: SchoolWorld, clips: Path
) -> None:
    world = make_learning_world(api, school, clips, students=1)
    course_key = _key(mesh, "course")

    def refused(codes: tuple[grpc.StatusCode, ...], metadata: tuple, method: str = "GetWatchedMinutes",
                run_ids: list[str] | None = None) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            asyncio.run(_watched(mesh, [world.run_id] if run_ids is None else run_ids, metadata, method))
        assert error.value.code() in codes, (error.value.code(), error.value.details())

    denied = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)
    for user in (school.admin, world.leader, world.students[0], center):  # a user's token: never
        refused(denied, bearer(user.token))
    refused((grpc.StatusCode.UNAUTHENTICATED,), service_metadata("learning", _key(mesh, "learning")))  # not granted
    refused((grpc.StatusCode.UNAUTHENTICATED,), service_metadata("media", _key(mesh, "media")))
    refused((grpc.StatusCode.UNAUTHENTICATED,), service_metadata("media", course_key))  # another service's name
    refused((grpc.StatusCode.UNAUTHENTICATED,), service_metadata("course", "0" * 64))  # a wrong key
    refused((grpc.StatusCode.UNAUTHENTICATED,), ())  # nobody
    # The course service's key opens that one read and nothing else.
    refused((grpc.StatusCode.UNAUTHENTICATED,), service_metadata("course", course_key), "ListMyCourses")
    refused((grpc.StatusCode.INVALID_ARGUMENT,), service_metadata("course", course_key),
            run_ids=[f"run-{n}" for n in range(1001)])
    nobody_watched = asyncio.run(_watched(mesh, [world.run_id], service_metadata("course", course_key)))
    assert dict(nobody_watched.minutes_by_run) == {}
