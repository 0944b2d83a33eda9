"""What starting any service takes: settings, logging, its database migrated, NATS, its host."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy import Table

from servicekit import logs, tracing
from servicekit.auth import TokenVerifier
from servicekit.config import ServiceSettings
from servicekit.consumer import EventConsumer, Subscription
from servicekit.db import Database
from servicekit.grpc_server import ServiceHost
from servicekit.messaging import connect, ensure_stream
from servicekit.metrics import start_metrics_server
from servicekit.migrations import SchemaBehind, require_at_head
from servicekit.outbox import OutboxRelay


def configure_logging() -> None:
    """JSON log lines (servicekit.logs) and, when OTEL_* says where to, traces (servicekit.tracing): the first
    thing every process does, before it builds any server or channel."""
    service = os.environ.get("OTEL_SERVICE_NAME") or tracing.process_service_name()
    logs.configure(service, os.environ.get("LOG_LEVEL", "INFO"))
    logging.getLogger("nats").setLevel(logging.WARNING)
    tracing.configure_tracing(service)


@dataclass
class Runtime:
    settings: ServiceSettings
    db: Database
    nc: NATS
    js: JetStreamContext

    @classmethod
    async def start(cls, name: str, migrations: Path, stream: str) -> Runtime:
        settings = ServiceSettings(name)
        start_metrics_server()  # on METRICS_PORT, when set
        db = Database.from_url(settings.database_url, settings.database_schema)
        # In Kubernetes a Job migrates before the rollout (docs/upgrade.md): replicas then only check the schema.
        if os.environ.get("MIGRATE_ON_START", "true").strip().lower() in ("0", "false", "no", "off"):
            await require_at_head(db, migrations, name)
        else:
            await db.migrate(migrations)
        nc = await connect(settings.mesh.nats_url, name)
        js = nc.jetstream()
        await ensure_stream(js, stream)
        return cls(settings, db, nc, js)

    def attach(self, host: ServiceHost, outbox: Table, inbox: Table, subscriptions: list[Subscription]) -> None:
        """The outbox relay and the event consumers run beside the gRPC server."""
        host.workers.append(OutboxRelay(self.db, outbox, self.js, service=self.settings.name).run)
        verifier = getattr(host.interceptor, "verifier", None)
        if isinstance(verifier, TokenVerifier):  # revoked sessions' tokens are refused here too
            host.workers.append(functools.partial(verifier.revocations.follow, self.js))
        for subscription in subscriptions:
            host.workers.append(EventConsumer(self.db, inbox, self.js, subscription, service=self.settings.name).run)
        host.on_stop.append(self.close)

    async def close(self) -> None:
        # Workers are stopped by now and ack only after their commit, so nothing is in
        # flight: close. (drain() waits out its timeout on the cancelled pull subscriptions.)
        if not self.nc.is_closed:
            await self.nc.close()
        await self.db.dispose()


def main(build: Callable[[], Awaitable[tuple[ServiceHost, Runtime]]]) -> None:
    """The entry point of a service process."""
    configure_logging()

    async def serve() -> None:
        host, runtime = await build()
        await host.serve_until_signalled(runtime.settings.grpc_host, runtime.settings.grpc_port)

    try:
        asyncio.run(serve())
    except SchemaBehind as behind:  # an operator's mistake, not a bug: say what to do, without a traceback
        logging.getLogger(__name__).critical("%s", behind)
        raise SystemExit(3) from None
