"""Wires the media service and its transcoding workers."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
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
from services.media.adapters.course import CoursePolicies
from services.media.adapters.orm import inbox, outbox
from services.media.domain.facts import ASSET_FACTS_READER
from services.media.entrypoints.grpc_server import SERVICE, MediaServicer
from services.media.service_layer.handlers import OWNER, MediaConfig, MediaHandlers
from services.media.service_layer.processing import MediaProcessor

MIGRATIONS = Path(__file__).parent / "migrations"
WORK_QUEUE = "media-workers"


def blob_store() -> BlobStore:
    return BlobStore.from_env(os.environ.get("MEDIA_BUCKET", "course-media"))


def media_config(runtime: Runtime) -> MediaConfig:
    settings = runtime.settings
    return MediaConfig(
        max_upload_bytes=int(settings.env("MAX_UPLOAD_BYTES", str(200 * 1000 * 1000))),
        abandoned_after=timedelta(seconds=int(settings.env("ABANDONED_AFTER_SECONDS", "86400"))),
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
    course = channel(runtime.settings.mesh.course_addr)
    processor = MediaProcessor(runtime.db, blob_store(), school_policies(course, runtime),
                               scratch=scratch_dir(runtime))
    processor.clean_scratch()
    subscription = Subscription(
        durable=WORK_QUEUE, stream="MEDIA", filter_subject="media.asset.uploaded",
        handlers={media_pb2.AssetUploaded: processor.process},
        ack_wait=float(runtime.settings.env("JOB_ACK_WAIT_SECONDS", "30")),
        max_deliver=int(runtime.settings.env("JOB_MAX_DELIVER", "5")),
        batch=1,
    )
    host = ServiceHost("media-worker", _no_auth())
    host.workers.append(JobConsumer(runtime.js, subscription, give_up=processor.give_up).run)
    host.on_stop.append(course.close)
    host.on_stop.append(runtime.close)
    return host, runtime


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
