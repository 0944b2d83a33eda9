"""Wires student evaluation of teaching into the learning service's host (learning.v1 EvaluationService)."""

from __future__ import annotations

from servicekit.consumer import Subscription
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from services.learning.adapters.course import CoursePeer

SERVICE = "learning.v1.EvaluationService"


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer) -> list[Subscription]:
    return []
