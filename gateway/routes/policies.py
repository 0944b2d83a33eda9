"""Policies: the numbers the rules use, platform defaults → province (the center) → school (the school admin),
each layer versioned and effective from a term."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from contracts.course.v1 import course_pb2 as pb
from gateway.openapi_types import Documented, extend, message_model, returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, SignedIn, as_json
from gateway.routing import Router

router = Router(tags=["policies"], dependencies=[NoNulCharacters])
PolicyValue = float | str | None  # a number, a named setting, or null: not counted
PolicyLayerRef = message_model(pb.PolicyLayerRef)


class PolicyNumberAnswer(Documented):
    value: PolicyValue
    meaning: str
    layer: str
    scope_id: str
    version: int
    effective_from_term: str


class EffectivePolicyAnswer(Documented):
    school_id: str
    province_code: str
    term_code: str
    resolved_on: str
    numbers: dict[str, PolicyNumberAnswer]
    layers: list[PolicyLayerRef]  # type: ignore[valid-type]


PolicyVersionAnswer = extend(pb.PolicyLayerVersion, "CoursePolicyLayerVersionByName",
                             "A layer's version, its numbers by name.", numbers=(dict[str, PolicyValue], ...))


class PolicyLayerAnswer(Documented):
    layer: str
    scope_id: str
    version_in_force: int
    versions: list[PolicyVersionAnswer]  # type: ignore[valid-type]


class PolicyLayerBody(BaseModel):
    effective_from_term: str = Field(max_length=20, description="a term of the province's calendar, not over")
    numbers: dict[str, float | str | None] = Field(
        description="the numbers this layer sets (null = not counted, where that means something); the rest come "
                    "from the layers below. Names: minutes_per_credit, min_class_hours_per_credit, "
                    "max_concurrent_online_courses, video_recommended_min_minutes, video_recommended_max_minutes, "
                    "video_max_minutes, video_max_minutes_at_acceptance, videos_per_class_hour_min, "
                    "video_per_class_hour_min_minutes, video_per_class_hour_max_minutes, "
                    "video_complete_slack_seconds (a unit is complete with all but this many seconds watched), "
                    "pass_mark (a course result passes at or above it); and video_spec, a name: "
                    "the video technical spec the school's videos are checked against (default, zhejiang, henan, "
                    "changsha)")
    note: str = Field("", max_length=2000)


def _value(number: pb.PolicyNumber) -> float | str | None:
    return number.text or (None if number.not_counted else number.value)


def _number_json(number: pb.PolicyNumber, with_source: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {"value": _value(number), "meaning": number.meaning}
    if with_source:
        shown.update(layer=number.layer, scope_id=number.scope_id, version=number.version,
                     effective_from_term=number.effective_from_term)
    return shown


def _effective_json(reply: pb.EffectivePolicy) -> dict[str, Any]:
    return {"school_id": reply.school_id, "province_code": reply.province_code, "term_code": reply.term_code,
            "resolved_on": reply.resolved_on,
            "numbers": {n.name: _number_json(n, True) for n in reply.numbers},
            "layers": [as_json(layer) for layer in reply.layers]}


def _version_json(version: pb.PolicyLayerVersion) -> dict[str, Any]:
    shown = as_json(version)
    shown["numbers"] = {n.name: _value(n) for n in version.numbers}
    return shown


def _layer_json(reply: pb.PolicyLayer) -> dict[str, Any]:
    return {"layer": reply.layer, "scope_id": reply.scope_id, "version_in_force": reply.version_in_force,
            "versions": [_version_json(v) for v in reply.versions]}


async def _put(backends, me, layer: str, scope_id: str, body: PolicyLayerBody) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    numbers = [pb.PolicyNumber(name=name, text=value) if isinstance(value, str)
               else pb.PolicyNumber(name=name, not_counted=value is None, value=value or 0.0)
               for name, value in body.numbers.items()]
    reply = await backends.course.PutPolicyLayer(pb.PutPolicyLayerRequest(
        layer=layer, scope_id=scope_id, effective_from_term=body.effective_from_term, numbers=numbers,
        note=body.note), metadata=me.metadata, timeout=TIMEOUT)
    return _version_json(reply)


async def _get(backends, me, layer: str, scope_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    reply = await backends.course.GetPolicyLayer(pb.GetPolicyLayerRequest(layer=layer, scope_id=scope_id),
                                                 metadata=me.metadata, timeout=TIMEOUT)
    return _layer_json(reply)


@router.get("/schools/{school_id}/policy", **returns(EffectivePolicyAnswer))
async def effective_policy(school_id: str, backends: Backends, me: SignedIn, term_code: str = "") -> dict[str, Any]:
    """The policy in force for a school in a term (today's when none is named): every number with the layer
    (platform, province, school) and version it came from. The school's users, its province's center and
    platform admins read it."""
    reply = await backends.course.GetEffectivePolicy(
        pb.GetEffectivePolicyRequest(school_id=school_id, term_code=term_code), metadata=me.metadata,
        timeout=TIMEOUT)
    return _effective_json(reply)


@router.get("/schools/{school_id}/policy/layer", **returns(PolicyLayerAnswer))
async def school_policy_layer(school_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The school's own layer: every version, newest first, and the one in force today."""
    return await _get(backends, me, "school", school_id)


@router.put("/schools/{school_id}/policy/layer", **returns(PolicyVersionAnswer))
async def put_school_policy_layer(school_id: str, body: PolicyLayerBody, backends: Backends,
                                  me: SignedIn) -> dict[str, Any]:
    """The school admin files a new version of the school's layer (older versions stay), effective from a term."""
    return await _put(backends, me, "school", school_id, body)


@router.get("/provinces/{province_code}/policy/layer", **returns(PolicyLayerAnswer))
async def province_policy_layer(province_code: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The province's layer: every version, newest first, and the one in force today."""
    return await _get(backends, me, "province", province_code)


@router.put("/provinces/{province_code}/policy/layer", **returns(PolicyVersionAnswer))
async def put_province_policy_layer(province_code: str, body: PolicyLayerBody, backends: Backends,
                                    me: SignedIn) -> dict[str, Any]:
    """The provincial center files a new version of its province's layer, effective from a term."""
    return await _put(backends, me, "province", province_code, body)
