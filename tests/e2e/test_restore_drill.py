"""The restore drill: data made through the gateway, an online backup, the data folder destroyed, a restore, and the
same data read back through the gateway, the events consumed again but applied once."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import devmesh.backup
from devmesh.backup import BackupError, backup, restore
from devmesh.client import Api
from devmesh.mesh import SERVICES, Mesh, Ports
from servicekit.messaging import CONSUMERS, PRODUCERS, NatsCredentials, connect
from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, HOST_PROVINCE, backends
from tests.e2e.conftest import CURRENT_TERM, NEXT_TERM, SchoolWorld, create_account, decide, new_code, review_item
from tests.e2e.learning_world import watch
from tests.e2e.test_courses import approved_video
from tests.e2e.test_sharing import list_dates, mooc_run, new_term
from tests.support import POSTGRES_URL, drop_schema, wait_until

ENV = {
    "IDENTITY_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USERNAME,
    "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "HOST_PROVINCE": HOST_PROVINCE,
    "LOG_LEVEL": "INFO",
}


@dataclass
class Run:
    """Where the drill's mesh keeps its data: the folder, and on PostgreSQL each service's schema."""

    data_dir: Path
    schemas: dict[str, str]

    @property
    def env(self) -> dict[str, str]:
        env = dict(ENV)
        for service, schema in self.schemas.items():
            env[f"{service.upper()}_DATABASE_URL"] = POSTGRES_URL
            env[f"{service.upper()}_DATABASE_SCHEMA"] = schema
        return env

    def count(self, service: str, table: str, where: str = "") -> int:
        """Rows of a service's table, read from its database directly."""
        if service not in self.schemas:
            with sqlite3.connect(f"file:{self.data_dir / f'{service}.db'}?mode=ro", uri=True) as connection:
                return connection.execute(f"SELECT COUNT(*) FROM {table} {where}").fetchone()[0]

        async def count() -> int:
            import asyncpg

            connection = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""))
            try:
                return await connection.fetchval(f'SELECT COUNT(*) FROM "{self.schemas[service]}".{table} {where}')
            finally:
                await connection.close()

        return asyncio.run(count())

    def drop_schemas(self) -> None:
        for schema in self.schemas.values():
            asyncio.run(drop_schema(schema))


def started_mesh(run: Run) -> Mesh:
    mesh = Mesh(data_dir=run.data_dir, ports=Ports.free(), extra_env=run.env)
    mesh.start()
    return mesh


def make_world(api: Api, clips: Path) -> dict:
    """A school with a SPOC run (an approved, transcoded video in its plan, a student who watched it) and a MOOC run
    on an approved sharing-list entry: every service's events consumed by another."""
    platform = api.login(ADMIN_USERNAME, ADMIN_PASSWORD)
    center = create_account(platform, api, role="center_admin", province_code="33", username=f"center-{new_code()}",
                            name="课程管理中心")[1]
    for term in (CURRENT_TERM, NEXT_TERM):
        center.post("/terms", term)
    code = new_code()
    school_record = platform.post("/schools", {"code": code, "name": f"演练大学{code}", "province_code": "33"})
    admin = create_account(platform, api, role="school_admin", school_id=school_record["id"],
                           username=f"{code.lower()}-admin", name="教务处")[1]
    school = SchoolWorld(school_record["id"], code, school_record["name"], admin)
    leader = create_account(admin, api, role="teacher", school_id=school.id, number="L1", name="王老师")[1]

    video = approved_video(clips, leader, admin, seconds=4)
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "备份演练课", "category": "专业课"})
    leader.request("PATCH", f"/courses/{course['id']}", json={"online_credits": 0, "total_credits": 2})
    chapter = leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "chapter", "title": "第一章"})
    chapter_id = next(n["id"] for n in chapter["nodes"] if n["kind"] == "chapter")
    leader.post(f"/courses/{course['id']}/plan/nodes", {"kind": "unit", "title": "视频", "parent_id": chapter_id,
                                                         "resource_id": video["id"]})
    run = leader.post(f"/courses/{course['id']}/runs", {"term_code": CURRENT_TERM["code"]})
    leader.post(f"/runs/{run['id']}/publish", {"term_code": CURRENT_TERM["code"]})
    decide(admin, "course_run", run["id"])
    wait_until(lambda: leader.get(f"/runs/{run['id']}")["state"] in ("published", "running"))
    plan = leader.get(f"/courses/{course['id']}/plan", params={"run_id": run["id"]})
    run_chapter = next(n["id"] for n in plan["nodes"] if n["kind"] == "chapter")
    unit = next(n["id"] for n in plan["nodes"] if n["kind"] == "unit")
    course_class = leader.post(f"/runs/{run['id']}/classes", {"name": "演练班"})
    student = create_account(admin, api, role="student", school_id=school.id, number="S1", name="学生")[1]
    assert leader.post(f"/classes/{course_class['id']}/students", {"student_numbers": ["S1"]})["added"] == 1
    leader.post(f"/classes/{course_class['id']}/releases", {"chapter_id": run_chapter})
    assert watch(student, run["id"], unit)["unit_completed"]

    term = new_term(center)
    sharing_list = center.post("/sharing/lists", {"term_code": term, "title": f"{term} 共享清单", **list_dates(term)})
    mooc = mooc_run(center, school, leader, "王老师", "备份演练慕课", term)
    entry = admin.post(f"/sharing/lists/{sharing_list['id']}/entries", {"run_id": mooc["run"]["id"]})
    admin.post(f"/sharing/lists/{sharing_list['id']}/submit")
    decide(center, "sharing_entry", entry["id"])
    wait_until(lambda: center.get(f"/sharing/entries/{entry['id']}")["state"] == "approved")
    return {"tokens": {"center": center.token, "admin": admin.token, "leader": leader.token,
                       "student": student.token},
            "video": video["id"], "course": course["id"], "run": run["id"], "unit": unit, "entry": entry["id"],
            "list": sharing_list["id"]}


def as_users(base_url: str, world: dict) -> dict[str, Api]:
    """The same accounts on another gateway: their tokens from before the backup (the signing key came back too)."""
    api = Api(base_url)
    return {who: api.as_user(token) for who, token in world["tokens"].items()}


def observe(base_url: str, world: dict) -> dict:
    """What the accounts read through the gateway; the review queues and the states there come from consumed events."""
    users = as_users(base_url, world)
    center, admin, leader, student = (users[w] for w in ("center", "admin", "leader", "student"))
    asset = leader.get(f"/media/assets/{world['video']}")
    playback = admin.get(f"/media/assets/{world['video']}/playback")
    video = httpx.get(playback["progressive_url"], timeout=30)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    mine = next(c for c in student.get("/me/courses")["items"] if c["run_id"] == world["run"])
    return {
        "asset": (asset["state"], asset["referenceable"], asset["review_state"], asset["renditions"]),
        "video_sha256": hashlib.sha256(video.content).hexdigest(),
        "reviews_school": review_queue(admin),
        "reviews_center": review_queue(center),
        "run": leader.get(f"/runs/{world['run']}")["state"],
        "runs": sorted(r["id"] for r in leader.get(f"/courses/{world['course']}/runs")["items"]),
        "entry": center.get(f"/sharing/entries/{world['entry']}")["state"],
        "entries": [e["id"] for e in center.get(f"/sharing/lists/{world['list']}/entries")["items"]],
        "completion": mine["completion"],
        "units": student.get(f"/learning/runs/{world['run']}/progress")["units"],
    }


def review_queue(admin: Api) -> list[tuple[str, str, str, str]]:
    """Every review item of the admin's scope, decided or not: each one made from a consumed `*.review_requested`."""
    return sorted((i["id"], i["kind"], i["subject_id"], i["state"]) for state in ("pending", "approved", "rejected")
                  for i in admin.get("/reviews", params={"state": state, "page_size": 200})["items"])


def processed_events(run: Run) -> dict[str, int]:
    """Each service's inbox: how many events it has applied."""
    return {name: run.count(name, "processed_events") for name in SERVICES}


async def consumer_positions(mesh: Mesh) -> dict[str, tuple[int, int, int, datetime]]:
    """Each durable consumer's (last stream sequence delivered, messages not yet delivered, deliveries not yet
    acknowledged, when it was created), read as its owner."""
    credentials = mesh.nats_credentials()
    positions = {}
    for user, reads in CONSUMERS.items():
        durables = [r for r in reads if r.durable]
        if not durables:
            continue
        nc = await connect(mesh.nats_url, f"drill-{user}", credentials=NatsCredentials(user, credentials[user]))
        try:
            js = nc.jetstream()
            for read in durables:
                info = await js.consumer_info(read.stream, read.durable)
                positions[read.durable] = (info.delivered.stream_seq, info.num_pending, info.num_ack_pending,
                                           info.created)
        finally:
            await nc.close()
    return positions


def caught_up(mesh: Mesh) -> dict | None:
    """The consumers' positions once every one has delivered and seen acknowledged all it matches; else None."""
    try:
        positions = asyncio.run(consumer_positions(mesh))
    except Exception:  # a consumer not (re-)created yet
        return None
    done = all(not pending and not unacked for _, pending, unacked, _ in positions.values())
    return positions if done and len(positions) == sum(1 for r in CONSUMERS.values() for x in r if x.durable) \
        else None


def submit_run_between_copies(mesh: Mesh, world: dict, run: Run) -> str:
    """A run submitted for review; returns once the review service queued it and every outbox row is relayed."""
    users = as_users(mesh.gateway_url, world)
    leader, admin = users["leader"], users["admin"]
    new_run = leader.post(f"/courses/{world['course']}/runs", {"term_code": NEXT_TERM["code"]})
    leader.post(f"/runs/{new_run['id']}/publish", {"term_code": NEXT_TERM["code"]})
    review_item(admin, "course_run", new_run["id"])
    wait_until(lambda: caught_up(mesh), timeout=60)
    wait_until(lambda: not any(run.count(name, "outbox_events", "WHERE published_at IS NULL") for name in SERVICES))
    return new_run["id"]


@pytest.mark.parametrize("backend", backends())
def test_a_backup_taken_while_the_mesh_runs_restores_the_same_data_and_applies_no_event_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    data_dir = tmp_path / "data"
    tag = uuid.uuid4().hex[:8]
    run = Run(data_dir, {name: f"drill{tag}_{name}" for name in SERVICES} if backend == "postgresql" else {})
    try:
        drill(run, tmp_path, monkeypatch)
    finally:
        run.drop_schemas()


def drill(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = run.data_dir
    clips = tmp_path / "clips"
    clips.mkdir()
    archive = tmp_path / "backups" / "drill.tar.gz"
    started = time.monotonic()

    mesh = started_mesh(run)
    try:
        world = make_world(Api(mesh.gateway_url), clips)
        wait_until(lambda: caught_up(mesh), timeout=60)
        # While the backup runs, after it read the streams and before it copies the databases, a teacher submits a
        # new run: its events are relayed and consumed, so the databases know them and the backed-up stream does not.
        late: list[str] = []
        write_streams = devmesh.backup.write_streams

        def write_then_act(*args: Any) -> dict[str, int]:
            written = write_streams(*args)
            late.append(submit_run_between_copies(mesh, world, run))
            return written

        monkeypatch.setattr(devmesh.backup, "write_streams", write_then_act)
        manifest = backup(data_dir, archive, ports=mesh.ports, env=run.env)  # online: the mesh keeps running
        positions_before = wait_until(lambda: caught_up(mesh), timeout=60)
        before = observe(mesh.gateway_url, world)
        with pytest.raises(BackupError, match="a mesh runs on"):
            restore(archive, data_dir, force=True, env=run.env)
    finally:
        mesh.stop()
    assert manifest["online"] is True
    assert manifest["buckets"] and sum(b["objects"] for b in manifest["buckets"].values()) >= 3  # source, 720p, poster
    assert set(manifest["streams"]) == set(PRODUCERS.values()) and all(manifest["streams"].values())
    assert {item[1] for item in before["reviews_school"]} == {"media_asset", "course_run"}
    assert {item[1] for item in before["reviews_center"]} == {"registry_entry", "sharing_entry"}
    applied_before = {name: manifest["databases"][name]["rows"]["processed_events"] for name in SERVICES}
    assert applied_before == processed_events(run)
    with pytest.raises(BackupError, match="not empty"):
        restore(archive, data_dir, env=run.env)

    shutil.rmtree(data_dir)  # the disaster
    if run.schemas:
        with pytest.raises(BackupError, match="hold tables"):
            restore(archive, data_dir, env=run.env)
        assert not data_dir.exists()
        run.drop_schemas()
    course_db = "databases/course.pgdump" if run.schemas else "databases/course.db"
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name == course_db:
                data = data[:-10] + b"0123456789"  # type: ignore[index]
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    with pytest.raises(BackupError, match=f"{course_db} does not match its checksum"):
        restore(damaged, data_dir, env=run.env)
    assert not data_dir.exists()  # refused before anything was made
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError, match="not a readable backup archive"):
        restore(truncated, data_dir, env=run.env)
    assert not data_dir.exists()

    restored_at = datetime.now(UTC)
    report = restore(archive, data_dir, env=run.env)
    assert report.republished["course"] >= 1  # the late run's events, which the backed-up stream lacks
    assert report.streams == manifest["streams"] and report.buckets == {
        bucket: summary["objects"] for bucket, summary in manifest["buckets"].items()}
    assert not list(tmp_path.glob(".data.restoring-*"))  # the scratch folder is gone

    mesh = started_mesh(run)  # other ports: nothing in the data depends on them
    try:
        # Every durable consumer is made anew (the restore brings none back) and reads its stream from the start ...
        positions_after = wait_until(lambda: caught_up(mesh), timeout=90)
        assert {d: p[0] for d, p in positions_after.items()} == {d: p[0] for d, p in positions_before.items()}
        assert all(p[3] > restored_at for p in positions_after.values())
        after = observe(mesh.gateway_url, world)
        assert after == before
        # ... and its inbox skipped every event it had applied: not one was recorded (applied) again.
        assert processed_events(run) == applied_before

        # The late run's events went out again and were skipped as applied (the queue above did not grow); a new
        # action after the restore flows end to end: the decision reaches the course service, which publishes the run.
        users = as_users(mesh.gateway_url, world)
        leader, admin = users["leader"], users["admin"]
        assert ("course_run", late[0], "pending") in {item[1:] for item in before["reviews_school"]}
        decide(admin, "course_run", late[0])
        wait_until(lambda: leader.get(f"/runs/{late[0]}")["state"] in ("published", "running"))
        queue = review_queue(admin)
        assert len(queue) == len(before["reviews_school"])
        assert ("course_run", late[0], "approved") in {item[1:] for item in queue}
        assert json.dumps(observe(mesh.gateway_url, world)["entries"]) == json.dumps(before["entries"])
    finally:
        mesh.stop()
    print(f"restore drill: {time.monotonic() - started:.0f}s, backup {manifest['seconds']}s, "
          f"restore {report.seconds}s")
