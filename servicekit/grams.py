"""A gram index for substring search: candidates come from posting lists of unigrams and bigrams, the escaped
LIKE of `servicekit.search.contains` only verifies them, so results stay exactly what the LIKE alone gave.

A row that owns searchable texts (say a sharing entry: its lowercased names, field 0, and their pinyin key, field 1)
keeps in its service's gram table one row (scope, gram, rank, owner_id) per distinct character and per distinct pair of
adjacent characters of each text. A string containing the query contains every character and every adjacent pair
of it, so the owners holding all of the query's bigrams (its one unigram for a single character) are a superset of
the LIKE's matches; a query of one or two characters is even matched exactly by its one posting list. Chinese
needs no word splitting and one- and two-character queries are covered, which PostgreSQL's trigrams are not; the
same tables and SQL run on SQLite and PostgreSQL.

A gram is one integer: field << 43 | (first character + 1) << 21 | second character for a bigram, field << 43 |
character for a unigram (code points are below 2**21, so the two never meet). The owning rows are kept in step by
a flush listener: inserted, edited and deleted owners rewrite their grams in the same transaction, whoever wrote
them, and every write of an owner (its text or not: a state change changes what a search counts) raises its
scope's revision, under which a search's total is remembered (`Totals`) instead of counted on every first page.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    FromClause,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    event,
    false,
    func,
    literal,
    select,
    union,
)
from sqlalchemy import insert as core_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, attributes
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from servicekit.pagination import next_page_token, page_position

_CHAR_BITS = 21  # every code point is below 2**21
_FIELD_SHIFT = 2 * _CHAR_BITS + 1


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def folded(text: str | None) -> str:
    """`text` with A-Z lowercased, as SQLite's LIKE compares them: grams of folded texts and folded queries are a
    superset of a case-sensitive LIKE (PostgreSQL's) and of SQLite's alike, the LIKE itself then deciding."""
    return (text or "").translate(_ASCII_LOWER)


def unigram(char: str, field_number: int = 0) -> int:
    return field_number << _FIELD_SHIFT | ord(char)


def bigram(first: str, second: str, field_number: int = 0) -> int:
    return field_number << _FIELD_SHIFT | (ord(first) + 1) << _CHAR_BITS | ord(second)


def text_grams(text: str, field_number: int = 0) -> set[int]:
    """Every character's unigram and every adjacent pair's bigram of a stored text."""
    grams = {unigram(char, field_number) for char in text}
    grams.update(bigram(a, b, field_number) for a, b in zip(text, text[1:], strict=False))
    return grams


def query_grams(text: str, field_number: int = 0) -> list[int]:
    """The grams a text containing `text` has for sure: its bigrams, or its unigram when it is one character."""
    if len(text) == 1:
        return [unigram(text, field_number)]
    return sorted({bigram(a, b, field_number) for a, b in zip(text, text[1:], strict=False)})


def gram_table(metadata: MetaData, name: str, key_length: int = 36, rank_length: int = 100) -> Table:
    """An owning service's gram table. It has no row id on SQLite: its primary key (scope, gram, rank, owner_id) is
    the posting lists, each in the order the owners are shown."""
    grams = Table(
        name, metadata,
        Column("scope", String(key_length), primary_key=True),
        Column("gram", BigInteger, primary_key=True, autoincrement=False),
        Column("rank", String(rank_length), primary_key=True),
        Column("owner_id", String(key_length), primary_key=True),
        sqlite_with_rowid=False,
    )
    return grams


def gram_tables(metadata: MetaData, name: str, key_length: int = 36, rank_length: int = 100) -> tuple[Table, Table]:
    """A gram table and its scopes' revisions, for searches whose totals are remembered per revision (`Totals`).
    Every write of an owner then locks its scope's row until it commits: scopes that take many writers at once
    (one for every course) do without."""
    scopes = Table(
        f"{name}_scopes", metadata,
        Column("scope", String(key_length), primary_key=True),
        Column("revision", Integer, nullable=False, default=0),
    )
    return gram_table(metadata, name, key_length, rank_length), scopes


@dataclass(frozen=True)
class Candidates:
    """The owners that may match a query, as a selectable of (owner_id, rank); None when nobody can."""

    rows: FromClause | None

    @property
    def empty(self) -> bool:
        return self.rows is None


@dataclass
class GramIndex:
    """One searchable kind of row: its mapped class, its scope (say the list it is on), its rank (the first key of
    the order it is shown in, ties broken by id; "" when searches filter by id instead, `matching`) and its texts
    in order (field i of the grams is the i-th), each read off the row's attributes. `watch()` keeps the grams in
    step with the ORM's writes. A scope of None leaves the row out of the index (a user who is not an active
    teacher): a row moving in or out of it gains or loses its grams like any other edit."""

    table: Table
    scopes: Table | None  # their revisions, when totals are remembered per revision
    owner: type
    scope_of: Callable[[Any], str | None]
    rank_of: Callable[[Any], str]
    texts_of: Callable[[Any], Sequence[str | None]]
    id_attribute: str = "id"
    _watching: bool = field(default=False, repr=False)

    # ---- writing -------------------------------------------------------------------------

    def grams_of(self, texts: Sequence[str | None]) -> set[int]:
        grams: set[int] = set()
        for number, text in enumerate(texts):
            grams |= text_grams(text or "", number)
        return grams

    def rows(self, scope: str, rank: str, owner_id: str, texts: Sequence[str | None]) -> list[dict[str, Any]]:
        """The gram rows of one owner, for bulk inserts (benchmarks, backfills) that bypass the ORM."""
        return [{"scope": scope, "gram": gram, "rank": rank, "owner_id": owner_id} for gram in self.grams_of(texts)]

    def watch(self) -> GramIndex:
        """Rewrites an owner's grams whenever the ORM flushes it (inserted, edited or deleted)."""
        if not self._watching:
            event.listen(Session, "after_flush", self._after_flush)
            self._watching = True
        return self

    def _state(self, instance: Any, old: bool) -> tuple[str | None, str, list[str]]:
        source = _Before(instance) if old else instance
        scope = self.scope_of(source)
        return (None if scope is None else str(scope), self.rank_of(source) or "",
                [text or "" for text in self.texts_of(source)])

    def _after_flush(self, session: Session, _context: object) -> None:
        inserts: list[dict[str, Any]] = []
        removals: list[tuple[str, str, str, set[int]]] = []  # (scope, rank, owner_id, grams)
        touched: set[str] = set()
        for instance in session.new:
            if isinstance(instance, self.owner):
                scope, rank, texts = self._state(instance, old=False)
                if scope is None:
                    continue
                inserts += self.rows(scope, rank, getattr(instance, self.id_attribute), texts)
                touched.add(scope)
        for instance in session.deleted:
            if isinstance(instance, self.owner):
                scope, rank, texts = self._state(instance, old=True)
                if scope is None:
                    continue
                removals.append((scope, rank, getattr(instance, self.id_attribute), self.grams_of(texts)))
                touched.add(scope)
        for instance in session.dirty:
            if not isinstance(instance, self.owner) or not session.is_modified(instance):
                continue
            owner_id = getattr(instance, self.id_attribute)
            old_scope, old_rank, old_texts = self._state(instance, old=True)
            scope, rank, texts = self._state(instance, old=False)
            touched |= {old_scope, scope} - {None}  # a state change changes what a search counts too
            if (old_scope, old_rank, old_texts) == (scope, rank, texts) or old_scope is scope is None:
                continue
            old_grams, new_grams = self.grams_of(old_texts), self.grams_of(texts)
            if (old_scope, old_rank) != (scope, rank):
                if old_scope is not None:
                    removals.append((old_scope, old_rank, owner_id, old_grams))
                if scope is not None:
                    inserts += self.rows(scope, rank, owner_id, texts)
            else:
                removals.append((scope, rank, owner_id, old_grams - new_grams))
                inserts += [{"scope": scope, "gram": gram, "rank": rank, "owner_id": owner_id}
                            for gram in new_grams - old_grams]
        if not touched:
            return
        connection = session.connection()
        if self.scopes is not None:
            for scope in sorted(touched):
                connection.execute(self.bump(connection.dialect.name, scope))
        for scope, rank, owner_id, grams in removals:
            if grams:
                connection.execute(delete(self.table).where(
                    self.table.c.scope == scope, self.table.c.gram.in_(sorted(grams)), self.table.c.rank == rank,
                    self.table.c.owner_id == owner_id))
        if inserts:
            connection.execute(core_insert(self.table), inserts)

    def bump(self, dialect: str, scope: str) -> Any:
        """The statement raising a scope's revision (its cached totals are stale); a new scope starts at 1."""
        assert self.scopes is not None
        make = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = make(self.scopes).values(scope=scope, revision=1)
        return statement.on_conflict_do_update(index_elements=[self.scopes.c.scope],
                                               set_={"revision": self.scopes.c.revision + 1})

    # ---- reading -------------------------------------------------------------------------

    async def revision(self, session: AsyncSession, scope: str) -> int:
        """The scope's revision: it changes with every write of one of its owners (0 before the first)."""
        assert self.scopes is not None
        return await session.scalar(select(self.scopes.c.revision).where(self.scopes.c.scope == scope)) or 0

    async def candidates(self, session: AsyncSession, scope: str, queries: Mapping[int, str | None],
                         plans: Totals | None = None, key: Hashable = None) -> Candidates:
        """Owners of `scope` that may match any of `queries` (field number -> the text searched in that field;
        None or "" skips the field): for each field, the owners holding all the query's grams, read off the
        rarest gram's posting list (in rank order) and the other grams probed by owner. The grams' order, rarest
        first, is remembered in `plans` under `key` (which must name the scope's revision)."""
        plan = plans.get(key) if plans is not None and key is not None else None
        if plan is None:
            plan = await self._plan(session, scope, queries)
            if plans is not None and key is not None:
                plans.put(key, plan)
        rows = self.select_plan(scope, plan)
        return Candidates(None if rows is None else rows.subquery("candidates"))

    def select_plan(self, scope: str, plan: tuple[tuple[int, ...], ...]) -> Select | None:
        """The (owner_id, rank) of the owners holding every gram of one of the plan's fields, each field's rows
        read off its first (rarest) gram's posting list, the others probed by owner; None for an empty plan."""
        selects = []
        for rarest, *others in plan:
            driver = self.table.alias("driver")
            statement = select(driver.c.owner_id, driver.c.rank).where(driver.c.scope == scope,
                                                                      driver.c.gram == rarest)
            for number, gram in enumerate(others):
                # A scalar subquery (one primary key lookup, 1 or NULL) rather than EXISTS: PostgreSQL would turn
                # an EXISTS into a join and sort every match instead of walking the driver in rank order.
                probe = self.table.alias(f"probe{number}")
                statement = statement.where(select(literal(1)).where(
                    probe.c.scope == scope, probe.c.gram == gram, probe.c.rank == driver.c.rank,
                    probe.c.owner_id == driver.c.owner_id).scalar_subquery().is_not(None))
            selects.append(statement)
        if not selects:
            return None
        return selects[0] if len(selects) == 1 else union(*selects)  # type: ignore[return-value]

    async def matching(self, session: AsyncSession, scope: str, queries: Mapping[int, str | None]) -> Select:
        """The ids of the owners that may match, for `id IN (...)` beside the verifying LIKE, the search keeping its
        own order (an empty select when nobody can)."""
        rows = self.select_plan(scope, await self._plan(session, scope, queries))
        if rows is None:
            return select(self.table.c.owner_id).where(false())
        return select(rows.subquery().c.owner_id)

    async def _plan(self, session: AsyncSession, scope: str, queries: Mapping[int, str | None]) -> tuple:
        """For each field searched, its query's grams, rarest first; fields with a gram nobody has left out."""
        plan = []
        for field_number, text in queries.items():
            if not text:
                continue
            sizes: dict[int, int] = {}
            for gram in query_grams(text, field_number):
                sizes[gram] = await self._posting_size(session, scope, gram)
                if sizes[gram] == 0:
                    break  # nobody matches in this field
            if min(sizes.values()) > 0:
                plan.append(tuple(sorted(sizes, key=lambda gram: sizes[gram])))
        return tuple(plan)

    async def _posting_size(self, session: AsyncSession, scope: str, gram: int) -> int:
        return await session.scalar(select(func.count()).select_from(self.table).where(
            self.table.c.scope == scope, self.table.c.gram == gram)) or 0


class _Before:
    """An owner's attributes as they were before this flush."""

    def __init__(self, instance: Any) -> None:
        self._instance = instance

    def __getattr__(self, name: str) -> Any:
        history = attributes.get_history(self._instance, name, passive=attributes.PASSIVE_NO_INITIALIZE)
        before = history.deleted or history.unchanged
        return before[0] if before else getattr(self._instance, name)


class Totals:
    """Search totals (or plans) remembered per (scope, revision, the search): a published list's popular searches
    are counted once until one of its rows changes, not on every first page. Bounded, least recently used first
    out."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._totals: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        total = self._totals.get(key)
        if total is not None:
            self._totals.move_to_end(key)
        return total

    def put(self, key: Hashable, total: Any) -> None:
        self._totals[key] = total
        self._totals.move_to_end(key)
        while len(self._totals) > self.size:
            self._totals.popitem(last=False)


async def fetch_counted_page(
    session: AsyncSession, statement: Select, page_size: int, page_token: str, totals: Totals, key: Hashable,
) -> tuple[list, str, int]:
    """`servicekit.pagination.fetch_page` with the first page's count remembered in `totals` under `key` (which
    must name the scope's revision and every filter): browsing a list that has not changed counts it once."""
    limit, offset, total = page_position(page_size, page_token)
    if total is None:
        total = totals.get(key)
    if total is None:
        total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        totals.put(key, total)
    items = list(await session.scalars(statement.limit(limit).offset(offset)))
    return items, next_page_token(offset, limit, total), total


async def fetch_search_page(
    session: AsyncSession, statement: Select, id_column: ColumnElement[Any], candidates: Candidates,
    page_size: int, page_token: str, totals: Totals | None = None, key: Hashable = None,
) -> tuple[list, str, int]:
    """One page of a select narrowed to a search's candidates: (items, next_page_token, total).

    `statement` holds every filter, the verifying LIKE included; the page is in the candidates' order (rank, then
    owner id), which the owners' order must be. The page walks the rarest gram's posting list in that order and
    stops at the page's end; the total is counted through the candidates on a first page, or taken from `totals`
    under `key` (which must name the scope's revision and every filter), and the page token carries it on."""
    limit, offset, total = page_position(page_size, page_token)
    if candidates.rows is None:
        return [], "", 0
    found = candidates.rows.c
    narrowed = statement.order_by(None).join(candidates.rows, found.owner_id == id_column)
    if total is None and totals is not None and key is not None:
        total = totals.get(key)
    if total is None:
        total = await session.scalar(select(func.count()).select_from(narrowed.subquery())) or 0
        if totals is not None and key is not None:
            totals.put(key, total)
    if total == 0 or offset >= total:
        return [], "", total
    page = narrowed.order_by(found.rank, found.owner_id).limit(limit).offset(offset)
    return list(await session.scalars(page)), next_page_token(offset, limit, total), total
