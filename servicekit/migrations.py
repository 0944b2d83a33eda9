"""One Alembic history per service: the shared env.py body and a revision command.

    python -m servicekit.migrations identity "add a column"   # autogenerates a revision
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import tempfile
from pathlib import Path

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection


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


if __name__ == "__main__":
    autogenerate(sys.argv[1], sys.argv[2])
