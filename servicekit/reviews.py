"""The owner side of the review saga, shared by every service that owns reviewable things.

An owner writes `<owner>.review.requested` in the transaction that creates the subject;
the review service answers with `review.item.decided.<owner>`.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.review.v1 import review_pb2
from servicekit.clock import utcnow
from servicekit.outbox import emit


class ScopeType:
    SCHOOL = "school"
    COLLEGE = "college"  # a school's college (学院); id = the college id; decided by its college admin
    CENTER = "center"  # the provincial course management center; id = province code
    PLATFORM = "platform"


def requested_subject(owner: str) -> str:
    return f"{owner}.review.requested"


def withdrawn_subject(owner: str) -> str:
    return f"{owner}.review.withdrawn"


def decided_subject(owner: str) -> str:
    return f"review.item.decided.{owner}"


async def request_review(
    session: AsyncSession,
    outbox: Table,
    *,
    owner: str,
    kind: str,
    subject_id: str,
    scope_type: str,
    scope_id: str,
    title: str,
    snapshot: dict,
    requested_by: str,
) -> str:
    message = review_requested(owner=owner, kind=kind, subject_id=subject_id, scope_type=scope_type,
                               scope_id=scope_id, title=title, snapshot=snapshot, requested_by=requested_by)
    return await emit(session, outbox, requested_subject(owner), message)


def review_requested(*, owner: str, kind: str, subject_id: str, scope_type: str, scope_id: str, title: str,
                     snapshot: dict, requested_by: str) -> review_pb2.ReviewRequested:
    """The `<owner>.review.requested` event; `request_review` writes one, a bulk import many with `emit_many`."""
    message = review_pb2.ReviewRequested(
        kind=kind,
        owner=owner,
        subject_id=subject_id,
        scope=review_pb2.Scope(type=scope_type, id=scope_id),
        title=title,
        requested_by=requested_by,
    )
    message.snapshot.update(snapshot)
    message.requested_at.FromDatetime(utcnow())
    return message


async def withdraw_review(
    session: AsyncSession, outbox: Table, *, owner: str, kind: str, subject_id: str, reason: str
) -> str:
    message = review_pb2.ReviewWithdrawn(kind=kind, owner=owner, subject_id=subject_id, reason=reason)
    return await emit(session, outbox, withdrawn_subject(owner), message)
