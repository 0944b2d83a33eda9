"""Expert panels: a school's rubrics, its review rounds, the experts' scores and the leader's conclusions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.identity.v1 import identity_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.pagination import fetch_page
from servicekit.reviews import ScopeType
from servicekit.text import check_text
from services.review.adapters.orm import AuditEntry, ReviewItem, Round, RoundExpert, RoundItem, Rubric, Score
from services.review.domain import panels
from services.review.domain.panels import RubricItem
from services.review.domain.rules import State

# Teachers of any school by a search the identity service answers on the caller's behalf.
FindTeachers = Callable[[str], Awaitable[list[identity_pb2.TeacherCard]]]

MAX_EXPERTS = 30
MAX_ROUND_ITEMS = 200


@dataclass(frozen=True)
class RubricVersion:
    school_id: str
    purpose: str
    version: int
    items: tuple[RubricItem, ...]
    created_by: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class RoundView:
    """A round with the review items it puts before its panel."""

    round: Round
    items: dict[str, ReviewItem]


@dataclass(frozen=True)
class RoundsPage:
    rounds: list[Round]
    next_page_token: str
    total: int
    item_states: dict[str, str]  # review item id -> its state


def rubric_items(items_json: str) -> tuple[RubricItem, ...]:
    return tuple(RubricItem(**item) for item in json.loads(items_json))


def round_state(round_: Round, item_states: dict[str, str]) -> str:
    """Open while an item still pending awaits the panel's conclusion (a withdrawn one awaits nothing)."""
    waiting = (i for i in round_.items if not i.conclusion and item_states.get(i.item_id) == State.PENDING)
    return "open" if any(waiting) else "closed"


async def latest_panels(session: AsyncSession, item_ids: Iterable[str]) -> dict[str, tuple[Round, RoundItem]]:
    """The newest round each item went before, with its result there."""
    ids = list(item_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Round, RoundItem).join(RoundItem, RoundItem.round_id == Round.id)
        .where(RoundItem.item_id.in_(ids)).order_by(Round.created_at, Round.id))
    return {entry.item_id: (round_, entry) for round_, entry in rows}


def _school_admin(caller: Caller) -> str:
    if caller.role != "school_admin" or not caller.school_id:
        raise PermissionDenied("only a school admin runs expert panels")
    return caller.school_id


class PanelHandlers:
    def __init__(self, db: Database, find_teachers: FindTeachers, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.find_teachers = find_teachers
        self.clock = clock

    # ---- rubrics ----------------------------------------------------------------------

    async def get_rubric(self, caller: Caller, purpose: str) -> RubricVersion:
        school_id = _school_admin(caller)
        async with self.db.read() as session:
            return await self._rubric_in_force(session, school_id, panels.check_purpose(purpose))

    async def rubric_versions(self, caller: Caller, purpose: str) -> list[RubricVersion]:
        school_id = _school_admin(caller)
        panels.check_purpose(purpose)
        async with self.db.read() as session:
            rows = await session.scalars(select(Rubric).where(
                Rubric.school_id == school_id, Rubric.purpose == purpose).order_by(Rubric.version.desc()))
            saved = [_version(r) for r in rows]
        return [*saved, RubricVersion(school_id, purpose, 0, panels.DEFAULT_RUBRICS[purpose])]

    async def save_rubric(self, caller: Caller, purpose: str, items: list[RubricItem]) -> RubricVersion:
        school_id = _school_admin(caller)
        panels.check_purpose(purpose)
        cleaned = panels.validate_rubric(items)
        async with self.db.transaction() as session:
            latest = await session.scalar(select(func.max(Rubric.version)).where(
                Rubric.school_id == school_id, Rubric.purpose == purpose)) or 0
            rubric = Rubric(school_id=school_id, purpose=purpose, version=latest + 1, created_by=caller.user_id,
                            created_at=self.clock(),
                            items_json=json.dumps([i.as_dict() for i in cleaned], ensure_ascii=False))
            session.add(rubric)
            await session.flush()
            return _version(rubric)

    @staticmethod
    async def _rubric_in_force(session: AsyncSession, school_id: str, purpose: str) -> RubricVersion:
        rubric = await session.scalar(select(Rubric).where(Rubric.school_id == school_id, Rubric.purpose == purpose)
                                      .order_by(Rubric.version.desc()).limit(1))
        if rubric is None:
            return RubricVersion(school_id, purpose, 0, panels.DEFAULT_RUBRICS[purpose])
        return _version(rubric)

    # ---- rounds -----------------------------------------------------------------------

    async def create_round(self, caller: Caller, title: str, purpose: str, usernames: list[str],
                           leader_username: str, item_ids: list[str]) -> RoundView:
        school_id = _school_admin(caller)
        panels.check_purpose(purpose)
        title = title.strip()
        if not title or len(title) > 200:
            raise InvalidArgument("a round needs a title of at most 200 characters")
        usernames = list(dict.fromkeys(u.strip() for u in usernames if u.strip()))
        item_ids = list(dict.fromkeys(i.strip() for i in item_ids if i.strip()))
        if len(usernames) > MAX_EXPERTS or len(item_ids) > MAX_ROUND_ITEMS:
            raise InvalidArgument(f"a round takes at most {MAX_EXPERTS} experts and {MAX_ROUND_ITEMS} items")
        if len(usernames) < panels.MIN_EXPERTS:
            raise InvalidArgument(f"a panel needs at least {panels.MIN_EXPERTS} experts, not {len(usernames)}")
        if not item_ids:
            raise InvalidArgument("choose the items the round reviews")
        cards = await self._teachers(usernames)
        leader = cards.get(leader_username.strip())
        if leader is None:
            raise InvalidArgument("the panel leader must be one of the experts")
        kind = panels.PANEL_KINDS[purpose]
        async with self.db.transaction() as session:
            items: dict[str, ReviewItem] = {}
            for item_id in item_ids:
                item = await session.get(ReviewItem, item_id)
                if item is None or (item.scope_type, item.scope_id) != (ScopeType.SCHOOL, school_id):
                    raise NotFound(f"no review item {item_id} in your school's queue")
                if item.kind != kind:
                    raise InvalidArgument(f"'{item.title}' is a {item.kind}, not a {kind}")
                if item.state != State.PENDING:
                    raise FailedPrecondition(f"'{item.title}' is already {item.state}")
                items[item_id] = item
            panels.check_panel({c.user_id: c.name for c in cards.values()}, leader.user_id,
                               [(i.title, json.loads(i.snapshot_json)) for i in items.values()])
            busy = await session.execute(
                select(RoundItem.item_id, Round.title).join(Round, Round.id == RoundItem.round_id)
                .where(RoundItem.item_id.in_(item_ids), RoundItem.conclusion == ""))
            for item_id, other in busy:
                raise FailedPrecondition(f"'{items[item_id].title}' is already before the panel of '{other}'")
            rubric = await self._rubric_in_force(session, school_id, purpose)
            round_ = Round(
                school_id=school_id, purpose=purpose, title=title, rubric_version=rubric.version,
                rubric_json=json.dumps([i.as_dict() for i in rubric.items], ensure_ascii=False),
                leader_id=leader.user_id, created_by=caller.user_id, created_at=self.clock(),
                experts=[RoundExpert(user_id=c.user_id, position=n, name=c.name, username=c.username,
                                     school_id=c.school_id, school_name=c.school_name)
                         for n, c in enumerate(cards.values())],
                items=[RoundItem(item_id=item_id, position=n, scores=[]) for n, item_id in enumerate(items)],
            )
            session.add(round_)
            await session.flush()
            return RoundView(round_, items)

    async def _teachers(self, usernames: list[str]) -> dict[str, identity_pb2.TeacherCard]:
        """Each username's teacher account (exact match), in the order given; unknown ones are named."""
        found = await asyncio.gather(*(self.find_teachers(u) for u in usernames))
        cards: dict[str, identity_pb2.TeacherCard] = {}
        unknown = []
        for username, answer in zip(usernames, found, strict=True):
            card = next((c for c in answer if c.username == username), None)
            if card is None:
                unknown.append(username)
            elif card.user_id not in {c.user_id for c in cards.values()}:
                cards[username] = card
        if unknown:
            raise InvalidArgument(f"no teacher account with the username {', '.join(unknown)}")
        return cards

    async def list_rounds(self, caller: Caller, purpose: str, page_size: int, page_token: str) -> RoundsPage:
        statement = select(Round)
        if caller.role == "school_admin" and caller.school_id:
            statement = statement.where(Round.school_id == caller.school_id)
        else:
            statement = statement.where(Round.id.in_(
                select(RoundExpert.round_id).where(RoundExpert.user_id == caller.user_id)))
        if purpose:
            statement = statement.where(Round.purpose == panels.check_purpose(purpose))
        async with self.db.read() as session:
            rounds, token, total = await fetch_page(
                session, statement.order_by(Round.created_at.desc(), Round.id), page_size, page_token)
            ids = [i.item_id for r in rounds for i in r.items]
            states = dict((await session.execute(select(ReviewItem.id, ReviewItem.state)
                                                 .where(ReviewItem.id.in_(ids)))).tuples().all()) if ids else {}
            return RoundsPage(rounds, token, total, states)

    async def get_round(self, caller: Caller, round_id: str) -> RoundView:
        async with self.db.read() as session:
            round_ = await self._round_for(session, caller, round_id)
            return RoundView(round_, await self._items(session, round_))

    @staticmethod
    async def _round_for(session: AsyncSession, caller: Caller, round_id: str) -> Round:
        """The round, for its experts and its school's admins; nobody else learns it exists."""
        round_ = await session.get(Round, round_id)
        if round_ is not None and (
            any(e.user_id == caller.user_id for e in round_.experts)
            or (caller.role == "school_admin" and caller.school_id == round_.school_id)
        ):
            return round_
        raise NotFound("no such review round")

    @staticmethod
    async def _items(session: AsyncSession, round_: Round) -> dict[str, ReviewItem]:
        ids = [i.item_id for i in round_.items]
        return {i.id: i for i in await session.scalars(select(ReviewItem).where(ReviewItem.id.in_(ids)))}

    async def _expert_entry(self, session: AsyncSession, caller: Caller, round_id: str,
                            item_id: str) -> tuple[Round, RoundItem, ReviewItem]:
        round_ = await self._round_for(session, caller, round_id)
        if not any(e.user_id == caller.user_id for e in round_.experts):
            raise PermissionDenied("only the round's experts score and conclude")
        entry = next((i for i in round_.items if i.item_id == item_id), None)
        if entry is None:
            raise NotFound("the round does not review this item")
        item = await session.get(ReviewItem, item_id)
        assert item is not None  # noqa: S101 - a round item's review item is never deleted
        if entry.conclusion:
            raise FailedPrecondition(f"the panel has concluded '{entry.conclusion}' on this item")
        if item.state != State.PENDING:
            raise FailedPrecondition(f"the item is {item.state}")
        return round_, entry, item

    async def score_item(self, caller: Caller, round_id: str, item_id: str, scores: list[tuple[str, float]],
                         comment: str) -> RoundView:
        comment = check_text(comment, "the comment", 4000, required=False)
        async with self.db.transaction() as session:
            round_, entry, item = await self._expert_entry(session, caller, round_id, item_id)
            panels.check_may_score(caller.user_id, json.loads(item.snapshot_json))
            total = panels.score_total(rubric_items(round_.rubric_json), scores)
            now = self.clock()
            points = {key: value for key, value in scores}
            score = next((s for s in entry.scores if s.expert_id == caller.user_id), None)
            if score is None:
                entry.scores.append(Score(expert_id=caller.user_id, points_json=json.dumps(points), total=total,
                                          comment=comment, scored_at=now))
            else:
                score.points_json, score.total, score.comment, score.scored_at = (
                    json.dumps(points), total, comment, now)
            item.history.append(AuditEntry(
                action="scored", actor_id=caller.user_id, actor_role="expert", at=now,
                reason=json.dumps({"round_id": round_.id, "scores": points, "total": total, "comment": comment},
                                  ensure_ascii=False)))
            await session.flush()
            return RoundView(round_, await self._items(session, round_))

    async def conclude_item(self, caller: Caller, round_id: str, item_id: str, conclusion: str,
                            comment: str) -> RoundView:
        comment = check_text(comment, "the comment", 4000, required=False)
        async with self.db.transaction() as session:
            round_, entry, item = await self._expert_entry(session, caller, round_id, item_id)
            if caller.user_id != round_.leader_id:
                raise PermissionDenied("only the panel leader concludes")
            panels.check_conclusion(conclusion, [e.user_id for e in round_.experts],
                                    [s.expert_id for s in entry.scores])
            now = self.clock()
            entry.mean = panels.mean(s.total for s in entry.scores)
            entry.conclusion, entry.comment, entry.concluded_by, entry.concluded_at = (
                conclusion, comment, caller.user_id, now)
            item.history.append(AuditEntry(
                action="concluded", actor_id=caller.user_id, actor_role="panel_leader", at=now,
                reason=json.dumps({"round_id": round_.id, "mean": entry.mean, "conclusion": conclusion,
                                   "comment": comment}, ensure_ascii=False)))
            await session.flush()
            return RoundView(round_, await self._items(session, round_))


def _version(rubric: Rubric) -> RubricVersion:
    return RubricVersion(rubric.school_id, rubric.purpose, rubric.version, rubric_items(rubric.items_json),
                         rubric.created_by, rubric.created_at)
