"""Review use cases: queue what owners ask for, show each admin their scope, record decisions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.json_format import MessageToDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.review.v1 import review_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.consumer import EventMeta, PoisonEvent
from servicekit.db import Database
from servicekit.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from servicekit.outbox import emit
from servicekit.pagination import fetch_page
from servicekit.reviews import decided_subject
from services.review.adapters.orm import AuditEntry, ReviewItem, Round, RoundItem, outbox
from services.review.domain import panels, rules
from services.review.domain.rules import State
from services.review.service_layer.panels import latest_panels

# The expert panel an item went before, if any: (round, the item's result there).
Panels = dict[str, tuple[Round, RoundItem]]


@dataclass(frozen=True)
class Page:
    items: list[ReviewItem]
    next_page_token: str
    total: int
    panels: Panels


class ReviewHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    # ---- events from owners -----------------------------------------------------------

    async def queue_requested(
        self, session: AsyncSession, requested: review_pb2.ReviewRequested, meta: EventMeta
    ) -> None:
        _check_sender(requested.owner, meta)
        try:
            rules.check_requested(requested.kind, requested.scope.type, requested.scope.id)
        except DomainError as error:
            raise PoisonEvent(error.message) from error
        now = self.clock()
        # A new request for the same subject supersedes the one still waiting.
        for earlier in await self._pending_for(session, requested.owner, requested.kind, requested.subject_id):
            self._close(earlier, State.WITHDRAWN, "superseded by a newer request", "", "", now)
        item = ReviewItem(
            kind=requested.kind,
            owner=requested.owner,
            subject_id=requested.subject_id,
            scope_type=requested.scope.type,
            scope_id=requested.scope.id,
            title=requested.title[:300],
            snapshot_json=json.dumps(MessageToDict(requested.snapshot), ensure_ascii=False),
            state=State.PENDING,
            requested_by=requested.requested_by,
            requested_at=requested.requested_at.ToDatetime(tzinfo=UTC) if requested.requested_at.seconds else now,
            history=[AuditEntry(action="queued", actor_id=requested.requested_by, at=now)],
        )
        session.add(item)

    async def withdraw(self, session: AsyncSession, withdrawn: review_pb2.ReviewWithdrawn, meta: EventMeta) -> None:
        _check_sender(withdrawn.owner, meta)
        for item in await self._pending_for(session, withdrawn.owner, withdrawn.kind, withdrawn.subject_id):
            self._close(item, State.WITHDRAWN, withdrawn.reason, "", "", self.clock())

    @staticmethod
    async def _pending_for(session: AsyncSession, owner: str, kind: str, subject_id: str) -> list[ReviewItem]:
        return list(
            await session.scalars(
                select(ReviewItem).where(
                    ReviewItem.owner == owner,
                    ReviewItem.kind == kind,
                    ReviewItem.subject_id == subject_id,
                    ReviewItem.state == State.PENDING,
                )
            )
        )

    @staticmethod
    def _close(item: ReviewItem, state: str, reason: str, actor_id: str, actor_role: str, now: datetime) -> None:
        item.state = state
        item.reason = reason
        item.decided_by = actor_id
        item.decided_at = now
        action = {State.APPROVED: "approved", State.REJECTED: "rejected"}.get(state, "withdrawn")
        item.history.append(
            AuditEntry(action=action, actor_id=actor_id, actor_role=actor_role, reason=reason, at=now)
        )

    # ---- admins -----------------------------------------------------------------------

    async def list_items(
        self, caller: Caller, kind: str, state: str, page_size: int, page_token: str
    ) -> Page:
        scope_type, scope_id = rules.caller_scope(caller)
        state = state or State.PENDING
        if state not in rules.STATES:
            raise InvalidArgument(f"state is one of {', '.join(rules.STATES)}")
        statement = select(ReviewItem).where(
            ReviewItem.scope_type == scope_type, ReviewItem.scope_id == scope_id, ReviewItem.state == state
        )
        if kind:
            statement = statement.where(ReviewItem.kind == kind)
        async with self.db.read() as session:
            items, token, total = await fetch_page(
                session, statement.order_by(ReviewItem.requested_at, ReviewItem.id), page_size, page_token)
            return Page(items, token, total, await latest_panels(session, [i.id for i in items]))

    async def get_item(self, caller: Caller, item_id: str) -> ReviewItem:
        async with self.db.transaction() as session:
            return await self._item_in_scope(session, caller, item_id)

    async def panels_of(self, item_ids: list[str]) -> Panels:
        """The expert panel each item went before (for items the caller has already been shown)."""
        async with self.db.read() as session:
            return await latest_panels(session, item_ids)

    @staticmethod
    async def _item_in_scope(session: AsyncSession, caller: Caller, item_id: str) -> ReviewItem:
        scope = rules.caller_scope(caller)
        item = await session.get(ReviewItem, item_id)
        if item is None or (item.scope_type, item.scope_id) != scope:
            raise NotFound("no such review item in your queue")  # another scope's items are not revealed
        return item

    async def decide(self, caller: Caller, item_id: str, decision: str, reason: str) -> ReviewItem:
        async with self.db.transaction() as session:
            item = await self._item_in_scope(session, caller, item_id)
            state = rules.decision_state(decision, reason, item.state)
            panels.check_may_decide(caller.user_id, json.loads(item.snapshot_json))
            found = await latest_panels(session, [item.id])
            panel = found[item.id][1] if item.id in found else None
            if item.kind in panels.PURPOSE_OF_KIND and (panel is None or not panel.conclusion):
                raise FailedPrecondition("an expert panel reviews this item first: decide once it has concluded")
            now = self.clock()
            self._close(item, state, reason.strip(), caller.user_id, caller.role, now)
            decided = review_pb2.ReviewDecided(
                item_id=item.id,
                kind=item.kind,
                owner=item.owner,
                subject_id=item.subject_id,
                decision=state,
                reason=item.reason,
                decided_by=caller.user_id,
            )
            if panel is not None and panel.conclusion:
                decided.panel_mean = panel.mean or 0.0
                decided.panel_conclusion = panel.conclusion
                decided.panel_round_id = panel.round_id
            decided.decided_at.FromDatetime(now)
            await emit(session, outbox, decided_subject(item.owner), decided)
            return item


def _check_sender(owner: str, meta: EventMeta) -> None:
    """A service asks for (or withdraws) reviews of its own things only.

    The bus says who sent the event (only the owner's credentials publish into its stream);
    the payload's `owner` routes the decision back, so a service naming another owner would
    have that owner apply a decision about something it never asked for.
    """
    if owner != meta.producer:
        raise PoisonEvent(f"{meta.producer or 'an unknown sender'} cannot ask for reviews of {owner!r}'s things")

