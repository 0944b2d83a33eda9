"""Public learners' registration against a real database (SQLite and PostgreSQL) with a clock the test moves:
codes expire, run out of tries, are superseded, are mailed at a limited pace; abandoned registrations go."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from servicekit.db import Database
from servicekit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from servicekit.migrations import script_location
from services.identity.adapters.orm import EmailVerification, OutgoingMail, User
from services.identity.adapters.signing import TokenSigner
from services.identity.domain import learners
from services.identity.service_layer.handlers import IdentityConfig, IdentityHandlers
from services.identity.service_layer.housekeeping import Housekeeping

PASSWORD = "Learn-pass-2026"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def world(database_url, tmp_path):  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("identity"))
    clock = Clock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    signer = TokenSigner.from_file(tmp_path / "key.pem", "test", create_if_missing=True)
    handlers = IdentityHandlers.build(db, signer, IdentityConfig(host_province="33"), clock=clock, mail_enabled=True)
    yield handlers, clock, db
    await db.dispose()


async def mailed_codes(db: Database, address: str) -> list[str]:
    async with db.read() as session:
        mails = list(await session.scalars(
            select(OutgoingMail).where(OutgoingMail.recipient == address).order_by(OutgoingMail.created_at)))
    return [re.search(r"Verification code \(POST /api/v1/learners/verify\): (\d{6})", m.body).group(1)  # type: ignore[union-attr]
            for m in mails]


async def count(db: Database, model) -> int:  # type: ignore[no-untyped-def]
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_a_learner_registers_verifies_and_signs_in_by_address(world) -> None:  # type: ignore[no-untyped-def]
    handlers, clock, db = world
    registered = await handlers.learners.register("Li.Hua@Example.com", " 李华 ", PASSWORD)
    user = registered.user
    assert (user.role, user.school_id, user.province_code, user.status) == ("student", None, None, "unverified")
    assert registered.code_expires_at == clock.now + learners.CODE_TTL
    [code] = await mailed_codes(db, "li.hua@example.com")
    async with db.read() as session:
        stored = (await session.scalars(select(EmailVerification))).one()
    assert code not in stored.code_hash and stored.code_hash == learners.code_digest(stored.id, code)
    with pytest.raises(FailedPrecondition) as unverified:
        await handlers.sign_in.login("li.hua@example.com", PASSWORD)
    assert unverified.value.reason == "EMAIL_NOT_VERIFIED"
    assert (await handlers.learners.verify("LI.HUA@example.com", code)).user.status == "active"
    tokens = await handlers.sign_in.login("Li.Hua@Example.com", PASSWORD)
    payload = tokens.access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (claims["role"], claims["school"], claims["province"], claims["name"]) == ("student", "", "", "李华")
    with pytest.raises(FailedPrecondition) as again:
        await handlers.learners.verify("li.hua@example.com", code)
    assert again.value.reason == "ALREADY_VERIFIED"


async def test_a_code_expires_after_thirty_minutes_and_a_new_one_works(world) -> None:  # type: ignore[no-untyped-def]
    handlers, clock, db = world
    await handlers.learners.register("late@example.com", "迟到", PASSWORD)
    [code] = await mailed_codes(db, "late@example.com")
    clock.now += learners.CODE_TTL
    with pytest.raises(FailedPrecondition) as expired:
        await handlers.learners.verify("late@example.com", code)
    assert expired.value.reason == "VERIFICATION_CODE_EXPIRED"
    await handlers.learners.resend_code("late@example.com")  # the dead code does not make it wait
    first, second = await mailed_codes(db, "late@example.com")
    assert first == code
    assert (await handlers.learners.verify("late@example.com", second)).user.status == "active"


async def test_five_wrong_tries_end_a_code_and_a_new_code_ends_the_old(world) -> None:  # type: ignore[no-untyped-def]
    handlers, clock, db = world
    await handlers.learners.register("guess@example.com", "猜", PASSWORD)
    [code] = await mailed_codes(db, "guess@example.com")
    for left in range(learners.MAX_CODE_TRIES - 1, -1, -1):
        with pytest.raises(InvalidArgument) as mistyped:
            await handlers.learners.verify("guess@example.com", wrong(code))
        assert mistyped.value.reason == "VERIFICATION_CODE_WRONG"
        assert (f"{left} tries left" in mistyped.value.message) if left else "last try" in mistyped.value.message
    with pytest.raises(FailedPrecondition) as exhausted:
        await handlers.learners.verify("guess@example.com", code)  # even the right one
    assert exhausted.value.reason == "VERIFICATION_TRIES_EXHAUSTED"
    await handlers.learners.resend_code("guess@example.com")
    clock.now += learners.RESEND_INTERVAL
    await handlers.learners.resend_code("guess@example.com")
    _, superseded, newest = await mailed_codes(db, "guess@example.com")
    if superseded != newest:
        with pytest.raises(InvalidArgument):
            await handlers.learners.verify("guess@example.com", superseded)
    assert (await handlers.learners.verify("guess@example.com", newest)).user.status == "active"


async def test_codes_are_mailed_a_minute_apart_and_five_an_hour(world) -> None:  # type: ignore[no-untyped-def]
    handlers, clock, db = world
    await handlers.learners.register("busy@example.com", "忙", PASSWORD)
    with pytest.raises(FailedPrecondition) as soon:
        await handlers.learners.resend_code("busy@example.com")
    assert soon.value.reason == "VERIFICATION_CODE_RATE_LIMITED"
    for _ in range(learners.CODES_PER_HOUR - 1):
        clock.now += learners.RESEND_INTERVAL
        await handlers.learners.resend_code("busy@example.com")
    clock.now += learners.RESEND_INTERVAL
    with pytest.raises(FailedPrecondition) as hourly:
        await handlers.learners.resend_code("busy@example.com")
    assert "within the hour" in hourly.value.message
    assert len(await mailed_codes(db, "busy@example.com")) == learners.CODES_PER_HOUR
    clock.now += timedelta(hours=1)
    await handlers.learners.resend_code("busy@example.com")
    with pytest.raises(NotFound):
        await handlers.learners.resend_code("nobody@example.com")


async def test_a_taken_address_and_bad_input_change_nothing(world) -> None:  # type: ignore[no-untyped-def]
    handlers, clock, db = world
    await handlers.learners.register("taken@example.com", "先到", PASSWORD)
    users, mails = await count(db, User), await count(db, OutgoingMail)
    for email in ("taken@example.com", " TAKEN@example.com "):
        with pytest.raises(AlreadyExists) as taken:
            await handlers.learners.register(email, "后到", "Other-pass-2026")
        assert taken.value.reason == "EMAIL_TAKEN"
    for email, name, password in (("not-an-address", "某人", PASSWORD), ("ok@example.com", " ", PASSWORD),
                                  ("ok@example.com", "某人", "short1"), ("ok@example.com", "某人", "onlyletters"),
                                  ("ok@example.com", "某人", "ok@example.com1"[:-1])):
        with pytest.raises(InvalidArgument):
            await handlers.learners.register(email, name, password)
    assert (await count(db, User), await count(db, OutgoingMail)) == (users, mails)


async def test_without_a_mail_server_nobody_registers(database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("identity"))
    signer = TokenSigner.from_file(tmp_path / "key.pem", "test", create_if_missing=True)
    handlers = IdentityHandlers.build(db, signer, IdentityConfig(host_province="33"))
    with pytest.raises(FailedPrecondition) as off:
        await handlers.learners.register("mail@example.com", "无邮件", PASSWORD)
    assert off.value.reason == "MAIL_NOT_CONFIGURED"
    assert await count(db, User) == 0
    await db.dispose()


async def test_housekeeping_frees_the_address_of_a_registration_nobody_verified(world) -> None:  # type: ignore[no-untyped-def]
    handlers, clock, db = world
    await handlers.learners.register("squat@example.com", "占位", PASSWORD)
    kept = await handlers.learners.register("kept@example.com", "留下", PASSWORD)
    [code] = await mailed_codes(db, "kept@example.com")
    await handlers.learners.verify("kept@example.com", code)
    sweeper = Housekeeping(db, clock)
    clock.now += learners.UNVERIFIED_KEPT - timedelta(minutes=1)
    await sweeper.sweep()
    with pytest.raises(AlreadyExists):
        await handlers.learners.register("squat@example.com", "真人", PASSWORD)
    clock.now += timedelta(minutes=2)
    await sweeper.sweep()
    assert await count(db, EmailVerification) == 0
    async with db.read() as session:
        assert [u.id for u in await session.scalars(select(User))] == [kept.user.id]
    await handlers.learners.register("squat@example.com", "真人", PASSWORD)
