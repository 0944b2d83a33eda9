"""Wires the media service and its transcoding workers."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import grpc

from contracts.media.v1 import media_pb2, media_pb2_grpc
from contracts.review.v1 import review_pb2
from servicekit.auth import TokenVerifier
from servicekit.clients import channel, jwks_from_identity
from servicekit.consumer import JobConsumer, Subscription
from servicekit.grpc_server import CallerInterceptor, ServiceHost
from servicekit.objects import BlobStore
from servicekit.playback import GRANT_SERVICE
from servicekit.reviews import decided_subject
from servicekit.runtime import Runtime
from servicekit.service_keys import ServiceGrants, service_key
from services.media.adapters import ffmpeg
from services.media.adapters.course import CoursePolicies
from services.media.adapters.metrics import watch_queue_depth
from services.media.adapters.orm import inbox, outbox
from services.media.domain.encoding import DEFAULT_ENCODING, VIDEO_ENCODERS, EncodingProfile
from services.media.domain.facts import ASSET_FACTS_READER
from services.media.entrypoints.grpc_server import SERVICE, MediaServicer
from services.media.entrypoints.jobs import PreferringJobs
from services.media.service_layer.chunks import ChunkSettings
from services.media.service_layer.handlers import OWNER, MediaConfig, MediaHandlers
from services.media.service_layer.processing import MediaProcessor

MIGRATIONS = Path(__file__).parent / "migrations"
WORK_QUEUE = "media-workers"
CHUNK_QUEUE = "media-chunk-workers"  # chunks of long sources and their joins (servicekit.messaging.CONSUMERS)


def blob_store() -> BlobStore:
    return BlobStore.from_env(os.environ.get("MEDIA_BUCKET", "course-media"))


def media_config(runtime: Runtime) -> MediaConfig:
    settings = runtime.settings
    return MediaConfig(
        max_upload_bytes=int(settings.env("MAX_UPLOAD_BYTES", str(200 * 1000 * 1000))),
        abandoned_after=timedelta(seconds=int(settings.env("ABANDONED_AFTER_SECONDS", "86400"))),
        job_max_deliver=int(settings.env("JOB_MAX_DELIVER", "5")),  # the workers' setting: their jobs' deliveries
        stalled_requeues=int(settings.env("STALLED_REQUEUES", "2")),
    )


async def build() -> tuple[ServiceHost, Runtime]:
    runtime = await Runtime.start("media", MIGRATIONS, "MEDIA")
    mesh = runtime.settings.mesh
    store = blob_store()
    await store.ensure_bucket()
    course = channel(mesh.course_addr)
    # Playback grants are signed with the learning service's key (LEARNING_SERVICE_KEY); media checks them locally.
    handlers = MediaHandlers(runtime.db, store, media_config(runtime), school_policies(course, runtime),
                             grant_key=service_key(GRANT_SERVICE, mesh))
    identity = channel(mesh.identity_addr)
    # The course service reads its videos' height, subtitles and uploader for a course's acceptance facts with its
    # own key (no user is behind the figures); that key opens this one read and nothing else.
    grants = ServiceGrants({ASSET_FACTS_READER: service_key(ASSET_FACTS_READER, mesh)},
                           {f"/{SERVICE}/GetAssetFacts": (ASSET_FACTS_READER,)})
    host = ServiceHost("media", CallerInterceptor(TokenVerifier(jwks_from_identity(identity), mesh.token_issuer),
                                                  service_grants=grants))
    host.add_servicer(media_pb2_grpc.add_MediaServiceServicer_to_server, MediaServicer(handlers), SERVICE)
    runtime.attach(host, outbox, inbox, [
        Subscription(
            durable="media-review-decisions", stream="REVIEW", filter_subject=decided_subject(OWNER),
            handlers={review_pb2.ReviewDecided: handlers.apply_review_decision},
        )
    ])
    interval = float(runtime.settings.env("CLEANUP_INTERVAL_SECONDS", "3600"))

    async def clean_up() -> None:
        while True:
            await handlers.clean_abandoned_uploads()
            await handlers.fail_stalled_jobs()
            await asyncio.sleep(interval)

    host.workers.append(clean_up)
    host.on_stop.append(identity.close)
    host.on_stop.append(course.close)
    return host, runtime


def school_policies(course: grpc.aio.Channel, runtime: Runtime) -> CoursePolicies:
    """The course service's policy reads, with the media service's own key (MEDIA_SERVICE_KEY): the worker's jobs
    have no user behind them, and the course service grants this key GetEffectivePolicy only."""
    return CoursePolicies(course, service_key("media", runtime.settings.mesh))


async def build_worker() -> tuple[ServiceHost, Runtime]:
    """A transcoding worker: its own process, many of them share the work queue."""
    runtime = await Runtime.start("media", MIGRATIONS, "MEDIA")
    settings = runtime.settings
    encoding = worker_encoding(settings.env("VIDEO_ENCODER", "libx264"), int(settings.env("FFMPEG_THREADS", "0")))
    await check_encoder(encoding.video_encoder)
    course = channel(runtime.settings.mesh.course_addr)
    processor = MediaProcessor(runtime.db, blob_store(), school_policies(course, runtime),
                               scratch=scratch_dir(runtime), encoding=encoding, chunking=chunk_settings(runtime))
    processor.clean_scratch()
    ack_wait = float(settings.env("JOB_ACK_WAIT_SECONDS", "30"))
    max_deliver = int(settings.env("JOB_MAX_DELIVER", "5"))
    whole_files = Subscription(
        durable=WORK_QUEUE, stream="MEDIA", filter_subject="media.asset.uploaded",
        handlers={media_pb2.AssetUploaded: processor.process},
        ack_wait=ack_wait, max_deliver=max_deliver, batch=1,
    )
    chunks = Subscription(
        durable=CHUNK_QUEUE, stream="MEDIA", filter_subject="media.chunk.>",
        handlers={media_pb2.ChunkCut: processor.chunked.encode, media_pb2.ChunksEncoded: processor.chunked.join},
        ack_wait=ack_wait, max_deliver=max_deliver, batch=1,
    )
    host = ServiceHost("media-worker", _no_auth())
    host.workers.append(PreferringJobs([
        JobConsumer(runtime.js, whole_files, give_up=processor.give_up),
        JobConsumer(runtime.js, chunks, give_up=processor.chunked.give_up),
    ], preempt=processor.chunked.paused).run)
    depth_interval = float(settings.env("QUEUE_DEPTH_INTERVAL_SECONDS", "15"))
    host.workers.append(lambda: watch_queue_depth(runtime.js, "MEDIA", (WORK_QUEUE, CHUNK_QUEUE), depth_interval))
    host.on_stop.append(course.close)
    host.on_stop.append(runtime.close)
    return host, runtime


def chunk_settings(runtime: Runtime) -> ChunkSettings | None:
    """MEDIA_CHUNK_MIN_SECONDS (0: never chunk) and MEDIA_CHUNK_SECONDS."""
    minimum = float(runtime.settings.env("CHUNK_MIN_SECONDS", str(ChunkSettings.min_seconds)))
    if minimum <= 0:
        return None
    return ChunkSettings(minimum, float(runtime.settings.env("CHUNK_SECONDS", str(ChunkSettings.chunk_seconds))))


def worker_encoding(encoder: str, threads: int) -> EncodingProfile:
    """MEDIA_VIDEO_ENCODER (libx264, the default, or h264_nvenc) and MEDIA_FFMPEG_THREADS (0: all cores)."""
    if encoder not in VIDEO_ENCODERS:
        raise RuntimeError(f"MEDIA_VIDEO_ENCODER={encoder!r} is not one of {', '.join(VIDEO_ENCODERS)}")
    if threads < 0:
        raise RuntimeError(f"MEDIA_FFMPEG_THREADS must be 0 (all cores) or more, not {threads}")
    return replace(DEFAULT_ENCODING, video_encoder=encoder, threads=threads)


async def check_encoder(encoder: str) -> None:
    """A hardware encoder is refused at start, clearly, where this ffmpeg lacks it or it cannot open (no GPU): a
    worker that fails every job later would only look busy."""
    if encoder == "libx264":
        return
    binary = ffmpeg.binaries()[0]
    listed = await ffmpeg.run_tool([binary, "-hide_banner", "-encoders"], time_limit=30)
    if f" {encoder} " not in listed.stdout.decode("utf-8", "replace"):
        raise RuntimeError(f"MEDIA_VIDEO_ENCODER={encoder}: this ffmpeg ({binary}) has no such encoder")
    trial = await ffmpeg.run_tool([binary, "-hide_banner", "-v", "error", "-f", "lavfi", "-i",
                                   "color=size=256x256:duration=0.2", "-c:v", encoder, "-f", "null", "-"],
                                  time_limit=30)
    if trial.returncode != 0:
        raise RuntimeError(f"MEDIA_VIDEO_ENCODER={encoder}: the encoder does not open here (no GPU?): "
                           f"{trial.stderr_tail}")


def scratch_dir(runtime: Runtime) -> Path:
    """This worker's own scratch folder (MEDIA_SCRATCH_DIR), emptied at start: workers sharing a machine
    each have one, named by their health port (or the host, in a pod of its own)."""
    configured = runtime.settings.env("SCRATCH_DIR", "")
    if configured:
        return Path(configured)
    port = os.environ.get("MEDIA_WORKER_GRPC_PORT", "0")
    name = port if port != "0" else socket.gethostname()
    return Path(tempfile.gettempdir()) / f"media-scratch-{name}"


def _no_auth():  # type: ignore[no-untyped-def]
    """A worker serves only health; nothing to authorise."""
    from grpc.aio import ServerInterceptor

    class Passthrough(ServerInterceptor):
        async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
            return await continuation(details)

    return Passthrough()
