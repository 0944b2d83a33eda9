"""Wires the learning service: its own database and stream, the course service as the judge of who is
enrolled where, the key that signs playback grants, and its bucket for the files students attach to assignments."""

from __future__ import annotations

from pathlib import Path

from contracts.learning.v1 import learning_pb2_grpc
from servicekit.auth import TokenVerifier
from servicekit.clients import channel, jwks_from_identity
from servicekit.consumer import Subscription
from servicekit.grpc_server import CallerInterceptor, ServiceHost
from servicekit.playback import GRANT_SERVICE
from servicekit.runtime import Runtime
from servicekit.service_keys import ServiceGrants, service_key
from services.learning.adapters.attachments import AttachmentStore
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.orm import inbox, outbox
from services.learning.entrypoints import (
    assessments_server,
    assignments_server,
    at_risk_server,
    evaluation_server,
    forum_server,
    grades_server,
    inbox_server,
    notices_server,
)
from services.learning.entrypoints.grpc_server import SERVICE, LearningServicer
from services.learning.service_layer.progress import WATCHED_MINUTES_READER, ProgressHandlers
from services.learning.service_layer.studies import StudyHandlers

MIGRATIONS = Path(__file__).parent / "migrations"


async def build() -> tuple[ServiceHost, Runtime]:
    runtime = await Runtime.start("learning", MIGRATIONS, "LEARNING")
    mesh = runtime.settings.mesh
    identity, course_channel = channel(mesh.identity_addr), channel(mesh.course_addr)
    key = service_key(GRANT_SERVICE, mesh)  # signs playback grants; presented to the course service for policies
    course = CoursePeer(course_channel, key)
    progress = ProgressHandlers(runtime.db, course, key)
    studies = StudyHandlers(course, progress)
    verifier = TokenVerifier(jwks_from_identity(identity), mesh.token_issuer)
    # The batch carries each player's token, verified per item (the call itself has no single caller). The course
    # service reads the minutes watched per run with its own key (its school report has no user behind the figure);
    # that key opens this one read and nothing else.
    grants = ServiceGrants({WATCHED_MINUTES_READER: service_key(WATCHED_MINUTES_READER, mesh)},
                           {f"/{SERVICE}/GetWatchedMinutes": (WATCHED_MINUTES_READER,),
                            # and the counts of quizzes and topics for a course's acceptance facts
                            f"/{SERVICE}/GetRunActivityCounts": (WATCHED_MINUTES_READER,),
                            # and the students' evaluation of its runs (scores, no comments), likewise
                            f"/{evaluation_server.SERVICE}/GetRunEvaluationScores": (WATCHED_MINUTES_READER,)})
    host = ServiceHost("learning", CallerInterceptor(verifier, public_methods=[f"/{SERVICE}/ReportProgressBatch"],
                                                     service_grants=grants))
    host.add_servicer(learning_pb2_grpc.add_LearningServiceServicer_to_server,
                      LearningServicer(progress, studies, verifier), SERVICE)
    store = AttachmentStore.from_env()
    await store.blobs.ensure_bucket()
    assignments_server.wire(host, runtime, course, store)
    notices_server.wire(host, runtime, course)
    inbox_server.wire(host, runtime)
    subscriptions: list[Subscription] = [
        *assessments_server.wire(host, runtime, course, progress, studies),
        *grades_server.wire(host, runtime, course, progress, studies),
        *forum_server.wire(host, runtime, course),
        *at_risk_server.wire(host, runtime, course),
        *evaluation_server.wire(host, runtime, course),
    ]
    runtime.attach(host, outbox, inbox, subscriptions)
    host.on_stop.append(identity.close)
    host.on_stop.append(course_channel.close)
    return host, runtime
