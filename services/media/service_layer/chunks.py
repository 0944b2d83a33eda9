"""Chunked transcoding of long sources: the whole-file job cuts the source and queues one job per chunk; any worker
encodes a chunk; the worker that encodes the last one queues the join, which publishes the renditions.

Each step is idempotent by itself: a chunk's row says whether it is encoded (a redelivered chunk job that finds it
so does nothing), outputs go under the attempt's own prefix, and nothing reaches the asset until the join
publishes in one transaction. A worker killed mid-chunk loses that chunk only: JetStream redelivers its job."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from contracts.media.v1 import media_pb2
from servicekit.clock import utcnow
from servicekit.consumer import EventMeta
from servicekit.db import Database
from servicekit.objects import BlobStore
from servicekit.outbox import emit
from services.media.adapters import chunking
from services.media.adapters.ffmpeg import MediaRejected, Pausable, Renditions
from services.media.adapters.metrics import record_job
from services.media.adapters.orm import Asset, AssetChunk, ChunkPlan, outbox
from services.media.domain.encoding import EncodingProfile, output_fps, rungs_for
from services.media.domain.probe import ProbeResult
from services.media.domain.rules import PROCESSING_STATES, State

log = logging.getLogger(__name__)
CHUNK_CUT_SUBJECT = "media.chunk.cut"
CHUNKS_ENCODED_SUBJECT = "media.chunk.all_encoded"
ENCODED = "encoded"
QUEUED = "queued"
JOB_FOLDER_PREFIX = "media-"  # as processing.JOB_FOLDER_PREFIX: the worker's start-up clean-up removes leftovers
# Share of the asset's progress: cutting, encoding the chunks, joining and publishing.
CUT_DONE, CHUNKS_DONE = 0.05, 0.9
# A running step touches its row this often: the media service's stall check reads a plan's silence as its workers'
# death (handlers.fail_stalled_jobs), so a chunk that is slow or paused behind a short upload must not fall silent.
HEARTBEAT_SECONDS = 60.0

Publish = Callable[[str, int, Renditions], Awaitable[bool]]
Fail = Callable[[str, int, str], Awaitable[bool]]


@dataclass(frozen=True)
class ChunkSettings:
    """MEDIA_CHUNK_MIN_SECONDS, MEDIA_CHUNK_SECONDS: sources longer than `min_seconds` that must be encoded are cut
    into chunks of about `chunk_seconds` (the keyframes decide exactly). A chunk is the longest a short upload
    waits for a busy worker, so it is kept about as long as a short video."""

    min_seconds: float = 180.0
    chunk_seconds: float = 60.0


class ChunkedTranscoder:
    def __init__(self, db: Database, store: BlobStore, scratch: Path | None, encoding: EncodingProfile,
                 settings: ChunkSettings | None, publish: Publish, fail: Fail) -> None:
        self.db = db
        self.store = store
        self.scratch = scratch
        self.encoding = encoding
        self.settings = settings
        self.publish = publish
        self.fail = fail
        # The chunk encode under way in this worker: a whole-file job stops it while it runs (`paused`).
        self.pausable = Pausable()

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """While a whole-file job runs in this worker, its chunk's ffmpeg is stopped: the short upload gets the
        machine at once instead of after the chunk, and the chunk goes on from where it was."""
        self.pausable.pause()
        try:
            yield
        finally:
            self.pausable.resume()

    def applies_to(self, duration: float) -> bool:
        return self.settings is not None and duration > self.settings.min_seconds

    # ---- the whole-file job: cut, store, queue -------------------------------------------------------------

    async def plan(self, asset_id: str, attempt: int, source: Path, demuxer: str, probe: ProbeResult,
                   encoding: EncodingProfile, workdir: Path) -> None:
        """Cut the picture, store the chunks and queue their jobs in one transaction; then encode the sound while
        other workers encode the picture (it is the plan's last row: whoever finishes last queues the join)."""
        assert self.settings is not None and probe.video is not None
        async with self.db.transaction() as session:
            existing = await session.get(ChunkPlan, (asset_id, attempt))
            prefix = existing.prefix if existing else ""
        if existing is None:
            prefix = await self._cut(asset_id, attempt, source, demuxer, probe, encoding, workdir)
            if not prefix:
                return
        async with self.db.transaction() as session:
            sound = await self._pending_sound(session, asset_id, attempt)
        if sound is None:
            return
        try:
            async with self._heartbeat(_touch_chunk(asset_id, attempt, sound)):
                audio = await chunking.encode_audio(source, demuxer, probe.duration, workdir / chunking.AUDIO_NAME,
                                                    encoding, rungs_for(encoding, probe.video.height))
        except MediaRejected:
            await self.store.delete_prefix(prefix + "/")  # the attempt fails (the caller says why): no chunk stays
            raise
        await self.store.upload_file(f"{prefix}/{chunking.AUDIO_NAME}", audio)
        await self._chunk_encoded(asset_id, attempt, sound)

    async def _cut(self, asset_id: str, attempt: int, source: Path, demuxer: str, probe: ProbeResult,
                   encoding: EncodingProfile, workdir: Path) -> str:
        """The plan's prefix, or "" when the attempt went stale meanwhile."""
        assert self.settings is not None and probe.video is not None
        video = probe.video
        plan = chunking.ChunkEncoding(rungs_for(encoding, video.height), output_fps(encoding, video.fps),
                                      video.field_order in ("tt", "bb", "tb", "bt"), probe.audio is not None)
        cut = workdir / "chunks"
        cut.mkdir()
        pieces = await chunking.split(source, demuxer, probe.duration, cut, self.settings.chunk_seconds)
        prefix = f"chunks/{asset_id}/{attempt}-{uuid.uuid4().hex[:8]}"
        for piece in pieces:
            await self.store.upload_file(source_key(prefix, piece.index), piece.path)
        async with self.db.transaction() as session:
            asset = await session.get(Asset, asset_id)
            stale = not _running(asset, attempt) or await session.get(ChunkPlan, (asset_id, attempt)) is not None
            if not stale:
                session.add(ChunkPlan(asset_id=asset_id, attempt=attempt, prefix=prefix, chunk_count=len(pieces),
                                      duration_seconds=probe.duration, encoding_json=json.dumps(plan.to_json())))
                for piece in pieces:
                    session.add(AssetChunk(asset_id=asset_id, attempt=attempt, index=piece.index,
                                           start_seconds=piece.start, duration_seconds=piece.duration, state=QUEUED))
                    await emit(session, outbox, CHUNK_CUT_SUBJECT,
                               media_pb2.ChunkCut(asset_id=asset_id, attempt=attempt, index=piece.index))
                if plan.audio:  # the sound's row, after the picture's: this job encodes it
                    session.add(AssetChunk(asset_id=asset_id, attempt=attempt, index=len(pieces), start_seconds=0.0,
                                           duration_seconds=probe.duration, state=QUEUED))
                assert asset is not None
                asset.state, asset.progress = State.TRANSCODING, CUT_DONE
        if stale:
            await self.store.delete_prefix(prefix + "/")
            return ""
        log.info("asset %s attempt %d cut into %d chunks", asset_id, attempt, len(pieces))
        return prefix

    async def _pending_sound(self, session: AsyncSession, asset_id: str, attempt: int) -> int | None:
        """The index of the sound's row while it waits to be encoded (None: no sound, done, or stale)."""
        plan = await self._current(session, asset_id, attempt)
        if plan is None:
            return None
        sound = await session.get(AssetChunk, (asset_id, attempt, plan.chunk_count))
        if sound is None or sound.state == ENCODED:
            return None
        sound.deliveries += 1  # a start; the stall check counts the ones that never finished
        return sound.index

    # ---- a chunk job -----------------------------------------------------------------------------------------

    async def encode(self, _session: AsyncSession | None, job: media_pb2.ChunkCut, meta: EventMeta) -> None:
        started = time.monotonic()
        async with self.db.transaction() as session:
            found = await self._current(session, job.asset_id, job.attempt)
            chunk = await session.get(AssetChunk, (job.asset_id, job.attempt, job.index))
            if found is None or chunk is None or chunk.state == ENCODED:
                record_job("chunk", "skipped", "stale" if found is None else "done_before", started)
                return
            plan = found
            chunk.deliveries += 1  # starts across every job of the chunk, re-queued ones too (the stall check's count)
            start, duration = chunk.start_seconds, chunk.duration_seconds
        encoding = chunking.ChunkEncoding.from_json(json.loads(plan.encoding_json))
        log.info("encoding chunk %d/%d of asset %s (delivery %d)", job.index + 1, plan.chunk_count, job.asset_id,
                 meta.delivered)
        workdir = self._workdir(job.asset_id, f"c{job.index}")
        try:
            source = workdir / "chunk.mkv"
            async with self._heartbeat(_touch_chunk(job.asset_id, job.attempt, job.index)):
                await self.store.download(source_key(plan.prefix, job.index), source)
                outputs = await chunking.encode_chunk(source, duration, encoding, workdir / "out", self.encoding,
                                                      pausable=self.pausable)
                for rung, path in outputs.items():
                    await self.store.upload_file(encoded_key(plan.prefix, job.index, rung), path)
            await self._chunk_encoded(job.asset_id, job.attempt, job.index)
        except MediaRejected as rejected:
            record_job("chunk", "failed", "rejected", started)
            await self._fail(job.asset_id, job.attempt, plan.prefix,
                             f"chunk {job.index + 1} of {plan.chunk_count} ({start:.1f}–{start + duration:.1f} s) "
                             f"could not be transcoded: {rejected}")
            return
        except BaseException:
            record_job("chunk", "retried", "error", started)
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        record_job("chunk", "done", "", started)

    async def _chunk_encoded(self, asset_id: str, attempt: int, index: int) -> None:
        """Marks a row encoded (a chunk of picture, or the sound); the last one queues the join. The asset's row is
        written first: it serialises the rows finishing together (a row lock in PostgreSQL, the write lock in
        SQLite), so exactly one of them sees every row encoded."""
        async with self.db.transaction() as session:
            await session.execute(update(Asset).where(Asset.id == asset_id).values(updated_at=Asset.updated_at))
            plan = await self._current(session, asset_id, attempt)
            chunk = await session.get(AssetChunk, (asset_id, attempt, index))
            if plan is None or chunk is None or chunk.state == ENCODED:
                return
            chunk.state = ENCODED
            await session.flush()
            of_attempt = (AssetChunk.asset_id == asset_id, AssetChunk.attempt == attempt)
            total = await session.scalar(select(func.count()).select_from(AssetChunk).where(*of_attempt)) or 1
            encoded = await session.scalar(select(func.count()).select_from(AssetChunk).where(
                *of_attempt, AssetChunk.state == ENCODED)) or 0
            asset = await session.get(Asset, asset_id)
            assert asset is not None
            asset.progress = round(CUT_DONE + (CHUNKS_DONE - CUT_DONE) * encoded / total, 3)
            if encoded == total:
                await emit(session, outbox, CHUNKS_ENCODED_SUBJECT,
                           media_pb2.ChunksEncoded(asset_id=asset_id, attempt=attempt))

    # ---- the join job ----------------------------------------------------------------------------------------

    async def join(self, _session: AsyncSession | None, job: media_pb2.ChunksEncoded, meta: EventMeta) -> None:
        started = time.monotonic()
        async with self.db.transaction() as session:
            plan = await self._current(session, job.asset_id, job.attempt)
            pending = await session.scalar(select(func.count()).select_from(AssetChunk).where(
                AssetChunk.asset_id == job.asset_id, AssetChunk.attempt == job.attempt, AssetChunk.state != ENCODED))
            if plan is None or pending:
                record_job("join", "skipped", "stale", started)
                return
            asset = await session.get(Asset, job.asset_id)
            assert asset is not None
            asset.state, asset.progress = State.PACKAGING, CHUNKS_DONE
            plan.join_starts += 1
        encoding = chunking.ChunkEncoding.from_json(json.loads(plan.encoding_json))
        log.info("joining %d chunks of asset %s (delivery %d)", plan.chunk_count, job.asset_id, meta.delivered)
        workdir = self._workdir(job.asset_id, "join")
        try:
            async with self._heartbeat(_touch_asset(job.asset_id)):
                folders = []
                for index in range(plan.chunk_count):
                    folder = workdir / "out" / "chunks" / f"{index:05d}"
                    for rung in encoding.rungs:
                        await self.store.download(encoded_key(plan.prefix, index, rung.name),
                                                  folder / f"{rung.name}.mp4")
                    folders.append(folder)
                audio = None
                if encoding.audio:
                    audio = workdir / chunking.AUDIO_NAME
                    await self.store.download(f"{plan.prefix}/{chunking.AUDIO_NAME}", audio)
                renditions = await chunking.join(folders, audio, encoding, plan.duration_seconds, workdir / "out",
                                                 self.encoding)
                await self.publish(job.asset_id, job.attempt, renditions)
        except MediaRejected as rejected:
            record_job("join", "failed", "rejected", started)
            await self._fail(job.asset_id, job.attempt, plan.prefix,
                             f"joining the transcoded chunks failed: {rejected}")
            return
        except BaseException:
            record_job("join", "retried", "error", started)
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        await self.store.delete_prefix(plan.prefix + "/")  # the chunks live on in the renditions
        record_job("join", "done", "", started)

    async def give_up(self, job: media_pb2.ChunkCut | media_pb2.ChunksEncoded, meta: EventMeta,
                      error: Exception) -> None:
        async with self.db.transaction() as session:
            plan = await session.get(ChunkPlan, (job.asset_id, job.attempt))
        what = f"chunk {job.index + 1}" if isinstance(job, media_pb2.ChunkCut) else "the join of the chunks"
        await self._fail(job.asset_id, job.attempt, plan.prefix if plan else "",
                         f"processing {what} failed {meta.delivered} times; last error: {error}")

    # ---- helpers ---------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _heartbeat(self, touch: Callable[[], Executable]) -> AsyncIterator[None]:
        """Runs `touch()` every HEARTBEAT_SECONDS while the step runs: the step is alive, however slow."""
        async def beat() -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_SECONDS)
                try:
                    async with self.db.transaction() as session:
                        await session.execute(touch())
                except Exception:  # a missed beat is not the step's failure: the next one may reach the database
                    log.warning("could not record a running chunk step's heartbeat", exc_info=True)

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _fail(self, asset_id: str, attempt: int, prefix: str, reason: str) -> None:
        """The asset fails with the reason; its chunks are deleted, and nothing was published."""
        await self.fail(asset_id, attempt, reason)
        if prefix:
            await self.store.delete_prefix(prefix + "/")

    async def _current(self, session: AsyncSession, asset_id: str, attempt: int) -> ChunkPlan | None:
        """The plan of this attempt while the asset still waits for it; None once it is stale."""
        asset = await session.get(Asset, asset_id)
        if not _running(asset, attempt):
            return None
        return await session.get(ChunkPlan, (asset_id, attempt))

    def _workdir(self, asset_id: str, step: str) -> Path:
        if self.scratch is not None:
            self.scratch.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{JOB_FOLDER_PREFIX}{asset_id}-{step}-", dir=self.scratch))


def _running(asset: Asset | None, attempt: int) -> bool:
    return asset is not None and asset.attempt == attempt and asset.state in PROCESSING_STATES


def _touch_asset(asset_id: str) -> Callable[[], Executable]:
    return lambda: update(Asset).where(Asset.id == asset_id).values(updated_at=utcnow())


def _touch_chunk(asset_id: str, attempt: int, index: int) -> Callable[[], Executable]:
    """The statement that marks a chunk's row alive now (made afresh at each beat, for its time)."""
    return lambda: update(AssetChunk).where(AssetChunk.asset_id == asset_id, AssetChunk.attempt == attempt,
                                            AssetChunk.index == index).values(updated_at=utcnow())


def source_key(prefix: str, index: int) -> str:
    return f"{prefix}/source/{index:05d}.mkv"


def encoded_key(prefix: str, index: int, rung: str) -> str:
    return f"{prefix}/encoded/{index:05d}/{rung}.mp4"
