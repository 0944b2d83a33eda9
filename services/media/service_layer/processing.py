"""The worker's job: probe an uploaded video, check it against the spec, remux or transcode it,
store the renditions, and queue it for review.

A job is idempotent by itself: it works only on the attempt it was asked for, writes its
outputs under a fresh prefix, and switches the asset to them in one transaction at the
end, so a redelivered job never leaves a half-written rendition behind.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, replace
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.media.v1 import media_pb2
from servicekit.consumer import EventMeta
from servicekit.db import Database
from servicekit.objects import BlobStore
from services.media.adapters import ffmpeg
from services.media.adapters.metrics import record_job
from services.media.adapters.orm import Asset
from services.media.domain import spec, timing
from services.media.domain.encoding import DEFAULT_ENCODING, EncodingProfile
from services.media.domain.filetypes import FFMPEG_DEMUXER
from services.media.domain.rules import PROCESSING_STATES, State
from services.media.service_layer.chunks import ChunkedTranscoder, ChunkSettings
from services.media.service_layer.handlers import SchoolPolicy, queue_for_review

log = logging.getLogger(__name__)
PROGRESS_INTERVAL = 1.0  # seconds between progress writes
JOB_FOLDER_PREFIX = "media-"  # a job's scratch folder: media-<asset id>-<random>


_PATH = re.compile(r"(?:file:)?(?:/[^\s/:'\"]+)+/([^\s/:'\"]+)")
_SOURCE = re.compile(r"\bsource\.[a-z0-9]+\b")


def public_reason(reason: str) -> str:
    """A failure reason as the teacher reads it: the tools name the worker's files by their paths, which say
    nothing to a person and tell an attacker about the machine; only the file's role is kept."""
    return _SOURCE.sub("the upload", _PATH.sub(r"\1", reason))


class MediaProcessor:
    def __init__(self, db: Database, store: BlobStore, policies: SchoolPolicy, scratch: Path | None = None,
                 encoding: EncodingProfile = DEFAULT_ENCODING, chunking: ChunkSettings | None = None) -> None:
        self.db = db
        self.store = store
        self.policies = policies
        self.scratch = scratch
        self.encoding = encoding
        # Long sources that need encoding are cut into chunks any worker transcodes (None: always whole).
        self.chunked = ChunkedTranscoder(db, store, scratch, encoding, chunking, self.publish, self.fail_attempt)

    def clean_scratch(self) -> int:
        """At start: the job folders a killed predecessor left in this worker's scratch folder are removed (only
        those: a scratch folder set to a shared place loses nothing else)."""
        if self.scratch is None:
            return 0
        self.scratch.mkdir(parents=True, exist_ok=True)
        leftovers = list(self.scratch.glob(f"{JOB_FOLDER_PREFIX}*"))
        for path in leftovers:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if leftovers:
            log.info("removed %d leftovers from the scratch folder %s", len(leftovers), self.scratch)
        return len(leftovers)

    async def process(self, _session: AsyncSession | None, job: media_pb2.AssetUploaded, meta: EventMeta) -> None:
        async with self.db.transaction() as session:
            asset = await session.get(Asset, job.asset_id)
            if asset is None or asset.attempt != job.attempt or asset.state not in PROCESSING_STATES:
                log.info("job for %s attempt %d is stale; skipping", job.asset_id, job.attempt)
                return
            asset.state, asset.progress = State.PROBING, 0.0
        log.info("processing asset %s attempt %d (delivery %d)", job.asset_id, job.attempt, meta.delivered)
        workdir = Path(tempfile.mkdtemp(prefix=f"{JOB_FOLDER_PREFIX}{job.asset_id}-", dir=self.scratch))
        started, kind = time.monotonic(), ["probe"]
        try:
            await self._run(job, workdir, kind)
        except ffmpeg.MediaRejected as rejected:
            record_job(kind[0], "failed", "rejected", started)
            await self.fail(job, str(rejected))
        except BaseException:
            record_job(kind[0], "retried", "error", started)
            raise
        else:
            record_job(kind[0], "done", "", started)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _run(self, job: media_pb2.AssetUploaded, workdir: Path, kind: list[str]) -> None:
        async with self.db.transaction() as session:
            asset = await session.get(Asset, job.asset_id)
            assert asset is not None
            source_key, fmt, school_id = asset.source_key, asset.format, asset.school_id
        demuxer = FFMPEG_DEMUXER.get(fmt)
        if demuxer is None:
            raise ffmpeg.MediaRejected(f"{fmt} is not a video format the platform processes")
        # The school's policy in force names the spec and the durations. Without the course service's answer the
        # job fails this delivery and is retried: a file is never checked against a spec the school does not follow.
        profile = spec.profile_for_policy(await self.policies(school_id))
        source = workdir / f"source.{fmt}"
        await self.store.download(source_key, source)
        probe = await ffmpeg.probe(source, demuxer)
        if probe.video is None:
            raise ffmpeg.MediaRejected("the file has no video stream")
        # The container's duration is the file's word: the frames' timestamps say how long it really is, and
        # every time limit below follows from that, before any encoding starts.
        scan = await ffmpeg.scan_frames(source, demuxer, timing.max_scanned_frames(profile.max_duration))
        refused = timing.refusal(probe.duration, scan, profile.max_duration, profile.label)
        if refused:
            raise ffmpeg.MediaRejected(refused)
        probe = replace(probe, duration=timing.real_duration(probe.duration, scan))
        measured = await ffmpeg.measure_signals(
            source, demuxer, probe, audio_bitrate=profile.constant_audio_bitrate,
            audio_levels=profile.min_audio_snr_db is not None, edges=profile.max_intro_outro_seconds is not None)
        report = spec.check_video(profile, probe, fmt, measured)
        transcode = spec.needs_transcode(report)
        async with self.db.transaction() as session:
            asset = await session.get(Asset, job.asset_id)
            assert asset is not None
            asset.spec_profile = profile.name
            # Subtitles may have been attached while the video waited: their lines stay in the report.
            kept = [rule for rule in json.loads(asset.spec_report_json or "[]")
                    if str(rule.get("rule", "")).startswith(spec.SUBTITLE_RULE_PREFIX)]
            asset.spec_report_json = json.dumps([asdict(rule) for rule in report.rules] + kept, ensure_ascii=False)
            asset.duration_seconds = probe.duration
            asset.state = State.TRANSCODING if transcode else State.PACKAGING
        encoding = spec.delivery_encoding(profile, self.encoding)
        if transcode and self.chunked.applies_to(probe.duration):
            kind[0] = "split"
            await self.chunked.plan(job.asset_id, job.attempt, source, demuxer, probe, encoding, workdir)
            return
        kind[0] = "transcode" if transcode else "remux"
        on_progress = self._progress_writer(job.asset_id)
        outputs = workdir / "out"
        outputs.mkdir()
        make = ffmpeg.transcode if transcode else ffmpeg.remux
        renditions = await make(source, demuxer, probe, outputs, encoding, on_progress=on_progress)
        await self.publish(job.asset_id, job.attempt, renditions)

    async def publish(self, asset_id: str, attempt: int, renditions: ffmpeg.Renditions) -> bool:
        """Store the renditions under a fresh prefix and switch the asset to them in one transaction, queued for
        review; False (and the outputs deleted) when the attempt was deleted or retried meanwhile."""
        prefix = f"renditions/{asset_id}/{attempt}-{uuid.uuid4().hex[:8]}"
        await self.store.upload_file(f"{prefix}/progressive.mp4", renditions.progressive_mp4)
        await self.store.upload_file(f"{prefix}/poster.jpg", renditions.poster)
        await self.store.upload_file(f"{prefix}/thumbnails.jpg", renditions.thumbnails)
        await self.store.upload_tree(f"{prefix}/hls", renditions.hls_dir)
        async with self.db.transaction() as session:
            asset = await session.get(Asset, asset_id)
            if asset is None or asset.attempt != attempt or asset.state not in PROCESSING_STATES:
                stale = True  # deleted or retried meanwhile: these outputs belong to nobody
            else:
                stale = False
                asset.rendition_prefix = prefix
                asset.renditions_json = json.dumps(list(renditions.rungs))
                asset.remuxed = renditions.remuxed
                asset.state, asset.progress = State.READY, 1.0
                await queue_for_review(session, asset)
        if stale:
            await self.store.delete_prefix(prefix + "/")
        return not stale

    def _progress_writer(self, asset_id: str):  # type: ignore[no-untyped-def]
        last = 0.0

        async def write(fraction: float) -> None:
            nonlocal last
            if time.monotonic() - last < PROGRESS_INTERVAL and fraction < 1.0:
                return
            last = time.monotonic()
            async with self.db.transaction() as session:
                asset = await session.get(Asset, asset_id)
                if asset is not None and asset.state in PROCESSING_STATES:
                    asset.progress = round(min(max(fraction, 0.0), 1.0), 3)

        return write

    async def fail(self, job: media_pb2.AssetUploaded, reason: str) -> None:
        await self.fail_attempt(job.asset_id, job.attempt, reason)

    async def fail_attempt(self, asset_id: str, attempt: int, reason: str) -> bool:
        """The attempt fails for good with a reason the teacher reads; False when it was no longer running."""
        async with self.db.transaction() as session:
            asset = await session.get(Asset, asset_id)
            failed = asset is not None and asset.attempt == attempt and asset.state in PROCESSING_STATES
            if failed:
                asset.state, asset.failure_reason = State.FAILED, public_reason(reason)
        log.warning("asset %s failed: %s", asset_id, reason)
        return failed

    async def give_up(self, job: media_pb2.AssetUploaded, meta: EventMeta, error: Exception) -> None:
        await self.fail(job, f"processing failed {meta.delivered} times; last error: {error}")

