"""Async SQLAlchemy engines and transactions for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use servicekit.clock.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# Every service's declarative base maps `datetime` annotations to aware UTC columns.
TYPE_ANNOTATION_MAP = {datetime: UTCDateTime}


def new_id() -> str:
    return str(uuid.uuid4())


READ_ONLY = "platform_read_only"
SQLITE_BUSY_SECONDS = 30


def make_engine(url: str, schema: str | None = None) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
        _serialise_sqlite_writers(engine)
        return engine
    connect_args = {"server_settings": {"search_path": schema}} if schema else {}
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, connect_args=connect_args)


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    # A deferred SQLite transaction that reads and then writes fails at once with
    # "database is locked" when another writer got there first; BEGIN IMMEDIATE
    # makes it wait (busy_timeout) instead. WAL lets readers go on meanwhile.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Readers (Database.read) take no write lock, so they run side by side under WAL.
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


class Database:
    """One service's database: sessions in transactions, and a signal for the outbox relay."""

    def __init__(self, engine: AsyncEngine, schema: str | None = None) -> None:
        self.engine = engine
        self.schema = schema
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.outbox_written = asyncio.Event()
        # SQLite has one writer at a time. Left to SQLite, the writers of this process wait for each other in its
        # busy handler's growing sleeps (up to 100 ms a try, and unfairly); taking turns here makes them wait in
        # order, and no longer.
        self._sqlite_writers = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def from_url(cls, url: str, schema: str | None = None) -> Database:
        return cls(make_engine(url, schema), schema)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on any exception."""
        async with self._turn():
            async with self.sessions() as session:
                async with session.begin():
                    yield session
                if session.info.pop("outbox_written", False):
                    self.outbox_written.set()

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """SQLite: this process's writers one after the other, in order (waiting as long as SQLite's busy timeout
        would, then giving up as SQLite would); PostgreSQL: no turns."""
        if self._sqlite_writers is None:
            yield
            return
        try:
            if self._sqlite_writers.locked():
                await asyncio.wait_for(self._sqlite_writers.acquire(), SQLITE_BUSY_SECONDS)
            else:
                await self._sqlite_writers.acquire()  # free: taken at once (wait_for would make a task)
        except TimeoutError:
            raise OperationalError("BEGIN IMMEDIATE", None, Exception("database is locked")) from None
        try:
            yield
        finally:
            self._sqlite_writers.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A transaction that only reads: on SQLite it waits for no writer and blocks none."""
        async with self.sessions() as session:  # closing ends the transaction; loaded rows stay readable
            await session.connection(execution_options={READ_ONLY: True})
            yield session

    async def migrate(self, script_location: Path) -> None:
        """Bring the schema to the newest revision of this service's Alembic history."""
        from alembic import command
        from alembic.config import Config

        if self.schema and not self.is_sqlite:
            async with self.engine.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))

        def upgrade(connection: Connection) -> None:
            config = Config()
            config.set_main_option("script_location", str(script_location))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                # Replicas starting together take turns; the lock ends with the transaction.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"migrate:{self.schema or ''}:{script_location}"},
                )
            await conn.run_sync(upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()
