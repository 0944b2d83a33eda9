"""Handing first credentials over: one-time credential sheets for whoever created the accounts,
and mail written to the mail outbox in the same transaction as its cause."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.adapters import sheets
from services.identity.adapters.orm import CredentialSheet, OutgoingMail
from services.identity.adapters.sheets import SheetRow
from services.identity.domain.guards import CREDENTIAL_SHEET_TTL


@dataclass(frozen=True)
class SheetTicket:
    """What the creator gets: the sheet's id and the only key that opens it."""

    id: str
    key: str
    accounts: int
    expires_at: datetime


NO_SHEET = SheetTicket("", "", 0, datetime.min)


async def build_sheet(rows: list[SheetRow]) -> bytes:
    """The sheet's XLSX; a big one is built in a thread, and before any write transaction opens (on SQLite that
    transaction would hold every other writer, sign-ins included, for as long as the build takes)."""
    return await asyncio.to_thread(sheets.build_xlsx, rows) if len(rows) > 50 else sheets.build_xlsx(rows)


async def issue_sheet(session: AsyncSession, creator_id: str, rows: list[SheetRow], now: datetime,
                      content: bytes | None = None) -> SheetTicket:
    """`content`: the sheet from `build_sheet`, when the caller built it before its transaction."""
    if not rows:
        return NO_SHEET
    if content is None:
        content = await build_sheet(rows)
    key, sealed = sheets.seal(content)
    # Sheets nobody fetched in time are erased (their accounts get new passwords by a reset).
    await session.execute(
        update(CredentialSheet)
        .where(CredentialSheet.expires_at <= now, CredentialSheet.sealed.is_not(None))
        .values(sealed=None)
    )
    sheet = CredentialSheet(created_by=creator_id, accounts=len(rows), sealed=sealed, created_at=now,
                            expires_at=now + CREDENTIAL_SHEET_TTL)
    session.add(sheet)
    await session.flush()
    return SheetTicket(sheet.id, key, len(rows), sheet.expires_at)


def queue_mail(session: AsyncSession, recipient: str, subject: str, body: str, now: datetime) -> None:
    subject = " ".join(subject.split())  # user-supplied text (a school's name) never breaks the header
    session.add(OutgoingMail(recipient=recipient, subject=subject[:200], body=body, created_at=now, attempts=0,
                             next_attempt_at=now, last_error=""))
