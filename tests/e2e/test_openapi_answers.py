"""The gateway's real answers match what its OpenAPI document says of them (the web console's types come from it):
every JSON answer of a whole learning world, from school accounts to heartbeats, is validated against the schema of
its operation and status."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from devmesh.client import Api
from devmesh.mesh import Mesh
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld
from tests.e2e.learning_world import make_learning_world


@dataclass
class AnswerChecker:
    """An httpx response hook: each JSON answer below 400 is validated against the document's schema for it."""

    document: dict[str, Any]
    checked: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        templates = []
        for path, operations in self.document["paths"].items():
            pattern = re.sub(r"\{[^}:]+:path\}", ".+", path)
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", pattern)
            templates.append((path.count("{"), path, re.compile(f"^{pattern}$"), operations))
        self.templates = sorted(templates, key=lambda t: t[0])  # literal segments win: /registry/template

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        for _, template, pattern, operations in self.templates:
            if pattern.match(path) and method.lower() in operations:
                return template, operations[method.lower()]
        raise AssertionError(f"{method} {path}: no operation in the OpenAPI document")

    def __call__(self, response: httpx.Response) -> None:
        if response.status_code >= 400 or not response.headers.get("content-type", "").startswith("application/json"):
            return
        if not response.request.url.path.startswith(("/api/v1/", "/healthz", "/.well-known/")):
            return  # storage's presigned URLs
        response.read()
        method = response.request.method
        template, operation = self.operation(method, response.request.url.path)
        name = f"{method} {template} {response.status_code}"
        documented = operation["responses"].get(str(response.status_code), {})
        schema = documented.get("content", {}).get("application/json", {}).get("schema")
        if not schema:
            self.failures.append(f"{name}: not documented")
            return
        validator = jsonschema.Draft202012Validator({**schema, "components": self.document["components"]},
                                                    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(response.json())]
        if errors:
            self.failures.append(f"{name}: {errors[:5]}")
        self.checked.add(name)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openapi-clips")


def test_real_answers_match_their_documented_schemas(mesh: Mesh, api: Api, platform: Api, center: Api,
                                                     school: SchoolWorld, clips: Path) -> None:
    document = httpx.get(f"{mesh.gateway_url}/openapi.json").json()
    checker = AnswerChecker(document)
    http = httpx.Client(base_url=api.base_url, timeout=60, event_hooks={"response": [checker]})
    checked_api = Api(api.base_url, client=http)
    admin = checked_api.as_user(school.admin.token)
    center_checked = checked_api.as_user(center.token)
    platform_checked = checked_api.as_user(platform.token)

    world = make_learning_world(checked_api, SchoolWorld(school.id, school.code, school.name, admin), clips,
                                students=1)
    leader, student, run = world.leader, world.students[0], world.run_id
    assert http.get("/healthz").status_code == 200

    leader.get("/me")
    student.get("/me")
    checked_api.get("/schools", params={"page_size": 5})
    checked_api.get("/provinces")
    admin.get("/users", params={"role": "student"})
    leader.get("/terms")
    leader.get("/categories")
    leader.get("/courses")
    leader.get(f"/courses/{world.course_id}")
    leader.get(f"/courses/{world.course_id}/plan")
    leader.get(f"/courses/{world.course_id}/runs")
    leader.get(f"/runs/{run}/team")
    leader.get(f"/runs/{run}/classes")
    leader.get(f"/classes/{world.class_id}/students")
    leader.get("/media/assets")
    admin.get("/reviews", params={"state": "approved"})
    admin.get(f"/schools/{school.id}/policy")
    admin.get("/statistics/courses")
    center_checked.get("/sharing/lists")
    platform_checked.get("/school-applications")
    student.get("/me/courses")
    student.get(f"/learning/runs/{run}/plan")
    play = student.post(f"/learning/runs/{run}/units/{world.units[0]}/plays")
    student.post(f"/learning/plays/{play['play_id']}/progress",
                 {"segments": [{"seq": 1, "from_seconds": 0, "to_seconds": 0.5, "event": "heartbeat"}]})
    student.get(f"/learning/runs/{run}/progress")
    student.get(f"/learning/runs/{run}/grades")
    leader.get(f"/learning/runs/{run}/grading-scheme")
    leader.get(f"/learning/classes/{world.class_id}/progress")
    leader.get(f"/learning/runs/{run}/quizzes")
    assert CURRENT_TERM["code"]

    assert checker.failures == []
    for expected in ("GET /api/v1/me 200", "GET /api/v1/schools 200", "GET /api/v1/users 200",
                     "POST /api/v1/users 201", "GET /api/v1/terms 200", "POST /api/v1/courses 201",
                     "GET /api/v1/courses/{course_id} 200", "GET /api/v1/courses/{course_id}/plan 200",
                     "POST /api/v1/courses/{course_id}/plan/nodes 201", "GET /api/v1/reviews 200",
                     "POST /api/v1/reviews/{item_id}/decision 200", "GET /api/v1/sharing/lists 200",
                     "GET /api/v1/me/courses 200", "GET /api/v1/learning/runs/{run_id}/plan 200",
                     "POST /api/v1/learning/runs/{run_id}/units/{unit_id}/plays 201",
                     "POST /api/v1/learning/plays/{play_id}/progress 200", "GET /healthz 200",
                     "POST /api/v1/media/uploads 201"):
        assert expected in checker.checked, sorted(checker.checked)


def test_the_checker_catches_a_missing_field_and_a_wrong_type() -> None:
    from gateway.app import create_app

    checker = AnswerChecker(create_app().openapi())
    request = httpx.Request("GET", "http://gateway/api/v1/me")
    me = checker.operation("GET", "/api/v1/me")[1]["responses"]["200"]["content"]["application/json"]["schema"]
    user = checker.document["components"]["schemas"][me["$ref"].rsplit("/", 1)[1]]
    sample = {"string": "x", "integer": 0, "number": 0.5, "boolean": False, "array": [], "object": {}}
    good = {name: sample[user["properties"][name]["type"]] for name in user["required"]}
    checker(httpx.Response(200, json=good, request=request))
    assert checker.failures == [] and checker.checked == {"GET /api/v1/me 200"}
    missing = dict(good)
    del missing[user["required"][0]]
    checker(httpx.Response(200, json=missing, request=request))
    wrong = dict(good) | {next(n for n in user["required"] if user["properties"][n].get("type") == "string"): 3}
    checker(httpx.Response(200, json=wrong, request=request))
    assert len(checker.failures) == 2 and "is a required property" in checker.failures[0]
    assert "is not of type 'string'" in checker.failures[1]
