"""Review queue rules that owners drive by events: superseding and withdrawing requests."""

from __future__ import annotations

import uuid

import pytest

from contracts.review.v1 import review_pb2
from servicekit.auth import Caller
from servicekit.consumer import EventMeta, PoisonEvent
from servicekit.db import Database
from servicekit.migrations import script_location
from services.review.service_layer.handlers import ReviewHandlers

SCHOOL = str(uuid.uuid4())
ADMIN = Caller(user_id="a1", role="school_admin", school_id=SCHOOL, province_code="33", name="admin")


@pytest.fixture
async def review(database_url):  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("review"))
    yield ReviewHandlers(db), db
    await db.dispose()


def requested(
    subject_id: str, kind: str = "teacher_registration", scope_type: str = "school"
) -> review_pb2.ReviewRequested:
    message = review_pb2.ReviewRequested(
        kind=kind, owner="identity", subject_id=subject_id, title="t",
        scope=review_pb2.Scope(type=scope_type, id=SCHOOL),
    )
    message.snapshot.update({"name": "王老师"})
    return message


async def deliver(db: Database, handler, message) -> None:  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        await handler(session, message, EventMeta(str(uuid.uuid4()), "s", 1, message.owner.upper(), message.owner))


async def test_a_new_request_for_the_same_subject_supersedes_the_waiting_one(review) -> None:  # type: ignore[no-untyped-def]
    handlers, db = review
    subject = str(uuid.uuid4())
    await deliver(db, handlers.queue_requested, requested(subject))
    first = (await handlers.list_items(ADMIN, "", "pending", 50, "")).items
    await deliver(db, handlers.queue_requested, requested(subject))
    pending = (await handlers.list_items(ADMIN, "", "pending", 50, "")).items
    assert len(first) == len(pending) == 1 and first[0].id != pending[0].id
    withdrawn = await handlers.get_item(ADMIN, first[0].id)
    assert withdrawn.state == "withdrawn" and withdrawn.reason == "superseded by a newer request"
    assert [h.action for h in withdrawn.history] == ["queued", "withdrawn"]


async def test_an_owner_withdraws_a_waiting_request(review) -> None:  # type: ignore[no-untyped-def]
    handlers, db = review
    subject = str(uuid.uuid4())
    await deliver(db, handlers.queue_requested, requested(subject))
    await deliver(db, handlers.withdraw, review_pb2.ReviewWithdrawn(
        kind="teacher_registration", owner="identity", subject_id=subject, reason="the teacher cancelled"))
    assert (await handlers.list_items(ADMIN, "", "pending", 50, "")).total == 0
    [item] = (await handlers.list_items(ADMIN, "", "withdrawn", 50, "")).items
    assert item.reason == "the teacher cancelled"


async def test_a_request_of_an_unknown_kind_or_wrong_scope_is_poison(review) -> None:  # type: ignore[no-untyped-def]
    handlers, db = review
    with pytest.raises(PoisonEvent):
        await deliver(db, handlers.queue_requested, requested(str(uuid.uuid4()), kind="nonsense"))
    with pytest.raises(PoisonEvent):
        await deliver(db, handlers.queue_requested, requested(str(uuid.uuid4()), scope_type="platform"))
    assert (await handlers.list_items(ADMIN, "", "pending", 50, "")).total == 0
