"""Every JSON answer of the gateway is described in its OpenAPI document, as MessageToDict renders the protobuf
messages: the web console's TypeScript client is typed from it."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2

from contracts.learning.v1 import assessments_pb2
from gateway.app import create_app
from gateway.openapi_types import message_model


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]


def _described(schema: dict[str, Any]) -> bool:
    return bool(schema.get("$ref") or schema.get("properties") or schema.get("anyOf") or schema.get("oneOf"))


def test_every_json_answer_has_a_schema(document: dict[str, Any]) -> None:
    undocumented = []
    operations = 0
    for path, operations_by_method in document["paths"].items():
        for method, operation in operations_by_method.items():
            operations += 1
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                content = response.get("content", {})
                if status != "204" and not content:
                    undocumented.append(f"{method.upper()} {path} {status}: no content")
                json_body = content.get("application/json")
                if json_body is not None and not _described(json_body.get("schema", {})):
                    undocumented.append(f"{method.upper()} {path} {status}")
    assert operations > 120
    assert undocumented == []


def test_references_resolve(document: dict[str, Any]) -> None:
    names = set(document["components"]["schemas"])

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    missing = {ref for ref in refs(document) if ref.removeprefix("#/components/schemas/") not in names}
    assert missing == set()


def test_components_are_named_for_the_message_and_its_package(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert {"CourseCourse", "IdentityUser", "CourseTeacherCard", "MediaAsset"} <= set(schemas)
    assert "CourseTeacherCardPage" in schemas  # course.v1.TeacherCard; identity.v1.TeacherCard would not collide
    ok = document["paths"]["/api/v1/courses/{course_id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CourseCourse"}


def test_int64_fields_are_integer_strings(document: dict[str, Any]) -> None:
    size = schema_of(document, "MediaAsset")["properties"]["size_bytes"]  # int64 size_bytes
    assert size["type"] == "string" and size["pattern"] == "^-?[0-9]+$"
    assert schema_of(document, "CourseCourse")["properties"]["run_count"]["type"] == "integer"  # int32


def test_enums_list_their_names() -> None:
    """No message of the mesh has an enum yet: one of protobuf's own shows the rule."""
    kind = message_model(descriptor_pb2.FieldDescriptorProto).model_json_schema(by_alias=True)["properties"]["type"]
    assert kind["type"] == "string"
    assert kind["enum"] == [value.name for value in descriptor_pb2.FieldDescriptorProto.Type.DESCRIPTOR.values]


def test_timestamps_are_date_times_and_messages_optional(document: dict[str, Any]) -> None:
    course = schema_of(document, "CourseCourse")
    assert course["properties"]["updated_at"] == {"type": "string", "format": "date-time", "title": "Updated At"}
    assert "updated_at" not in course["required"]  # a message field: printed only when set
    created = schema_of(document, "IdentityCreatedUserWithSheetUrl")
    assert created["properties"]["user"] == {"$ref": "#/components/schemas/IdentityUser"}
    assert "user" not in created.get("required", [])


def test_repeated_and_map_fields_are_required(document: dict[str, Any]) -> None:
    course = schema_of(document, "CourseCourse")
    assert course["properties"]["materials"]["type"] == "array"
    assert course["properties"]["materials"]["items"] == {"$ref": "#/components/schemas/CourseMaterial"}
    assert course["properties"]["overview"]["additionalProperties"] == {"type": "string"}
    assert {"materials", "overview", "name", "online_credits", "read_only"} <= set(course["required"])
    assert not any("default" in prop for prop in course["properties"].values())


def test_pages_and_item_lists(document: dict[str, Any]) -> None:
    page = schema_of(document, "IdentityUserPage")
    assert page["required"] == ["items", "next_page_token", "total"]
    assert page["properties"]["items"]["items"] == {"$ref": "#/components/schemas/IdentityUser"}
    my_courses = document["paths"]["/api/v1/me/courses"]["get"]["responses"]["200"]["content"]["application/json"]
    items = schema_of(document, my_courses["schema"]["$ref"].rsplit("/", 1)[1])
    assert items["required"] == ["items"]


def test_created_answers_are_documented_under_201(document: dict[str, Any]) -> None:
    responses = document["paths"]["/api/v1/courses"]["post"]["responses"]
    assert "200" not in responses
    assert responses["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CourseCourse"}


def test_documenting_adds_no_validation_to_the_routes() -> None:
    app = create_app()
    documented = [route for route in app.routes if getattr(route, "responses", None)]
    assert documented and all(route.response_model is None for route in documented)  # type: ignore[attr-defined]


def test_optional_scalars_are_not_required() -> None:
    answer = message_model(assessments_pb2.Answer).model_json_schema(by_alias=True)  # optional bool truth
    assert answer["properties"]["truth"] == {"type": "boolean", "title": "Truth"}
    assert "truth" not in answer["required"] and "question_id" in answer["required"]
