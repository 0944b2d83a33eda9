"""Wires the learning service's The course forum into its host and translates learning.v1 ForumService requests."""

from __future__ import annotations

from servicekit.consumer import Subscription
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from services.learning.adapters.course import CoursePeer

SERVICE = "learning.v1.ForumService"


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer) -> list[Subscription]:
    return []
