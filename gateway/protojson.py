"""Protobuf messages as JSON objects: exactly what `json_format.MessageToDict(message,
preserving_proto_field_name=True, always_print_fields_with_no_presence=True)` returns, at a fraction of its cost.

MessageToDict asks the descriptor how to convert every field of every message it meets, each time; a page of 20
sharing entries cost the gateway ~0.8 ms that way (bench.sharing). Here each message type's plan is worked out once:
per field its name, whether it is printed only when present, and how its values convert. The conversions of enum
values and of well-known types (Timestamp, Duration, wrappers, Struct, Any, ...) are json_format's own, so the two
agree by construction; tests/unit/test_protojson.py checks them on every message of the contracts, filled at
random."""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

Convert = Callable[[Any], Any]
# (name, only when present, is a map, is repeated, convert one value)
Field = tuple[str, bool, bool, bool, Convert | None]

_PRINTER = json_format._Printer(preserving_proto_field_name=True,  # noqa: SLF001 - json_format's own conversions
                                always_print_fields_with_no_presence=True)
_PLANS: dict[str, list[Field] | None] = {}
_INT64 = {FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64}


def as_json(message: Message) -> Any:
    """The JSON object (dict, or a string for a Timestamp and the like) of `message`."""
    plan = _PLANS.get(message.DESCRIPTOR.full_name, False)
    if plan is False:
        plan = _plan(message.DESCRIPTOR)
    if plan is None:  # a well-known type: json_format's own form
        return _PRINTER._MessageToJsonObject(message)  # noqa: SLF001
    js: dict[str, Any] = {}
    for name, present_only, is_map, repeated, convert in plan:
        if present_only and not message.HasField(name):
            continue
        value = getattr(message, name)
        if is_map:
            js[name] = {_map_key(key): (item if convert is None else convert(item)) for key, item in value.items()}
        elif repeated:
            js[name] = list(value) if convert is None else [convert(item) for item in value]
        else:
            js[name] = value if convert is None else convert(value)
    return js


def _plan(descriptor: Descriptor) -> list[Field] | None:
    full_name = descriptor.full_name
    if (full_name in json_format._WKTJSONMETHODS or json_format._IsWrapperMessage(descriptor)  # noqa: SLF001
            or descriptor.GetOptions().map_entry):
        _PLANS[full_name] = None
        return None
    plan: list[Field] = []  # nested messages' plans are made when first met (as_json), not here
    for field in descriptor.fields:
        if field.is_extension:
            continue
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        value_field = field.message_type.fields_by_name["value"] if is_map else field
        plan.append((field.name, field.has_presence and not is_map, is_map, field.is_repeated and not is_map,
                     _converter(value_field)))
    _PLANS[full_name] = plan  # published whole: large answers are rendered in worker threads too (json_off_loop)
    return plan


def _converter(field: FieldDescriptor) -> Convert | None:
    """How one value of `field` becomes JSON; None when it is its own JSON (str, bool, int32, ...)."""
    cpp_type = field.cpp_type
    if cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        return as_json
    if cpp_type == FieldDescriptor.CPPTYPE_ENUM:
        known = {number: _PRINTER._FieldToJsonObject(field, number)  # noqa: SLF001
                 for number in field.enum_type.values_by_number}
        if field.enum_type.is_closed:
            return lambda number: known[number] if number in known else _PRINTER._FieldToJsonObject(  # noqa: SLF001
                field, number)
        return lambda number: known.get(number, number)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return lambda value: base64.b64encode(value).decode("utf-8")
    if cpp_type in _INT64:
        return str
    if cpp_type == FieldDescriptor.CPPTYPE_FLOAT:
        return _float
    if cpp_type == FieldDescriptor.CPPTYPE_DOUBLE:
        return lambda value: value if math.isfinite(value) else _special(value)
    return None


def _float(value: float) -> Any:
    return type_checkers.ToShortestFloat(value) if math.isfinite(value) else _special(value)


def _special(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "-Infinity" if value < 0 else "Infinity"


def _map_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)
