"""Wires the identity service: the only place that knows which implementations run."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from contracts.course.v1 import course_pb2, course_pb2_grpc
from contracts.identity.v1 import identity_pb2_grpc
from contracts.learning.v1 import inbox_pb2
from contracts.review.v1 import review_pb2
from contracts.sharing.v1 import sharing_pb2
from servicekit.auth import TokenVerifier, access_token_ttl, current_token
from servicekit.clients import bearer, channel
from servicekit.config import MeshSettings
from servicekit.consumer import Subscription
from servicekit.grpc_server import CallerInterceptor, ServiceHost
from servicekit.reviews import decided_subject
from servicekit.runtime import Runtime
from services.identity.adapters.mailer import MailRelay, SmtpMailer, SmtpSettings
from services.identity.adapters.orm import inbox, outbox
from services.identity.adapters.signing import TokenSigner
from services.identity.entrypoints.grpc_server import (
    PASSWORD_CHANGE_METHODS,
    PUBLIC_METHODS,
    SERVICE,
    IdentityServicer,
)
from services.identity.service_layer.handlers import OWNER, IdentityConfig, IdentityHandlers
from services.identity.service_layer.housekeeping import Housekeeping
from services.identity.service_layer.inbox_mail import InboxMail

MIGRATIONS = Path(__file__).parent / "migrations"


def captcha_test_mode(mesh: MeshSettings) -> bool:
    """IDENTITY_CAPTCHA_TEST_MODE=1 sends each captcha's answer with it, for the tests of the embedded run."""
    on = os.environ.get("IDENTITY_CAPTCHA_TEST_MODE", "") not in ("", "0", "false")
    if on and not mesh.is_development:
        raise RuntimeError("IDENTITY_CAPTCHA_TEST_MODE gives captchas' answers away: refused outside development")
    return on


def smtp_settings() -> SmtpSettings:
    env = os.environ
    return SmtpSettings(
        host=env.get("SMTP_HOST", ""),
        port=int(env.get("SMTP_PORT", "587")),
        user=env.get("SMTP_USER", ""),
        password=env.get("SMTP_PASSWORD", ""),
        sender=env.get("SMTP_FROM", "no-reply@localhost"),
        starttls=env.get("SMTP_STARTTLS", "true").lower() not in ("0", "false", "no"),
    )


async def build() -> tuple[ServiceHost, Runtime]:
    test_mode = captcha_test_mode(MeshSettings())
    runtime = await Runtime.start("identity", MIGRATIONS, "IDENTITY")
    settings = runtime.settings
    mesh = settings.mesh
    smtp = smtp_settings()
    relay = MailRelay(runtime.db, SmtpMailer(smtp))
    course = channel(mesh.course_addr)
    course_stub = course_pb2_grpc.CourseServiceStub(course)

    async def teaches_student(student_id: str) -> bool:
        """Asks the course service on the caller's behalf (their token goes along)."""
        reply = await course_stub.TeachesStudent(course_pb2.TeachesStudentRequest(student_id=student_id),
                                                 metadata=bearer(current_token()), timeout=10)
        return reply.teaches

    signer = TokenSigner.from_file(
        Path(settings.env("SIGNING_KEY_FILE", str(mesh.data_dir / "identity-signing-key.pem"))),
        issuer=mesh.token_issuer,
        create_if_missing=mesh.is_development,
    )
    public_url = settings.env("PUBLIC_URL", f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}")
    handlers = IdentityHandlers.build(
        runtime.db,
        signer,
        IdentityConfig(
            host_province=mesh.host_province,
            access_token_ttl=access_token_ttl(),  # the one every process's deny list keeps revocations for
            refresh_token_ttl=timedelta(days=int(settings.env("REFRESH_TOKEN_TTL_DAYS", "14"))),
            public_url=public_url,
            captcha_test_mode=test_mode,
        ),
        teaches_student=teaches_student,
        mail_enabled=smtp.configured,
        mail_written=relay.wake,
    )

    admin_username = settings.env("BOOTSTRAP_ADMIN_USERNAME", "")
    if admin_username:
        await handlers.accounts.ensure_platform_admin(admin_username, settings.env("BOOTSTRAP_ADMIN_PASSWORD", ""))

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
                handlers={sharing_pb2.AdoptionAccepted: handlers.grants.grant_roster},
            ),
            Subscription(
                durable="identity-inbox-mail",
                stream="LEARNING",
                filter_subject="learning.inbox.delivered",
                handlers={inbox_pb2.InboxDelivered: InboxMail(public_url, smtp.configured).mail},
            ),
        ],
    )
    if smtp.configured:
        host.workers.append(relay.run)
    host.workers.append(Housekeeping(runtime.db).run)
    host.on_stop.insert(0, handlers.passwords.settle)  # reset links asked for are issued before the stop
    host.on_stop.append(course.close)
    return host, runtime
