"""The stall check of chunked transcodes: a plan whose chunks, sound and join have all fallen silent lost its workers
(one killed on its job's last delivery gets no redelivery), so its unfinished steps are queued again, a bounded
number of times, and the asset fails with the step that kept stopping its workers after that."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.media.v1 import media_pb2
from servicekit.db import Database
from servicekit.objects import BlobStore
from servicekit.outbox import emit
from services.media.adapters.orm import Asset, AssetChunk, ChunkPlan, outbox
from services.media.domain import rules
from services.media.domain.rules import State
from services.media.service_layer.chunks import CHUNK_CUT_SUBJECT, CHUNKS_ENCODED_SUBJECT, ENCODED

log = logging.getLogger(__name__)
ACTIVE = (State.PROBING, State.TRANSCODING, State.PACKAGING)
# The sound's row is re-queued as the whole-file job that encodes it (services.media.service_layer.handlers).
QueueSound = Callable[[AsyncSession, Asset], Awaitable[None]]


def _silent(cutoff: datetime) -> tuple[ColumnElement[bool], ...]:
    """Assets of the current attempt's plan with no write since `cutoff`: not the asset, not any of its rows."""
    recent_row = select(AssetChunk.asset_id).where(
        AssetChunk.asset_id == Asset.id, AssetChunk.attempt == Asset.attempt, AssetChunk.updated_at >= cutoff)
    return (Asset.state.in_(ACTIVE), Asset.updated_at < cutoff, ChunkPlan.asset_id == Asset.id,
            ChunkPlan.attempt == Asset.attempt, ~recent_row.exists())


async def revive_or_fail(db: Database, store: BlobStore, cutoff: datetime, now: datetime, max_deliver: int,
                         requeues: int, queue_sound: QueueSound) -> tuple[list[str], list[str]]:
    """The assets whose silent plan was queued again, and those failed because a step gave up."""
    async with db.transaction() as session:
        candidates = list(await session.scalars(select(Asset.id).where(*_silent(cutoff))))
    revived: list[str] = []
    failed: list[str] = []
    for asset_id in candidates:
        async with db.transaction() as session:
            # The asset's row first, as a finishing chunk writes it (chunks._chunk_encoded): a worker that ends a
            # step now is serialised with this check, which then sees its write and leaves the plan alone.
            await session.execute(update(Asset).where(Asset.id == asset_id).values(updated_at=Asset.updated_at))
            found = (await session.execute(
                select(Asset, ChunkPlan).where(Asset.id == asset_id, *_silent(cutoff)))).first()
            if found is None:
                continue
            asset, plan = found
            reason = await _requeue_or_reason(session, asset, plan, max_deliver, requeues, queue_sound)
            if reason:
                asset.state, asset.failure_reason = State.FAILED, reason
            else:
                asset.updated_at = now  # the next stall is counted from this re-queue
            prefix = plan.prefix
        if reason:
            await store.delete_prefix(prefix + "/")  # nothing was published: the join publishes in one transaction
            log.warning("asset %s failed: %s", asset_id, reason)
            failed.append(asset_id)
        else:
            log.warning("asset %s: its chunked transcode fell silent; its unfinished steps were queued again",
                        asset_id)
            revived.append(asset_id)
    return revived, failed


async def _requeue_or_reason(session: AsyncSession, asset: Asset, plan: ChunkPlan, max_deliver: int, requeues: int,
                             queue_sound: QueueSound) -> str:
    """Queues the plan's unfinished steps again (the finished chunks are kept); or the failure's reason, naming the
    step whose workers stopped too often."""
    rows = list(await session.scalars(select(AssetChunk).where(
        AssetChunk.asset_id == asset.id, AssetChunk.attempt == asset.attempt).order_by(AssetChunk.index)))
    pending = [row for row in rows if row.state != ENCODED]
    if not pending:
        if rules.chunk_step_given_up(plan.join_starts, max_deliver, requeues):
            return (f"the join of the {plan.chunk_count} transcoded chunks was not done: its worker stopped "
                    f"{_times(plan.join_starts)}")
        await emit(session, outbox, CHUNKS_ENCODED_SUBJECT,
                   media_pb2.ChunksEncoded(asset_id=asset.id, attempt=asset.attempt))
        return ""
    # A step never started is waiting behind other work, not lost: it is queued again but never counts as stopped.
    gave_up = next((row for row in pending if rules.chunk_step_given_up(row.deliveries, max_deliver, requeues)), None)
    if gave_up is not None:
        if gave_up.index == plan.chunk_count:
            return f"the sound track was not encoded: its worker stopped {_times(gave_up.deliveries)}"
        end = gave_up.start_seconds + gave_up.duration_seconds
        return (f"chunk {gave_up.index + 1} of {plan.chunk_count} ({gave_up.start_seconds:.1f}–{end:.1f} s) was not "
                f"transcoded: its worker stopped {_times(gave_up.deliveries)}")
    for row in pending:
        if row.index == plan.chunk_count:
            await queue_sound(session, asset)
        else:
            await emit(session, outbox, CHUNK_CUT_SUBJECT,
                       media_pb2.ChunkCut(asset_id=asset.id, attempt=asset.attempt, index=row.index))
    return ""


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"
