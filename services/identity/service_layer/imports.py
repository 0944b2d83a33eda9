"""Bulk account import (CSV/XLSX) by school admins, and by teachers for their students."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound
from servicekit.pinyin import name_key
from servicekit.spreadsheets import read_rows
from services.identity.adapters import credentials
from services.identity.adapters.orm import TEACHER_GRAMS, TEACHERS_SCOPE, School, User, teacher_texts, user_grams
from services.identity.adapters.sheets import SheetRow
from services.identity.domain import guards, rules
from services.identity.domain.importing import AccountRow, RowProblem, validate_rows
from services.identity.domain.rules import UserStatus
from services.identity.service_layer.common import Issued
from services.identity.service_layer.handover import NO_SHEET, SheetTicket, build_sheet, issue_sheet

YIELD_EVERY = 500  # rows of an import handled between two turns of the event loop
GRAM_ROWS_EVERY = 10_000  # gram rows written per statement (a teacher has some 20 to 60)

# An old gram row of a renamed teacher, deleted by its whole primary key (executemany).
_DROP_GRAM = user_grams.delete().where(
    user_grams.c.scope == bindparam("drop_scope"), user_grams.c.gram == bindparam("drop_gram"),
    user_grams.c.rank == bindparam("drop_rank"), user_grams.c.owner_id == bindparam("drop_owner"))


@dataclass
class ImportOutcome:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    imported: bool = False
    problems: list[RowProblem] = field(default_factory=list)
    credentials: list[tuple[int, Issued]] = field(default_factory=list)
    accounts: list[tuple[int, str, str]] = field(default_factory=list)  # line, number, user id
    sheet: SheetTicket = NO_SHEET  # the created accounts' one-time passwords, for the importer


class ImportHandlers:
    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def import_accounts(
        self,
        caller: Caller,
        school_id: str,
        role: str,
        filename: str,
        content: bytes,
        import_valid_rows: bool,
    ) -> ImportOutcome:
        if role not in rules.IMPORTABLE_ROLES:
            raise InvalidArgument("import students or teachers")
        if not (caller.role == "teacher" and role == "student" and caller.school_id == school_id):
            caller.require_school_admin_of(school_id)  # teachers import their own school's students only
        # Parsing and checking 50,000 rows is CPU work: in a parser process, so sign-ins keep being served.
        good, problems = await read_rows(filename, content, then=validate_rows)
        outcome = ImportOutcome(rows=len(good) + len({p.line for p in problems}))
        # Reads only: on SQLite a read waits for no writer and blocks none, so sign-ins (which write) go on
        # while the rows are checked and the accounts prepared; the write transaction holds only the inserts.
        async with self.db.read() as session:
            school = await session.get(School, school_id)
            if school is None:
                raise NotFound("no such school")
            existing = {  # the columns the rows are checked against, not 50,000 whole accounts
                user.number: user
                for user in await session.execute(
                    select(User.id, User.number, User.role, User.name, User.phone, User.email, User.class_name)
                    .where(User.school_id == school_id))
            }
            phone_owner = await self._phone_owners(session, [row.phone for row in good])
        accepted: list[AccountRow] = []
        # Only the school's admins change existing accounts; a teacher's row must match the account.
        edits_existing = caller.role == "school_admin"
        for row in good:
            current = existing.get(row.number)
            changed = [] if current is None or edits_existing else guards.changed_identity_fields(
                guards.IdentityFields(current.name, current.phone or "", current.email),
                guards.IdentityFields(row.name, row.phone, row.email))
            if current is not None and current.role != role:
                problems.append(
                    RowProblem(row.line, "number", f"{row.number} belongs to a {current.role} of this school")
                )
            elif phone_owner.get(row.phone) not in (None, current.id if current else None):
                problems.append(RowProblem(row.line, "phone", f"{row.phone} belongs to another account"))
            elif changed:
                problems.append(RowProblem(
                    row.line, changed[0],
                    f"{row.number} is an existing account whose {' and '.join(changed)} differ from this row; "
                    "only the school's academic affairs office changes an account's identity data, so the "
                    "account was left unchanged: correct the row, or ask them"))
            else:
                accepted.append(row)
        problems.sort(key=lambda p: p.line)
        outcome.problems = problems
        if problems and not import_valid_rows:
            return outcome  # a file with bad rows imports nothing
        new_users, changes, sheet_rows = [], [], []
        # These Core writes bypass the ORM's flush listener: the teacher search's grams are written here, alike.
        new_grams: list[dict] = []
        for index, row in enumerate(accepted):
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # 50,000 one-time secrets are CPU work: let other requests in between
            current = existing.get(row.number)
            if current is None:
                secret = credentials.new_one_time_secret()
                user_id = new_id()
                username = f"{school.code}-{row.number}"
                new_users.append(
                    {
                        "id": user_id,
                        "username": username,
                        "name": row.name,
                        "name_pinyin": name_key(row.name),
                        "phone": row.phone,
                        "email": row.email,
                        "role": role,
                        "school_id": school_id,
                        "number": row.number,
                        "class_name": row.class_name,
                        "status": UserStatus.ACTIVE,
                        "rejection_reason": "",
                        "initial_secret_hash": credentials.digest(secret),
                        "must_change_password": True,
                    }
                )
                if role == "teacher":  # created active: in the teacher search at once
                    new_grams += teacher_gram_rows(user_id, row.name, new_users[-1]["name_pinyin"])
                sheet_rows.append(SheetRow(username, row.name, row.number, secret))
                outcome.credentials.append((row.line, Issued(user_id, username, secret)))
                outcome.accounts.append((row.line, row.number, user_id))
                continue
            outcome.accounts.append((row.line, row.number, current.id))
            if edits_existing and (current.name, current.phone, current.email, current.class_name) != (
                row.name, row.phone, row.email, row.class_name
            ):
                changes.append(
                    {"id": current.id, "name": row.name, "name_pinyin": name_key(row.name), "phone": row.phone,
                     "email": row.email,
                     "class_name": row.class_name, "updated_at": self.clock()}
                )
            else:
                outcome.unchanged += 1
        sheet = await build_sheet(sheet_rows) if sheet_rows else None
        async with self.db.transaction() as session:
            try:
                if role == "teacher":  # before the update: the grams of the names it replaces go
                    new_grams += await self._regram_renamed_teachers(session, changes)
                for start in range(0, len(changes), YIELD_EVERY):
                    await session.execute(update(User), changes[start:start + YIELD_EVERY])
                if new_users:
                    now = self.clock()
                    for values in new_users:
                        values["created_at"] = values["updated_at"] = now
                    for start in range(0, len(new_users), YIELD_EVERY):  # each chunk awaits: the loop keeps serving
                        await session.execute(User.__table__.insert(), new_users[start:start + YIELD_EVERY])
                await insert_gram_rows(session, new_grams)
            except IntegrityError as error:
                raise FailedPrecondition(
                    "another change to these accounts happened at the same time; import again"
                ) from error
            outcome.created, outcome.updated = len(new_users), len(changes)
            outcome.sheet = await issue_sheet(session, caller.user_id, sheet_rows, self.clock(), content=sheet)
            outcome.imported = True
            return outcome

    @staticmethod
    async def _regram_renamed_teachers(session: AsyncSession, changes: list[dict]) -> list[dict]:
        """Deletes the grams of the active teachers these changes rename, read as they are now (locked until the
        commit: a rename since the import's reads is not missed), and returns their new names' grams."""
        new_grams: list[dict] = []
        for start in range(0, len(changes), YIELD_EVERY):
            chunk = {change["id"]: change for change in changes[start:start + YIELD_EVERY]}
            dropped = []
            for user_id, name, name_pinyin in await session.execute(
                    select(User.id, User.name, User.name_pinyin).where(
                        User.id.in_(list(chunk)), User.role == "teacher", User.status == UserStatus.ACTIVE)
                    .with_for_update()):
                change = chunk[user_id]
                if (name, name_pinyin) == (change["name"], change["name_pinyin"]):
                    continue
                dropped += [{"drop_scope": gram["scope"], "drop_gram": gram["gram"], "drop_rank": gram["rank"],
                             "drop_owner": gram["owner_id"]} for gram in teacher_gram_rows(user_id, name, name_pinyin)]
                new_grams += teacher_gram_rows(user_id, change["name"], change["name_pinyin"])
            if dropped:
                await session.execute(_DROP_GRAM, dropped)
        return new_grams

    @staticmethod
    async def _phone_owners(session: AsyncSession, phones: list[str]) -> dict[str, str]:
        owners: dict[str, str] = {}
        for start in range(0, len(phones), 500):
            chunk = phones[start : start + 500]
            for phone, user_id in await session.execute(
                select(User.phone, User.id).where(User.phone.in_(chunk))
            ):
                owners[phone] = user_id
        return owners


def teacher_gram_rows(user_id: str, name: str, name_pinyin: str | None) -> list[dict]:
    """An active teacher's rows in the teacher search's gram index, as the ORM's listener writes them."""
    return TEACHER_GRAMS.rows(TEACHERS_SCOPE, name, user_id, teacher_texts(name, name_pinyin))


async def insert_gram_rows(session: AsyncSession, rows: list[dict]) -> None:
    """Gram rows in bulk, in the transaction of `session`, in primary key order (each chunk then fills few pages of
    the index). On PostgreSQL by COPY, about three times faster than multi-row INSERTs for a roster's 200,000."""
    if not rows:
        return
    ordered = sorted((row["scope"], row["gram"], row["rank"], row["owner_id"]) for row in rows)
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            user_grams.name, records=ordered, columns=["scope", "gram", "rank", "owner_id"])
        return
    for start in range(0, len(ordered), GRAM_ROWS_EVERY):
        await connection.execute(user_grams.insert(), [
            {"scope": scope, "gram": gram, "rank": rank, "owner_id": owner_id}
            for scope, gram, rank, owner_id in ordered[start:start + GRAM_ROWS_EVERY]])
