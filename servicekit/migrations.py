"""One Alembic history per service: the shared env.py body, the head check a service starts with, and commands.

    python -m servicekit.migrations identity "add a column"   # autogenerates a revision
    python -m servicekit.migrations upgrade [service ...]     # migrates each service's schema to head, then exits
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from servicekit.db import Database

# The services with an Alembic history of their own, in the order the migration Job runs them (k8s/base/migrate.yaml).
SERVICES = ("identity", "review", "course", "sharing", "media", "learning")

log = logging.getLogger(__name__)


def run_migrations(target_metadata: MetaData) -> None:
    """Called from a service's migrations/env.py."""
    from alembic import context

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = context.config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    from servicekit.db import make_engine

    async def run_async() -> None:
        engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
        async with engine.begin() as conn:
            await conn.run_sync(run)
        await engine.dispose()

    asyncio.run(run_async())


def script_location(service: str) -> Path:
    return Path(importlib.import_module(f"services.{service}").__file__).parent / "migrations"


def autogenerate(service: str, message: str) -> None:
    """Write a new revision comparing the models with the current head, on a scratch SQLite."""
    from alembic import command
    from alembic.config import Config

    importlib.import_module(f"services.{service}.adapters.orm")
    with tempfile.TemporaryDirectory() as scratch:
        config = Config()
        config.set_main_option("script_location", str(script_location(service)))
        config.set_main_option("sqlalchemy.url", f"sqlite+aiosqlite:///{scratch}/scratch.db")
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)


class SchemaBehind(RuntimeError):
    """The database holds an older revision than the code's head: the migration Job has not run."""


def _current_revision(connection: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def require_at_head(db: Database, script_location: Path, service: str) -> None:
    """Refuse to start on a schema the code's head has not reached (migrations off: MIGRATE_ON_START=false).

    A revision this code does not know is newer: the next version migrated first, and expand-then-contract
    (docs/upgrade.md) keeps the running version working on it, so a pod of the old version may still start.
    """
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory(str(script_location))
    heads = set(script.get_heads())
    async with db.engine.connect() as conn:
        current = await conn.run_sync(_current_revision)
    if current in heads:
        return
    try:
        known = current is not None and script.get_revision(current) is not None
    except CommandError:  # alembic's ResolutionError: a revision of a newer version of the code
        known = False
    if current is not None and not known:
        log.warning("%s: the schema is at revision %s, newer than this code's head %s (expand-then-contract: "
                    "starting)", service, current, ", ".join(sorted(heads)))
        return
    where = f"schema {db.schema!r}" if db.schema else "the database"
    raise SchemaBehind(
        f"{service}: {where} is at revision {current or 'none (never migrated)'}, this code needs "
        f"{', '.join(sorted(heads))}. Run the migration Job (python -m servicekit.migrations upgrade; "
        f"docs/upgrade.md) before rolling out, or start with MIGRATE_ON_START=true")


async def upgrade(services: Sequence[str]) -> None:
    """Each service's schema to its head, with the settings the service itself reads (<NAME>_DATABASE_URL, ...)."""
    from servicekit.config import ServiceSettings
    from servicekit.db import Database

    for service in services:
        if service not in SERVICES:
            raise SystemExit(f"unknown service {service!r}; the services are {', '.join(SERVICES)}")
        settings = ServiceSettings(service)
        db = Database.from_url(settings.database_url, settings.database_schema)
        try:
            await db.migrate(script_location(service))
        finally:
            await db.dispose()
        log.info("%s: schema %s at head", service, settings.database_schema or "(default)")


def main(argv: Sequence[str]) -> None:
    if argv and argv[0] == "upgrade":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        asyncio.run(upgrade(argv[1:] or SERVICES))
    elif len(argv) == 2:
        autogenerate(argv[0], argv[1])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
