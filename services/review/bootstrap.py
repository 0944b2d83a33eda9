"""Wires the review service."""

from __future__ import annotations

from pathlib import Path

from contracts.identity.v1 import identity_pb2, identity_pb2_grpc
from contracts.review.v1 import review_pb2, review_pb2_grpc
from servicekit.auth import TokenVerifier, current_token
from servicekit.clients import bearer, channel, jwks_from_identity
from servicekit.consumer import Subscription
from servicekit.grpc_server import CallerInterceptor, ServiceHost
from servicekit.reviews import requested_subject, withdrawn_subject
from servicekit.runtime import Runtime
from services.review.adapters.orm import inbox, outbox
from services.review.entrypoints.grpc_server import SERVICE, ReviewServicer
from services.review.service_layer.handlers import ReviewHandlers
from services.review.service_layer.panels import PanelHandlers

MIGRATIONS = Path(__file__).parent / "migrations"

# The services whose subjects are reviewed, by their event stream.
OWNERS = {"identity": "IDENTITY", "media": "MEDIA", "course": "COURSE", "sharing": "SHARING"}


async def build() -> tuple[ServiceHost, Runtime]:
    runtime = await Runtime.start("review", MIGRATIONS, "REVIEW")
    mesh = runtime.settings.mesh
    handlers = ReviewHandlers(runtime.db)
    identity = channel(mesh.identity_addr)
    identity_stub = identity_pb2_grpc.IdentityServiceStub(identity)

    async def find_teachers(query: str) -> list[identity_pb2.TeacherCard]:
        """Panel experts: teachers of any school, looked up on the admin's behalf (their token goes along)."""
        reply = await identity_stub.FindTeachers(identity_pb2.FindTeachersRequest(query=query),
                                                 metadata=bearer(current_token()), timeout=30)
        return list(reply.teachers)

    host = ServiceHost(
        "review", CallerInterceptor(TokenVerifier(jwks_from_identity(identity), mesh.token_issuer))
    )
    host.add_servicer(review_pb2_grpc.add_ReviewServiceServicer_to_server,
                      ReviewServicer(handlers, PanelHandlers(runtime.db, find_teachers)), SERVICE)
    subscriptions = []
    for owner, stream in OWNERS.items():
        subscriptions += [
            Subscription(
                durable=f"review-{owner}-requests",
                stream=stream,
                filter_subject=requested_subject(owner),
                handlers={review_pb2.ReviewRequested: handlers.queue_requested},
            ),
            Subscription(
                durable=f"review-{owner}-withdrawals",
                stream=stream,
                filter_subject=withdrawn_subject(owner),
                handlers={review_pb2.ReviewWithdrawn: handlers.withdraw},
            ),
        ]
    runtime.attach(host, outbox, inbox, subscriptions)
    host.on_stop.append(identity.close)
    return host, runtime
