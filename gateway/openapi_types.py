"""The gateway's JSON answers described for its OpenAPI document, derived from the protobuf messages it renders.

Documentation only: the models made here are never used to validate or serialize an answer (routes keep returning
the dicts `as_json` makes), so the schemas cost nothing per request. They mirror `MessageToDict` with
`preserving_proto_field_name=True, always_print_fields_with_no_presence=True` exactly (as `gateway.protojson` does)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.responses import Response

__all__ = ["Documented", "Health", "Int64Text", "Jwks", "UInt64Text", "downloads", "extend", "health_responses",
           "items_of", "message_model", "page_of", "returns"]

# int64 and its kin are strings in proto3 JSON (JavaScript numbers cannot hold them)
Int64Text = Annotated[str, Field(pattern=r"^-?[0-9]+$")]
UInt64Text = Annotated[str, Field(pattern=r"^[0-9]+$")]
UInt32 = Annotated[int, Field(ge=0)]
Base64 = Annotated[str, Field(json_schema_extra={"contentEncoding": "base64"})]
DurationText = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?s$")]
JsonValue = Any

_SCALARS: dict[int, str] = {
    FieldDescriptor.TYPE_INT64: "Int64Text", FieldDescriptor.TYPE_SINT64: "Int64Text",
    FieldDescriptor.TYPE_SFIXED64: "Int64Text", FieldDescriptor.TYPE_UINT64: "UInt64Text",
    FieldDescriptor.TYPE_FIXED64: "UInt64Text",
    FieldDescriptor.TYPE_INT32: "int", FieldDescriptor.TYPE_SINT32: "int", FieldDescriptor.TYPE_SFIXED32: "int",
    FieldDescriptor.TYPE_UINT32: "UInt32", FieldDescriptor.TYPE_FIXED32: "UInt32",
    FieldDescriptor.TYPE_DOUBLE: "float", FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_BOOL: "bool", FieldDescriptor.TYPE_STRING: "str", FieldDescriptor.TYPE_BYTES: "Base64",
}
# the well-known types, as MessageToDict renders them
_WELL_KNOWN: dict[str, str] = {
    "google.protobuf.Timestamp": "datetime",
    "google.protobuf.Duration": "DurationText",
    "google.protobuf.Struct": "dict[str, JsonValue]",
    "google.protobuf.Value": "JsonValue",
    "google.protobuf.ListValue": "list[JsonValue]",
    "google.protobuf.Any": "dict[str, JsonValue]",
    "google.protobuf.Empty": "dict[str, JsonValue]",
    "google.protobuf.FieldMask": "str",
    "google.protobuf.DoubleValue": "float", "google.protobuf.FloatValue": "float",
    "google.protobuf.Int64Value": "Int64Text", "google.protobuf.UInt64Value": "UInt64Text",
    "google.protobuf.Int32Value": "int", "google.protobuf.UInt32Value": "UInt32",
    "google.protobuf.BoolValue": "bool", "google.protobuf.StringValue": "str", "google.protobuf.BytesValue": "Base64",
}

_models: dict[str, type[BaseModel]] = {}  # by the message's full name, or a derived shape's name
_owners: dict[str, str] = {}  # component name -> the full name that has it


def _drop_defaults(schema: dict[str, Any]) -> None:
    """A field that may be absent is simply not required: a `default` would make openapi-typescript type it as
    always present."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


_CONFIG = ConfigDict(json_schema_extra=lambda schema, _: _drop_defaults(schema))


class Documented(BaseModel):
    """The base of the models that document an answer the gateway shapes itself: a field with a default (None) is
    one the answer may leave out."""

    model_config = _CONFIG


def component_name(descriptor: Descriptor) -> str:
    """`course.v1.Plan.Node` -> `CoursePlanNode`: the package without its version, then the message's names."""
    parts = [p for p in descriptor.full_name.split(".") if not re.fullmatch(r"v\d+(alpha\d*|beta\d*)?", p)]
    name = "".join(p[:1].upper() + p[1:] for p in parts)
    if _owners.setdefault(name, descriptor.full_name) != descriptor.full_name:  # same name, another version
        name = "".join(p[:1].upper() + p[1:] for p in descriptor.full_name.split("."))
        _owners.setdefault(name, descriptor.full_name)
    return name


def _descriptor(message: Any) -> Descriptor:
    return message if isinstance(message, Descriptor) else message.DESCRIPTOR


def _value_annotation(field: FieldDescriptor, needed: list[Descriptor]) -> str:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return f"Literal[{', '.join(repr(v.name) for v in field.enum_type.values)}]"
    if field.type in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
        full_name = field.message_type.full_name
        if full_name in _WELL_KNOWN:
            return _WELL_KNOWN[full_name]
        needed.append(field.message_type)
        return component_name(field.message_type)
    return _SCALARS[field.type]


def _is_repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _field(field: FieldDescriptor, needed: list[Descriptor]) -> tuple[str, Any]:
    if _is_repeated(field) and field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
        value = field.message_type.fields_by_name["value"]
        return f"dict[str, {_value_annotation(value, needed)}]", Field(..., alias=field.name)  # keys: JSON strings
    annotation = _value_annotation(field, needed)
    if _is_repeated(field):
        return f"list[{annotation}]", Field(..., alias=field.name)
    if field.has_presence:  # messages, `optional` scalars, oneof members: printed only when set
        return annotation, Field(None, alias=field.name)
    return annotation, Field(..., alias=field.name)


def message_model(message: Any) -> type[BaseModel]:
    """The JSON shape of a protobuf message (a class or a Descriptor), as `as_json` renders it."""
    descriptor = _descriptor(message)
    if descriptor.full_name not in _models:
        made: list[type[BaseModel]] = []
        _define(descriptor, made)
        namespace = {model.__name__: model for model in _models.values()}
        for model in made:
            model.model_rebuild(_types_namespace=namespace)
    return _models[descriptor.full_name]


def _define(descriptor: Descriptor, made: list[type[BaseModel]]) -> None:
    if descriptor.full_name in _models:
        return
    needed: list[Descriptor] = []
    fields = {f"f_{field.name}": _field(field, needed) for field in descriptor.fields}
    model = create_model(component_name(descriptor), __config__=_CONFIG, __module__=__name__,
                         __doc__=f"The protobuf message `{descriptor.full_name}` as JSON.", **fields)
    _models[descriptor.full_name] = model
    made.append(model)
    for dependency in needed:  # after this one is known: recursive messages refer to it by name
        _define(dependency, made)


def _model(shape: Any) -> Any:
    """A message class, or a model (or any type) given as it is."""
    if isinstance(shape, Descriptor) or hasattr(shape, "DESCRIPTOR"):
        return message_model(shape)
    return shape


def _derived(name: str, **fields: Any) -> type[BaseModel]:
    if name not in _models:
        _models[name] = create_model(name, __config__=_CONFIG, __module__=__name__, **fields)
    return _models[name]


def page_of(message: Any) -> type[BaseModel]:
    """{items, next_page_token, total}: what `page_json` makes (and the unpaged lists that answer the same way)."""
    item = _model(message)
    return _derived(f"{item.__name__}Page", items=(list[item], ...),  # type: ignore[valid-type]
                    next_page_token=(str, Field(description="empty on the last page")),
                    total=(int, ...))


def items_of(message: Any) -> type[BaseModel]:
    """{items}: a whole list in one answer."""
    item = _model(message)
    return _derived(f"{item.__name__}Items", items=(list[item], ...))  # type: ignore[valid-type]


def extend(message: Any, name: str, doc: str = "", **fields: Any) -> type[BaseModel]:
    """A message's shape with what the gateway adds to it (or replaces in it): fields as create_model takes them,
    `(annotation, ...)` when always there, `(annotation, None)` when only sometimes."""
    if name not in _models:
        aliased = {f"f_{key}": (annotation, Field(default, alias=key)) for key, (annotation, default) in fields.items()}
        _models[name] = create_model(name, __base__=_model(message), __module__=__name__,
                                     __doc__=doc or None, **aliased)
    return _models[name]


def returns(shape: Any, status: int = 200, description: str = "Successful Response") -> dict[str, Any]:
    """The route decorator's arguments that document its JSON answer, without validating it:
    `@router.get("/x", **returns(pb.X))`. A message class, or a pydantic model for answers the gateway shapes."""
    return {
        "status_code": status,
        "response_model": None,  # no validation or serialization of the returned dict: documentation only
        "responses": {status: {"model": _model(shape), "description": description}},
    }


_ = (datetime, Literal, JsonValue)  # names the string annotations above resolve in this module


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


def downloads(*media_types: str) -> dict[str, Any]:
    """The route decorator's arguments for a file to save (the route returns its own Response)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    content = {media_type: binary for media_type in media_types}
    return {"response_class": Response,
            "responses": {200: {"description": "the file, as an attachment", "content": content}}}


# ---- the answers of the gateway itself ------------------------------------------------------------------------------

class Health(Documented):
    status: Literal["ok", "unavailable"]
    down: list[str] = Field(description="the services (and `nats`) not serving")
    services: dict[str, str] = Field(description="each service's gRPC health status, or the call's error code")
    nats: str


class Jwks(Documented):
    """A JSON Web Key Set (RFC 7517)."""

    keys: list[dict[str, JsonValue]]


def health_responses() -> dict[str, Any]:
    return {"response_model": None, "responses": {200: {"model": Health, "description": "everything serves"},
                                                  503: {"model": Health, "description": "what is down"}}}
