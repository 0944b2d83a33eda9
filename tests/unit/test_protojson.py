"""gateway.protojson.as_json is json_format.MessageToDict (preserving names, printing fields without presence) on
every message of the contracts, filled at random: scalars at their edges, enums known and unknown, oneofs, maps,
repeated and nested messages, well-known types."""

from __future__ import annotations

import importlib
import math
import pkgutil
import random

import pytest
from google.protobuf import (
    any_pb2,
    api_pb2,
    descriptor_pb2,
    descriptor_pool,
    json_format,
    message_factory,
    struct_pb2,
    timestamp_pb2,
    type_pb2,
    wrappers_pb2,
)
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

import contracts
from gateway.protojson import as_json

F = FieldDescriptor


def _messages() -> list[type[Message]]:
    found: dict[str, type[Message]] = {}

    def walk(descriptor: Descriptor, module) -> None:  # type: ignore[no-untyped-def]
        if descriptor.GetOptions().map_entry:
            return
        found.setdefault(descriptor.full_name, _class(module, descriptor))
        for nested in descriptor.nested_types:
            walk(nested, module)

    for info in pkgutil.walk_packages(contracts.__path__, "contracts."):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(info.name)
            for descriptor in module.DESCRIPTOR.message_types_by_name.values():
                walk(descriptor, module)
    return [found[name] for name in sorted(found)]


def _class(module, descriptor: Descriptor) -> type[Message]:  # type: ignore[no-untyped-def]
    path = descriptor.full_name[len(descriptor.file.package) + 1:].split(".")
    cls = getattr(module, path[0])
    for part in path[1:]:
        cls = getattr(cls, part)
    return cls


# Beside the contracts (which declare no enum): protobuf's own messages with open enums (type.proto, proto3) and
# closed ones with every field present or not (descriptor.proto, proto2).
EXTRA = [type_pb2.Type, type_pb2.Field, type_pb2.Enum, api_pb2.Api, descriptor_pb2.FileDescriptorProto,
         descriptor_pb2.FieldDescriptorProto, descriptor_pb2.SourceCodeInfo, struct_pb2.Struct, struct_pb2.Value,
         timestamp_pb2.Timestamp, wrappers_pb2.Int64Value, any_pb2.Any]


def _edges() -> type[Message]:
    """A proto3 message of the kinds neither set declares: float, uint64, fixed, sint, maps keyed by bool and
    int64, an open enum, a proto3 optional."""
    P = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="protojson_edges.proto", package="protojson.test", syntax="proto3")
    kind = file.enum_type.add(name="Kind")
    for number, name in enumerate(["KIND_UNSPECIFIED", "KIND_A", "KIND_B"]):
        kind.value.add(name=name, number=number)
    edges = file.message_type.add(name="Edges")
    scalars = [("f", P.TYPE_FLOAT), ("u64", P.TYPE_UINT64), ("fx", P.TYPE_FIXED64), ("s64", P.TYPE_SINT64),
               ("u32", P.TYPE_UINT32), ("sf32", P.TYPE_SFIXED32), ("raw", P.TYPE_BYTES)]
    for number, (name, kind_) in enumerate(scalars, 1):
        edges.field.add(name=name, number=number, type=kind_, label=P.LABEL_OPTIONAL)
        edges.field.add(name=f"many_{name}", number=number + 20, type=kind_, label=P.LABEL_REPEATED)
    edges.field.add(name="kind", number=40, type=P.TYPE_ENUM, type_name=".protojson.test.Kind")
    edges.field.add(name="kinds", number=41, type=P.TYPE_ENUM, type_name=".protojson.test.Kind",
                    label=P.LABEL_REPEATED)
    edges.oneof_decl.add(name="_maybe")
    edges.field.add(name="maybe", number=42, type=P.TYPE_DOUBLE, oneof_index=0, proto3_optional=True)
    for number, (key, value, type_name) in enumerate([(P.TYPE_BOOL, P.TYPE_STRING, ""),
                                                      (P.TYPE_INT64, P.TYPE_ENUM, ".protojson.test.Kind"),
                                                      (P.TYPE_STRING, P.TYPE_MESSAGE, ".protojson.test.Edges")], 50):
        entry = edges.nested_type.add(name=f"M{number}Entry", options=descriptor_pb2.MessageOptions(map_entry=True))
        entry.field.add(name="key", number=1, type=key, label=P.LABEL_OPTIONAL)
        entry.field.add(name="value", number=2, type=value, label=P.LABEL_OPTIONAL)
        if type_name:
            entry.field[-1].type_name = type_name
        edges.field.add(name=f"m{number}", number=number, type=P.TYPE_MESSAGE, label=P.LABEL_REPEATED,
                        type_name=f".protojson.test.Edges.M{number}Entry")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("protojson.test.Edges"))


MESSAGES = _messages() + EXTRA + [_edges()]


def _value(field: FieldDescriptor, rng: random.Random, message: Message | None, depth: int):  # type: ignore[no-untyped-def]
    cpp = field.cpp_type
    if cpp == F.CPPTYPE_STRING:
        if field.type == F.TYPE_BYTES:
            return rng.randbytes(rng.randint(0, 6))
        return rng.choice(["", "数据结构", "a\"b\\c", "x" * rng.randint(1, 5), "\u00e9\n"])
    if cpp == F.CPPTYPE_BOOL:
        return rng.random() < 0.5
    if cpp == F.CPPTYPE_INT32:
        return rng.choice([0, 1, -1, 2**31 - 1, -2**31, rng.randint(-1000, 1000)])
    if cpp == F.CPPTYPE_UINT32:
        return rng.choice([0, 1, 2**32 - 1, rng.randint(0, 1000)])
    if cpp == F.CPPTYPE_INT64:
        return rng.choice([0, -1, 2**63 - 1, -2**63, rng.randint(-10**12, 10**12)])
    if cpp == F.CPPTYPE_UINT64:
        return rng.choice([0, 2**64 - 1, rng.randint(0, 10**12)])
    if cpp in (F.CPPTYPE_FLOAT, F.CPPTYPE_DOUBLE):
        return rng.choice([0.0, 1.1, -2.5, 0.1, 1e300 if cpp == F.CPPTYPE_DOUBLE else 3.3e38, math.inf, -math.inf,
                           math.nan, rng.uniform(-100, 100)])
    if cpp == F.CPPTYPE_ENUM:
        numbers = list(field.enum_type.values_by_number)
        return rng.choice(numbers + ([] if field.enum_type.is_closed else [max(numbers) + 7]))
    raise AssertionError(cpp)


def _fill(message: Message, rng: random.Random, depth: int = 0) -> None:
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        message.FromSeconds(rng.randint(0, 4_000_000_000))  # type: ignore[attr-defined]
        message.nanos = rng.choice([0, 1_000_000, 1_500, 7])  # type: ignore[attr-defined]
        return
    if name == "google.protobuf.Duration":
        message.seconds, message.nanos = rng.randint(0, 10**6), rng.choice([0, 5_000_000])  # type: ignore[attr-defined]
        return
    if name == "google.protobuf.Value":
        message.string_value = rng.choice(["", "值"])  # type: ignore[attr-defined]
        return
    if name in json_format._WKTJSONMETHODS or json_format._IsWrapperMessage(message.DESCRIPTOR):  # noqa: SLF001
        return  # Struct, Empty, wrappers, Any: their defaults
    for field in message.DESCRIPTOR.fields:
        if field.containing_oneof is not None and rng.random() < 0.5:
            continue
        if rng.random() < 0.2:
            continue  # left at its default
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        if is_map:
            key_field, value_field = (field.message_type.fields_by_name[k] for k in ("key", "value"))
            target = getattr(message, field.name)
            for _ in range(rng.randint(0, 3)):
                key = _value(key_field, rng, None, depth)
                if value_field.cpp_type == F.CPPTYPE_MESSAGE:
                    if depth < 3:
                        _fill(target[key], rng, depth + 1)
                else:
                    target[key] = _value(value_field, rng, None, depth)
        elif field.is_repeated:
            target = getattr(message, field.name)
            for _ in range(rng.randint(0, 3)):
                if field.cpp_type == F.CPPTYPE_MESSAGE:
                    if depth < 3:
                        _fill(target.add(), rng, depth + 1)
                else:
                    target.append(_value(field, rng, None, depth))
        elif field.cpp_type == F.CPPTYPE_MESSAGE:
            if depth < 3:
                sub = getattr(message, field.name)
                sub.SetInParent()
                _fill(sub, rng, depth + 1)
        else:
            setattr(message, field.name, _value(field, rng, message, depth))


def _reference(message: Message):  # type: ignore[no-untyped-def]
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def test_the_contracts_hold_many_kinds_of_message() -> None:
    assert len(MESSAGES) > 300
    kinds = {f.cpp_type for m in MESSAGES for f in m.DESCRIPTOR.fields}
    assert {F.CPPTYPE_STRING, F.CPPTYPE_INT32, F.CPPTYPE_INT64, F.CPPTYPE_UINT64, F.CPPTYPE_FLOAT, F.CPPTYPE_DOUBLE,
            F.CPPTYPE_BOOL, F.CPPTYPE_ENUM, F.CPPTYPE_MESSAGE} <= kinds
    assert any(f.type == F.TYPE_BYTES for m in MESSAGES for f in m.DESCRIPTOR.fields)


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda cls: cls.DESCRIPTOR.full_name)
def test_as_json_is_message_to_dict(cls: type[Message]) -> None:
    rng = random.Random(cls.DESCRIPTOR.full_name)
    assert as_json(cls()) == _reference(cls())  # every field at its default
    for _ in range(25):
        message = cls()
        _fill(message, rng)
        assert as_json(message) == _reference(message)
