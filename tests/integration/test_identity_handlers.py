"""Identity rules that depend on time, run against a real database with a clock the test moves."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from contracts.identity.v1 import identity_pb2
from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.errors import FailedPrecondition, InvalidArgument, PermissionDenied, Unauthenticated
from servicekit.migrations import script_location
from services.identity.adapters.mailer import MailRelay, SmtpMailer, SmtpSettings
from services.identity.adapters.orm import (
    CaptchaChallenge,
    CredentialSheet,
    OutgoingMail,
    PasswordResetToken,
    SignInGuard,
)
from services.identity.adapters.signing import TokenSigner
from services.identity.domain.guards import CAPTCHA_AFTER_FAILURES, CREDENTIAL_SHEET_TTL, PASSWORD_RESET_TTL
from services.identity.domain.rules import LOCKOUT_DURATION, LOCKOUT_THRESHOLD
from services.identity.service_layer.handlers import IdentityConfig, IdentityHandlers
from services.identity.service_layer.handover import queue_mail
from services.identity.service_layer.housekeeping import GUARD_MEMORY, Housekeeping


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def identity(database_url, tmp_path):  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("identity"))
    clock = Clock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))  # a Friday
    signer = TokenSigner.from_file(tmp_path / "key.pem", "test", create_if_missing=True)
    config = IdentityConfig(host_province="33", captcha_test_mode=True)
    handlers = IdentityHandlers.build(db, signer, config, clock=clock)
    await handlers.accounts.ensure_platform_admin("root-admin", "Root-pass-2026")
    yield handlers, clock
    await db.dispose()


async def test_an_account_is_locked_after_repeated_failures_and_unlocks_after_the_lockout(identity) -> None:  # type: ignore[no-untyped-def]
    handlers, clock = identity
    for _ in range(CAPTCHA_AFTER_FAILURES):
        with pytest.raises(Unauthenticated):
            await handlers.sign_in.login("root-admin", "wrong-pass-1")
    for _ in range(LOCKOUT_THRESHOLD - CAPTCHA_AFTER_FAILURES):
        with pytest.raises(FailedPrecondition) as captcha:
            await handlers.sign_in.login("root-admin", "wrong-pass-1")
        assert captcha.value.reason == "CAPTCHA_REQUIRED"
        challenge, png, answer = await handlers.sign_in.new_captcha("root-admin")
        assert png.startswith(b"\x89PNG")
        with pytest.raises(Unauthenticated):
            await handlers.sign_in.login("root-admin", "wrong-pass-1", challenge.id, answer)
    with pytest.raises(PermissionDenied) as locked:
        await handlers.sign_in.login("root-admin", "Root-pass-2026")
    assert locked.value.reason == "ACCOUNT_LOCKED"
    clock.now += LOCKOUT_DURATION - timedelta(seconds=1)
    with pytest.raises(PermissionDenied):
        await handlers.sign_in.login("root-admin", "Root-pass-2026")
    clock.now += timedelta(seconds=2)
    tokens = await handlers.sign_in.login("root-admin", "Root-pass-2026")
    assert tokens.access_token


async def test_an_unanswered_application_becomes_overdue_after_two_working_days(identity) -> None:  # type: ignore[no-untyped-def]
    handlers, clock = identity
    application = await handlers.schools.submit_school_application(
        identity_pb2.SubmitSchoolApplicationRequest(
            school_name="河南测试大学", province_code="41", contact_name="赵主任",
            phone="13900000009", email="a@example.edu.cn", reason="选课",
        )
    )
    # Submitted on Friday 09:00: due on Tuesday 09:00 (the weekend does not count).
    assert application.answer_due_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    admin = Caller(user_id="x", role="platform_admin", school_id=None, province_code=None, name="admin")
    clock.now = datetime(2026, 11, 24, 8, 59, tzinfo=UTC)
    assert (await handlers.schools.list_school_applications(admin, "", True, 50, "")).total == 0
    clock.now = datetime(2026, 11, 24, 9, 1, tzinfo=UTC)
    overdue = await handlers.schools.list_school_applications(admin, "", True, 50, "")
    assert [a.id for a in overdue.items] == [application.id]
    assert handlers.schools.is_overdue(overdue.items[0])


PLATFORM = Caller(user_id="platform-1", role="platform_admin", school_id=None, province_code=None, name="admin")


async def center_admin(handlers, email: str = "") -> tuple:  # type: ignore[no-untyped-def]
    return await handlers.accounts.create_user(PLATFORM, identity_pb2.CreateUserRequest(
        role="center_admin", province_code="33", username=f"center-{uuid.uuid4().hex[:6]}", name="中心",
        email=email))


async def test_a_mailed_reset_link_is_kept_as_a_digest_works_once_and_expires(database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("identity"))
    clock = Clock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    signer = TokenSigner.from_file(tmp_path / "key.pem", "test", create_if_missing=True)
    handlers = IdentityHandlers.build(db, signer, IdentityConfig(host_province="33"), clock=clock, mail_enabled=True)
    user, _, _ = await center_admin(handlers, "reset@example.edu.cn")

    async def mailed_token() -> str:
        await handlers.passwords.settle()  # the links are issued after the answer
        async with db.read() as session:
            mails = list(await session.scalars(select(OutgoingMail).order_by(OutgoingMail.created_at)))
        return re.search(r"token=([\w-]+)", mails[-1].body).group(1)  # type: ignore[union-attr]

    await handlers.passwords.request_reset("RESET@example.edu.cn")
    token = await mailed_token()
    async with db.read() as session:
        stored = list(await session.scalars(select(PasswordResetToken.token_hash)))
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]  # never the token itself
    clock.now += PASSWORD_RESET_TTL + timedelta(seconds=1)
    with pytest.raises(InvalidArgument):
        await handlers.passwords.confirm_reset(token, "Late-pass-2027")
    await handlers.passwords.request_reset("reset@example.edu.cn")
    token = await mailed_token()
    await handlers.passwords.confirm_reset(token, "Fresh-pass-2027")
    assert (await handlers.sign_in.login(user.username, "Fresh-pass-2027")).access_token
    with pytest.raises(InvalidArgument):
        await handlers.passwords.confirm_reset(token, "Again-pass-2027")
    await handlers.passwords.request_reset("nobody@example.edu.cn")  # the same answer: nothing
    await handlers.passwords.settle()
    async with db.read() as session:
        assert len(list(await session.scalars(select(OutgoingMail)))) == 2
    await db.dispose()


async def test_an_unread_credentials_sheet_expires_and_only_its_key_opens_it(identity) -> None:  # type: ignore[no-untyped-def]
    handlers, clock = identity
    _, issued, ticket = await center_admin(handlers)
    creator = PLATFORM
    with pytest.raises(PermissionDenied):
        await handlers.passwords.download_sheet(creator, ticket.id, "A" * 43)
    clock.now += CREDENTIAL_SHEET_TTL
    with pytest.raises(FailedPrecondition) as expired:
        await handlers.passwords.download_sheet(creator, ticket.id, ticket.key)
    assert expired.value.reason == "SHEET_EXPIRED"
    _, _, fresh = await center_admin(handlers)  # making a sheet erases the expired ones
    async with handlers.passwords.db.read() as session:
        old = await session.get(CredentialSheet, ticket.id)
    assert old is not None and old.sealed is None
    assert issued.initial_password  # shown once in the answer, and on the fresh sheet of its own
    assert (await handlers.passwords.download_sheet(creator, fresh.id, fresh.key)).content.startswith(b"PK")


async def test_the_mail_relay_sends_over_smtp_and_retries_while_the_server_is_away(identity) -> None:  # type: ignore[no-untyped-def]
    handlers, clock = identity
    received: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
            received.append(envelope.content)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = handlers.passwords.db
    relay = MailRelay(db, SmtpMailer(SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout=5)))
    async with db.transaction() as session:
        queue_mail(session, "someone@example.edu.cn", "测试 test", "正文 body", clock.now)
    assert await relay.send_due(datetime.now(UTC)) == 0  # nobody listens: kept for later
    async with db.read() as session:
        mail = (await session.scalars(select(OutgoingMail))).one()
    assert (mail.attempts, mail.sent_at, mail.body) == (1, None, "正文 body") and mail.last_error
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await relay.send_due(datetime.now(UTC)) == 0  # not due yet
        assert await relay.send_due(datetime.now(UTC) + timedelta(minutes=1)) == 1
    finally:
        controller.stop()
    assert b"someone@example.edu.cn" in received[0]
    async with db.read() as session:
        mail = (await session.scalars(select(OutgoingMail))).one()
    assert mail.sent_at is not None and mail.body == ""  # nothing readable stays behind


def test_production_refuses_to_start_with_the_captcha_test_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "ENVIRONMENT": "production", "IDENTITY_CAPTCHA_TEST_MODE": "1", "DATA_DIR": str(tmp_path)}
    started = subprocess.run([sys.executable, "-m", "services.identity"], env=env, capture_output=True, text=True,
                             timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert started.returncode != 0
    assert "IDENTITY_CAPTCHA_TEST_MODE gives captchas' answers away" in started.stderr


async def test_housekeeping_forgets_old_failures_but_keeps_recent_ones_and_locks(identity) -> None:  # type: ignore[no-untyped-def]
    handlers, clock = identity
    db = handlers.sign_in.db
    with pytest.raises(Unauthenticated):
        await handlers.sign_in.login("sprayed-name", "wrong-pass-1")
    clock.now += GUARD_MEMORY + timedelta(seconds=1)
    for _ in range(CAPTCHA_AFTER_FAILURES):
        with pytest.raises(Unauthenticated):
            await handlers.sign_in.login("root-admin", "wrong-pass-1")
    for _ in range(LOCKOUT_THRESHOLD - CAPTCHA_AFTER_FAILURES):
        challenge, _, answer = await handlers.sign_in.new_captcha("root-admin")
        with pytest.raises(Unauthenticated):
            await handlers.sign_in.login("root-admin", "wrong-pass-1", challenge.id, answer)
    sweeper = Housekeeping(db, clock)
    await sweeper.sweep()
    async with db.read() as session:
        guards = {key: until for key, until in await session.execute(
            select(SignInGuard.key, SignInGuard.locked_until))}
    assert [k[:5] for k in guards] == ["user:"] and list(guards.values())[0] is not None  # the locked account
    clock.now += GUARD_MEMORY + LOCKOUT_DURATION  # a day after the lock ran out: forgotten too
    await sweeper.sweep()
    async with db.read() as session:
        assert list(await session.scalars(select(SignInGuard.key))) == []
        assert list(await session.scalars(select(CaptchaChallenge.id))) == []
