"""Translates review.v1 requests into handler calls."""

from __future__ import annotations

import json

from contracts.review.v1 import review_pb2 as pb
from contracts.review.v1 import review_pb2_grpc
from servicekit.auth import require_caller
from services.review.adapters.orm import ReviewItem, Round, RoundItem
from services.review.domain.panels import RubricItem
from services.review.service_layer.handlers import Panels, ReviewHandlers
from services.review.service_layer.panels import PanelHandlers, RoundView, RubricVersion, round_state, rubric_items

SERVICE = "review.v1.ReviewService"


def item_message(item: ReviewItem, panels: Panels | None = None) -> pb.ReviewItem:
    message = pb.ReviewItem(
        id=item.id,
        kind=item.kind,
        owner=item.owner,
        subject_id=item.subject_id,
        scope=pb.Scope(type=item.scope_type, id=item.scope_id),
        title=item.title,
        state=item.state,
        reason=item.reason,
        requested_by=item.requested_by,
        decided_by=item.decided_by,
    )
    message.snapshot.update(json.loads(item.snapshot_json))
    message.requested_at.FromDatetime(item.requested_at)
    if item.decided_at:
        message.decided_at.FromDatetime(item.decided_at)
    for entry in item.history:
        audit = message.history.add(
            action=entry.action, actor_id=entry.actor_id, actor_role=entry.actor_role, reason=entry.reason
        )
        audit.at.FromDatetime(entry.at)
    if panels and item.id in panels:
        round_, entry = panels[item.id]
        panel = message.panel
        panel.round_id, panel.round_title, panel.conclusion, panel.comment = (
            round_.id, round_.title, entry.conclusion, entry.comment)
        panel.mean = entry.mean if entry.mean is not None else _mean_so_far(entry)
        panel.expert_count = len(round_.experts)
        panel.scores.extend(expert_scores(round_, entry))
        if entry.concluded_at:
            panel.concluded_at.FromDatetime(entry.concluded_at)
    return message


def _mean_so_far(entry: RoundItem) -> float:
    return round(sum(s.total for s in entry.scores) / len(entry.scores), 2) if entry.scores else 0.0


def expert_scores(round_: Round, entry: RoundItem) -> list[pb.ExpertScore]:
    names = {e.user_id: e.name for e in round_.experts}
    messages = []
    for score in entry.scores:
        message = pb.ExpertScore(
            expert_id=score.expert_id, expert_name=names.get(score.expert_id, ""), total=score.total,
            comment=score.comment,
            scores=[pb.ScorePoint(key=k, points=v) for k, v in json.loads(score.points_json).items()])
        message.scored_at.FromDatetime(score.scored_at)
        messages.append(message)
    return messages


def rubric_message(rubric: RubricVersion) -> pb.Rubric:
    message = pb.Rubric(school_id=rubric.school_id, purpose=rubric.purpose, version=rubric.version,
                        created_by=rubric.created_by, items=[_rubric_item(i) for i in rubric.items])
    if rubric.created_at:
        message.created_at.FromDatetime(rubric.created_at)
    return message


def _rubric_item(item: RubricItem) -> pb.RubricItem:
    return pb.RubricItem(key=item.key, group=item.group, name=item.name, max_points=item.max_points,
                         description=item.description)


def round_message(view: RoundView) -> pb.Round:
    round_ = view.round
    message = pb.Round(
        id=round_.id, school_id=round_.school_id, purpose=round_.purpose, title=round_.title,
        rubric=pb.Rubric(school_id=round_.school_id, purpose=round_.purpose, version=round_.rubric_version,
                         items=[_rubric_item(i) for i in rubric_items(round_.rubric_json)]),
        experts=[pb.Expert(user_id=e.user_id, name=e.name, username=e.username, school_id=e.school_id,
                           school_name=e.school_name, leader=e.user_id == round_.leader_id) for e in round_.experts],
        leader_id=round_.leader_id, state=round_state(round_, {i.id: i.state for i in view.items.values()}),
        created_by=round_.created_by)
    message.created_at.FromDatetime(round_.created_at)
    for entry in round_.items:
        item = view.items[entry.item_id]
        added = message.items.add(
            item_id=item.id, kind=item.kind, title=item.title, state=item.state,
            scores=expert_scores(round_, entry),
            mean=entry.mean if entry.mean is not None else _mean_so_far(entry),
            conclusion=entry.conclusion, conclusion_comment=entry.comment, concluded_by=entry.concluded_by)
        added.snapshot.update(json.loads(item.snapshot_json))
        if entry.concluded_at:
            added.concluded_at.FromDatetime(entry.concluded_at)
    return message


def summary_message(round_: Round, item_states: dict[str, str]) -> pb.RoundSummary:
    leader = next((e for e in round_.experts if e.user_id == round_.leader_id), None)
    message = pb.RoundSummary(
        id=round_.id, purpose=round_.purpose, title=round_.title, state=round_state(round_, item_states),
        rubric_version=round_.rubric_version, leader_id=round_.leader_id, leader_name=leader.name if leader else "",
        expert_count=len(round_.experts), item_count=len(round_.items),
        concluded_count=sum(1 for i in round_.items if i.conclusion))
    message.created_at.FromDatetime(round_.created_at)
    return message


class ReviewServicer(review_pb2_grpc.ReviewServiceServicer):
    def __init__(self, handlers: ReviewHandlers, panels: PanelHandlers) -> None:
        self.handlers = handlers
        self.panels = panels

    async def ListItems(self, request, context):  # type: ignore[no-untyped-def]
        page = await self.handlers.list_items(
            require_caller(), request.kind, request.state, request.page_size, request.page_token
        )
        return pb.ListItemsResponse(
            items=[item_message(i, page.panels) for i in page.items], next_page_token=page.next_page_token,
            total=page.total,
        )

    async def GetItem(self, request, context):  # type: ignore[no-untyped-def]
        item = await self.handlers.get_item(require_caller(), request.id)
        return item_message(item, await self.handlers.panels_of([item.id]))

    async def Decide(self, request, context):  # type: ignore[no-untyped-def]
        item = await self.handlers.decide(require_caller(), request.id, request.decision, request.reason)
        return item_message(item, await self.handlers.panels_of([item.id]))

    # ---- expert panels ----------------------------------------------------------------

    async def GetRubric(self, request, context):  # type: ignore[no-untyped-def]
        return rubric_message(await self.panels.get_rubric(require_caller(), request.purpose))

    async def ListRubricVersions(self, request, context):  # type: ignore[no-untyped-def]
        versions = await self.panels.rubric_versions(require_caller(), request.purpose)
        return pb.ListRubricVersionsResponse(versions=[rubric_message(v) for v in versions])

    async def SaveRubric(self, request, context):  # type: ignore[no-untyped-def]
        items = [RubricItem(i.key, i.group, i.name, i.max_points, i.description) for i in request.items]
        return rubric_message(await self.panels.save_rubric(require_caller(), request.purpose, items))

    async def CreateRound(self, request, context):  # type: ignore[no-untyped-def]
        return round_message(await self.panels.create_round(
            require_caller(), request.title, request.purpose, list(request.expert_usernames),
            request.leader_username, list(request.item_ids)))

    async def ListRounds(self, request, context):  # type: ignore[no-untyped-def]
        page = await self.panels.list_rounds(require_caller(), request.purpose, request.page_size, request.page_token)
        return pb.ListRoundsResponse(rounds=[summary_message(r, page.item_states) for r in page.rounds],
                                     next_page_token=page.next_page_token, total=page.total)

    async def GetRound(self, request, context):  # type: ignore[no-untyped-def]
        return round_message(await self.panels.get_round(require_caller(), request.id))

    async def ScoreItem(self, request, context):  # type: ignore[no-untyped-def]
        return round_message(await self.panels.score_item(
            require_caller(), request.round_id, request.item_id, [(s.key, s.points) for s in request.scores],
            request.comment))

    async def ConcludeItem(self, request, context):  # type: ignore[no-untyped-def]
        return round_message(await self.panels.conclude_item(
            require_caller(), request.round_id, request.item_id, request.conclusion, request.comment))
