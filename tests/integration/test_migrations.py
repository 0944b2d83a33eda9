"""Each service's Alembic history builds exactly the tables its models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from servicekit.db import Database
from servicekit.migrations import script_location


@pytest.mark.parametrize("service", ["identity", "review", "media", "course", "sharing", "learning"])
async def test_migrations_match_the_models(service: str, database_url) -> None:  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location(service))
    await db.migrate(script_location(service))  # running again changes nothing
    metadata = importlib.import_module(f"services.{service}.adapters.orm").Base.metadata

    def differences(connection):  # type: ignore[no-untyped-def]
        return compare_metadata(MigrationContext.configure(connection), metadata)

    async with db.engine.connect() as conn:
        assert await conn.run_sync(differences) == []
    await db.dispose()
