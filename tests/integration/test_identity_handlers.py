"""Identity rules that depend on time, run against a real database with a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.identity.v1 import identity_pb2
from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.errors import PermissionDenied, Unauthenticated
from servicekit.migrations import script_location
from services.identity.adapters.signing import TokenSigner
from services.identity.domain.rules import LOCKOUT_DURATION, LOCKOUT_THRESHOLD
from services.identity.service_layer.handlers import IdentityConfig, IdentityHandlers


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
    handlers = IdentityHandlers(db, signer, IdentityConfig(host_province="33"), clock=clock)
    await handlers.ensure_platform_admin("root-admin", "Root-pass-2026")
    yield handlers, clock
    await db.dispose()


async def test_an_account_is_locked_after_repeated_failures_and_unlocks_after_the_lockout(identity) -> None:  # type: ignore[no-untyped-def]
    handlers, clock = identity
    for _ in range(LOCKOUT_THRESHOLD):
        with pytest.raises(Unauthenticated):
            await handlers.login("root-admin", "wrong-pass-1")
    with pytest.raises(PermissionDenied) as locked:
        await handlers.login("root-admin", "Root-pass-2026")
    assert locked.value.reason == "ACCOUNT_LOCKED"
    clock.now += LOCKOUT_DURATION - timedelta(seconds=1)
    with pytest.raises(PermissionDenied):
        await handlers.login("root-admin", "Root-pass-2026")
    clock.now += timedelta(seconds=2)
    tokens = await handlers.login("root-admin", "Root-pass-2026")
    assert tokens.access_token


async def test_an_unanswered_application_becomes_overdue_after_two_working_days(identity) -> None:  # type: ignore[no-untyped-def]
    handlers, clock = identity
    application = await handlers.submit_school_application(
        identity_pb2.SubmitSchoolApplicationRequest(
            school_name="河南测试大学", province_code="41", contact_name="赵主任",
            phone="13900000009", email="a@example.edu.cn", reason="选课",
        )
    )
    # Submitted on Friday 09:00: due on Tuesday 09:00 (the weekend does not count).
    assert application.answer_due_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    admin = Caller(user_id="x", role="platform_admin", school_id=None, province_code=None, name="admin")
    clock.now = datetime(2026, 11, 24, 8, 59, tzinfo=UTC)
    assert (await handlers.list_school_applications(admin, "", True, 50, "")).total == 0
    clock.now = datetime(2026, 11, 24, 9, 1, tzinfo=UTC)
    overdue = await handlers.list_school_applications(admin, "", True, 50, "")
    assert [a.id for a in overdue.items] == [application.id]
    assert handlers.is_overdue(overdue.items[0])
