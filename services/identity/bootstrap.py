"""Wires the identity service: the only place that knows which implementations run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from contracts.identity.v1 import identity_pb2_grpc
from contracts.review.v1 import review_pb2
from contracts.sharing.v1 import sharing_pb2
from servicekit.auth import TokenVerifier
from servicekit.consumer import Subscription
from servicekit.grpc_server import CallerInterceptor, ServiceHost
from servicekit.reviews import decided_subject
from servicekit.runtime import Runtime
from services.identity.adapters.orm import inbox, outbox
from services.identity.adapters.signing import TokenSigner
from services.identity.entrypoints.grpc_server import (
    PASSWORD_CHANGE_METHODS,
    PUBLIC_METHODS,
    SERVICE,
    IdentityServicer,
)
from services.identity.service_layer.handlers import OWNER, IdentityConfig, IdentityHandlers

MIGRATIONS = Path(__file__).parent / "migrations"


async def build() -> tuple[ServiceHost, Runtime]:
    runtime = await Runtime.start("identity", MIGRATIONS, "IDENTITY")
    settings = runtime.settings
    mesh = settings.mesh
    signer = TokenSigner.from_file(
        Path(settings.env("SIGNING_KEY_FILE", str(mesh.data_dir / "identity-signing-key.pem"))),
        issuer=mesh.token_issuer,
        create_if_missing=mesh.is_development,
    )
    handlers = IdentityHandlers(
        runtime.db,
        signer,
        IdentityConfig(
            host_province=mesh.host_province,
            access_token_ttl=timedelta(seconds=int(settings.env("ACCESS_TOKEN_TTL_SECONDS", "900"))),
            refresh_token_ttl=timedelta(days=int(settings.env("REFRESH_TOKEN_TTL_DAYS", "14"))),
        ),
    )

    admin_username = settings.env("BOOTSTRAP_ADMIN_USERNAME", "")
    if admin_username:
        await handlers.ensure_platform_admin(admin_username, settings.env("BOOTSTRAP_ADMIN_PASSWORD", ""))

    async def own_jwks() -> str:
        return signer.jwks_json()

    host = ServiceHost(
        "identity",
        CallerInterceptor(
            TokenVerifier(own_jwks, mesh.token_issuer),
            public_methods=PUBLIC_METHODS,
            password_change_methods=PASSWORD_CHANGE_METHODS,
        ),
    )
    host.add_servicer(identity_pb2_grpc.add_IdentityServiceServicer_to_server, IdentityServicer(handlers), SERVICE)
    runtime.attach(
        host,
        outbox,
        inbox,
        [
            Subscription(
                durable="identity-review-decisions",
                stream="REVIEW",
                filter_subject=decided_subject(OWNER),
                handlers={review_pb2.ReviewDecided: handlers.apply_review_decision},
            ),
            Subscription(
                durable="identity-adoptions",
                stream="SHARING",
                filter_subject="sharing.adoption.accepted",
                handlers={sharing_pb2.AdoptionAccepted: handlers.grant_roster},
            ),
        ],
    )
    return host, runtime
