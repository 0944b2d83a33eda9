"""The school's policy in force, from the course service (`GetEffectivePolicy`): the video spec it follows and the
video durations. Read with the media service's own credential (servicekit.service_keys): a worker's job has no
user behind it, and the course service grants this one read to the media service only."""

from __future__ import annotations

import grpc

from contracts.course.v1 import course_pb2, course_pb2_grpc
from servicekit.errors import Unavailable
from servicekit.service_keys import service_metadata
from services.media.domain import spec

SERVICE = "media"
TIMEOUT = 10.0


class PolicyUnavailable(Unavailable):
    """The course service did not give the school's policy: the check waits for it (a worker's job is retried,
    an API call answered 503)."""


def _describe(level: str, scope_id: str, version: int, effective_from_term: str) -> str:
    where = {"platform": "platform defaults", "province": f"province {scope_id}",
             "school": f"school {scope_id}"}.get(level, f"{level} {scope_id}")
    since = f", from {effective_from_term}" if effective_from_term else ""
    return f"{where} v{version}{since}"


def video_policy(reply: course_pb2.EffectivePolicy) -> spec.VideoPolicy:
    """The policy's video numbers, and which layers and versions gave them (bottom to top, like every policy
    check of the platform: "platform defaults v1 + school 42 v2, from 2026-autumn")."""
    numbers = {number.name: number for number in reply.numbers}
    needed = ("video_spec", "video_recommended_min_minutes", "video_recommended_max_minutes", "video_max_minutes")
    missing = [name for name in needed if name not in numbers]
    if missing:
        raise PolicyUnavailable(f"the course service's policy has no {', '.join(missing)}")
    named = numbers["video_spec"]
    if not named.text:
        raise PolicyUnavailable("the course service's policy names no video spec")
    applied = " + ".join(_describe(layer.layer, layer.scope_id, layer.version, layer.effective_from_term)
                         for layer in reply.layers)
    return spec.VideoPolicy(
        video_spec=named.text,
        recommended_min_minutes=numbers["video_recommended_min_minutes"].value,
        recommended_max_minutes=numbers["video_recommended_max_minutes"].value,
        max_minutes=numbers["video_max_minutes"].value,
        applied=applied,
        spec_source=_describe(named.layer, named.scope_id, named.version, named.effective_from_term),
    )


class CoursePolicies:
    def __init__(self, channel: grpc.aio.Channel, key: str) -> None:
        self.stub = course_pb2_grpc.CourseServiceStub(channel)
        self.metadata = service_metadata(SERVICE, key)

    async def __call__(self, school_id: str) -> spec.VideoPolicy:
        """The policy in force today (term "": today's) for the school."""
        try:
            reply = await self.stub.GetEffectivePolicy(
                course_pb2.GetEffectivePolicyRequest(school_id=school_id, term_code=""),
                metadata=self.metadata, timeout=TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise PolicyUnavailable(f"the course service did not give the school's policy in force "
                                    f"({error.code().name}: {error.details()}); try again later",
                                    reason="POLICY_UNAVAILABLE") from error
        return video_policy(reply)
