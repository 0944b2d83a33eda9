"""Calling other services: channels, and the JWKS fetched from the identity service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc

from contracts.identity.v1 import identity_pb2, identity_pb2_grpc
from servicekit import tracing

# gRPC's defaults wait 1 s, then up to 120 s (at least 20 s per attempt) between reconnections:
# a service back after a restart stayed unreachable for ~20 s. Retry at least every second instead;
# a reconnection attempt costs a TCP connect to a peer in the same cluster.
RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 1000),  # also the least time a connection attempt is given
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        address,
        interceptors=tracing.client_interceptors(),  # none while tracing is off
        options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            *RECONNECT_OPTIONS,
        ],
    )


def jwks_from_identity(identity: grpc.aio.Channel) -> Callable[[], Awaitable[str]]:
    stub = identity_pb2_grpc.IdentityServiceStub(identity)

    async def fetch() -> str:
        return (await stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=5)).json

    return fetch


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)
