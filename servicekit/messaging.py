"""NATS JetStream: connecting (authenticated), the mesh's streams, who may publish and who may read what."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from servicekit.auth import REVOCATION_STREAM, REVOCATION_SUBJECT

log = logging.getLogger(__name__)

# One stream per producing service; subjects read as facts: "<service>.<thing>.<happened>".
STREAMS: dict[str, str] = {
    "IDENTITY": "identity.>",
    "REVIEW": "review.>",
    "COURSE": "course.>",
    "MEDIA": "media.>",
    "SHARING": "sharing.>",
    "LEARNING": "learning.>",
}
DUPLICATE_WINDOW_SECONDS = 600.0

EVENT_ID_HEADER = "Nats-Msg-Id"
EVENT_TYPE_HEADER = "Event-Type"

# The NATS users of the mesh: each service publishes as itself; the transcoding workers and the
# gateway only read.
PRODUCERS: dict[str, str] = {"identity": "IDENTITY", "review": "REVIEW", "course": "COURSE",
                             "media": "MEDIA", "sharing": "SHARING", "learning": "LEARNING"}
READERS: dict[str, str | None] = {"media-worker": "MEDIA", "gateway": None}
NATS_USERS: tuple[str, ...] = (*PRODUCERS, *READERS)


@dataclass(frozen=True)
class Reads:
    """One consumer a NATS user creates: on `stream`, filtered to `subject`; `durable` names it (None: ephemeral)."""

    stream: str
    subject: str
    durable: str | None = None


# Every process that verifies access tokens follows the revoked sessions (servicekit.auth.RevocationList.follow).
REVOCATIONS = Reads(REVOCATION_STREAM, REVOCATION_SUBJECT)
# The review saga's subjects (servicekit.reviews: requested_subject, withdrawn_subject, decided_subject).
REVIEWED_OWNERS = ("identity", "media", "course", "sharing")

# What each user consumes, and nothing more: the bus lets it create consumers (durable or ephemeral) only on
# these streams with these filter subjects, fetch and acknowledge only there, core-subscribe only to these
# subjects. A producer may also read back its own stream (PRODUCERS), which tells it nothing it did not write.
CONSUMERS: dict[str, tuple[Reads, ...]] = {
    "identity": (
        Reads("REVIEW", "review.item.decided.identity", "identity-review-decisions"),
        Reads("SHARING", "sharing.adoption.accepted", "identity-adoptions"),
        Reads("LEARNING", "learning.inbox.delivered", "identity-inbox-mail"),
        REVOCATIONS,
    ),
    "review": (
        *(Reads(PRODUCERS[owner], f"{owner}.review.{happened}", f"review-{owner}-{kind}")
          for owner in REVIEWED_OWNERS for kind, happened in (("requests", "requested"), ("withdrawals", "withdrawn"))),
        REVOCATIONS,
    ),
    "course": (
        Reads("REVIEW", "review.item.decided.course", "course-review-decisions"),
        Reads("MEDIA", "media.asset.referenceability_changed", "course-media-changes"),
        REVOCATIONS,
    ),
    "media": (Reads("REVIEW", "review.item.decided.media", "media-review-decisions"), REVOCATIONS),
    # the transcoding job queues: whole files, and the chunks of long ones (with their join), which workers
    # take only when no whole file waits
    "media-worker": (Reads("MEDIA", "media.asset.uploaded", "media-workers"),
                     Reads("MEDIA", "media.chunk.>", "media-chunk-workers")),
    "sharing": (
        Reads("REVIEW", "review.item.decided.sharing", "sharing-review-decisions"),
        Reads("COURSE", "course.run.>", "sharing-run-changes"),
        Reads("COURSE", "course.course.changed", "sharing-course-changes"),
        REVOCATIONS,
    ),
    "learning": (Reads("COURSE", "course.run.opened", "learning-run-openings"), REVOCATIONS),
    "gateway": (REVOCATIONS,),
}
# The durable consumers each user owns: nobody else may create, update, fetch from or acknowledge on them
# (a forged ack or a changed filter would make their owner miss events).
DURABLES: dict[str, tuple[str, ...]] = {
    user: durables for user, reads in CONSUMERS.items()
    if (durables := tuple(read.durable for read in reads if read.durable))
}
# JetStream key-value buckets a user owns (gateway.ratelimit.BUCKET: the replicas' shared counters).
KV_BUCKETS: dict[str, tuple[str, ...]] = {"gateway": ("gateway_rate_limits",)}


def producer_of(stream: str) -> str:
    """The only service whose credentials may put events into `stream`."""
    for service, own in PRODUCERS.items():
        if own == stream:
            return service
    raise KeyError(stream)


def inbox_prefix(user: str) -> str:
    """Each user's replies arrive under its own prefix, which only it may subscribe to."""
    return f"_INBOX_{user.replace('-', '_')}"


def permissions(user: str) -> dict:
    """What `user` may publish and subscribe to (the nats-server `permissions` map).

    Publish: its own subjects; the JetStream API to create or update its own stream (the
    media workers: their service's) and to read the info of the streams it writes or reads.
    Consumers only as CONSUMERS declares them (and any on its own stream): created on a stream
    it reads with one of its filter subjects, which the API subject carries and nats-server
    holds the request to, then fetched from and acknowledged there. The create forms without a
    filter in their subject are refused to everyone: they would let any filter through, and
    reshape a durable by its name (nats-py's ordered and multi-filter consumers use them; read
    with a pull consumer on one subject and `stream=` instead). Nothing else: no stream
    deletion, purge, message get or deletion, no other service's stream (whose config could
    source messages in), no other user's inbox, and none of the durable consumers of another
    user (DURABLES) on the streams it reads.
    Subscribe: its own inbox (where fetched messages arrive) and the subjects it consumes.
    """
    if user in PRODUCERS:
        own_subjects, stream = [STREAMS[PRODUCERS[user]]], PRODUCERS[user]
    elif user in READERS:
        own_subjects, stream = [], READERS[user]
    else:
        raise KeyError(f"no NATS user {user!r}")
    own_streams = [stream] if stream else []
    reads = list(CONSUMERS.get(user, ()))
    if user in PRODUCERS:  # reading back its own facts
        reads.append(Reads(PRODUCERS[user], STREAMS[PRODUCERS[user]]))
    read_streams = unique(read.stream for read in reads)
    for bucket in KV_BUCKETS.get(user, ()):
        own_subjects.append(f"$KV.{bucket}.>")
        own_streams.append(f"KV_{bucket}")
    kv_reads = [
        subject
        for bucket in KV_BUCKETS.get(user, ())
        for subject in (f"$JS.API.DIRECT.GET.KV_{bucket}", f"$JS.API.DIRECT.GET.KV_{bucket}.>",
                        f"$JS.API.STREAM.MSG.GET.KV_{bucket}",
                        f"$JS.API.STREAM.PURGE.KV_{bucket}")
    ]
    consuming = [
        *unique(f"$JS.API.CONSUMER.CREATE.{read.stream}.*.{read.subject}" for read in reads),
        *[subject for name in read_streams
          for subject in (f"$JS.API.CONSUMER.INFO.{name}.*", f"$JS.API.CONSUMER.MSG.NEXT.{name}.*",
                          f"$JS.ACK.{name}.>")],
    ]
    publish = [
        *own_subjects,
        "$JS.API.INFO",
        "$JS.API.STREAM.NAMES",  # which stream holds a subject (js.subscribe without a stream)
        *[f"$JS.API.STREAM.INFO.{name}" for name in unique([*own_streams, *read_streams])],
        *[f"$JS.API.STREAM.{verb}.{name}" for name in own_streams for verb in ("CREATE", "UPDATE")],
        *kv_reads,
        *consuming,
    ]
    others = [(read.stream, read.durable) for owner, owned in CONSUMERS.items() if owner != user
              for read in owned if read.durable and read.stream in read_streams]
    deny = [
        subject
        for name, durable in others
        for subject in (f"$JS.API.CONSUMER.CREATE.{name}.{durable}.>", f"$JS.API.CONSUMER.MSG.NEXT.{name}.{durable}",
                        f"$JS.ACK.{name}.{durable}.>")
    ]
    subscribe = [f"{inbox_prefix(user)}.>", *unique(read.subject for read in reads)]
    return {"publish": {"allow": publish, "deny": deny}, "subscribe": {"allow": subscribe}}


def unique(items: Iterable[str]) -> list[str]:
    """`items` without repeats, in their first order (the generated configuration stays stable)."""
    return list(dict.fromkeys(items))


def password_variable(user: str) -> str:
    """The environment variable nats-server reads `user`'s password from (Kubernetes: from a Secret)."""
    return f"NATS_{user.upper().replace('-', '_')}_PASSWORD"


def authorization_block(passwords: dict[str, str], indent: str = "") -> str:
    """The nats-server `authorization` section: one user per mesh user, with its permissions.

    `passwords` maps each user to a quoted literal or to a `$VARIABLE` reference (Kubernetes
    passes the Secrets' values to nats-server as environment variables).
    """
    lines = [f"{indent}authorization {{", f"{indent}  users = ["]
    for user in NATS_USERS:
        lines.append(
            f"{indent}    {{user: {json.dumps(user)}, password: {passwords[user]}, "
            f"permissions: {json.dumps(permissions(user), sort_keys=True)}}}"
        )
    lines += [f"{indent}  ]", f"{indent}}}"]
    return "\n".join(lines)


@dataclass(frozen=True)
class NatsCredentials:
    user: str
    password: str

    @classmethod
    def from_env(cls) -> NatsCredentials | None:
        """`NATS_USER` with `NATS_PASSWORD` or `NATS_PASSWORD_FILE`; None when no user is set."""
        user = os.environ.get("NATS_USER", "")
        if not user:
            return None
        password = os.environ.get("NATS_PASSWORD", "")
        password_file = os.environ.get("NATS_PASSWORD_FILE", "")
        if password_file:
            password = Path(password_file).read_text().strip()
        if not password:
            raise RuntimeError("NATS_USER is set but neither NATS_PASSWORD nor NATS_PASSWORD_FILE")
        return cls(user, password)


async def connect(url: str, name: str, attempts: int = 60, credentials: NatsCredentials | None = None) -> NATS:
    """Connect (as `credentials`, else the environment's), retrying while the server comes up.

    Refused credentials fail at once: retrying cannot fix them. Once connected, the client
    reconnects forever.
    """
    credentials = credentials or NatsCredentials.from_env()
    auth: dict = {}
    if credentials is not None:
        auth = {"user": credentials.user, "password": credentials.password,
                "inbox_prefix": inbox_prefix(credentials.user)}
    connecting = True

    async def on_error(error: Exception) -> None:
        if connecting and "authorization violation" in str(error).lower():
            raise NatsAuthRefused(f"NATS at {url} refused the credentials of {name!r}: {error}")
        if connecting and attempt_failed(error):
            raise error
        log.warning("nats (%s): %s", name, error)

    def attempt_failed(error: Exception) -> bool:
        return isinstance(error, (OSError, TimeoutError))

    for attempt in range(attempts):
        try:
            nc = await nats.connect(
                servers=[url],
                name=name,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                error_cb=on_error,
                **auth,
            )
            connecting = False
            return nc
        except NatsAuthRefused:
            raise
        except (OSError, nats.errors.Error, TimeoutError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


class NatsAuthRefused(RuntimeError):
    """The server refused this connection's credentials."""


def stream_replicas() -> int:
    """How many copies of each stream a NATS cluster keeps (`NATS_STREAM_REPLICAS`, 1 to 5)."""
    replicas = int(os.environ.get("NATS_STREAM_REPLICAS", "1"))
    if not 1 <= replicas <= 5:
        raise RuntimeError(f"NATS_STREAM_REPLICAS must be 1 to 5, not {replicas}")
    return replicas


async def ensure_stream(js: JetStreamContext, name: str) -> None:
    """Create the producer's stream, or bring its configuration up to date (its producer calls this)."""
    config = StreamConfig(
        name=name,
        subjects=[STREAMS[name]],
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=stream_replicas(),
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


async def wait_for_stream(js: JetStreamContext, name: str) -> None:
    """A consumer's side: the stream is its producer's to create; raises NotFoundError until it is."""
    try:
        await js.stream_info(name)
    except NotFoundError:
        raise NotFoundError(description=f"stream {name} does not exist yet") from None
