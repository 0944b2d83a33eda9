"""Sending mail: a real SMTP client (stdlib smtplib, in a thread) and the relay that sends
what the handlers wrote to the mail outbox, retrying while the mail server is away."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select

from servicekit.clock import utcnow
from servicekit.db import Database
from services.identity.adapters.orm import OutgoingMail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = "platform@localhost"
    starttls: bool = True
    timeout: float = 20.0

    @property
    def configured(self) -> bool:
        return bool(self.host)


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, recipient: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2] or "localhost")
        message.set_content(body)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as client:
            if s.starttls:
                client.starttls(context=ssl.create_default_context())
            if s.user:
                client.login(s.user, s.password)
            client.send_message(message)


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 600))


class MailRelay:
    """Sends the mail outbox in order; a failed send is retried later, a sent mail's body erased."""

    MAX_ATTEMPTS = 20

    def __init__(self, db: Database, mailer: SmtpMailer, poll_interval: float = 1.0) -> None:
        self.db = db
        self.mailer = mailer
        self.poll_interval = poll_interval
        self.written = asyncio.Event()

    def wake(self) -> None:
        self.written.set()

    async def run(self) -> None:
        while True:
            try:
                await self.send_due(utcnow())
            except Exception:  # the database busy: try again at the next tick
                log.exception("mail relay")
            self.written.clear()
            try:
                await asyncio.wait_for(self.written.wait(), self.poll_interval)
            except TimeoutError:
                pass

    async def send_due(self, now: datetime) -> int:
        async with self.db.transaction() as session:
            due = list(await session.scalars(
                select(OutgoingMail)
                .where(OutgoingMail.sent_at.is_(None), OutgoingMail.next_attempt_at <= now,
                       OutgoingMail.attempts < self.MAX_ATTEMPTS, OutgoingMail.body != "")
                .order_by(OutgoingMail.created_at).limit(20)))
        sent = 0
        for mail in due:
            try:
                await self.mailer.send(mail.recipient, mail.subject, mail.body)
                error = ""
            except Exception as failure:  # the server away, or a mail it refused: retried later, never blocking
                error = f"{type(failure).__name__}: {failure}"
                log.warning("mail to %s not sent (attempt %d): %s", mail.recipient, mail.attempts + 1, error)
            async with self.db.transaction() as session:
                row = await session.get(OutgoingMail, mail.id)
                if row is None:
                    continue
                row.attempts += 1
                if error:
                    row.last_error = error
                    row.next_attempt_at = utcnow() + retry_delay(row.attempts)
                else:
                    row.sent_at, row.body, row.last_error = utcnow(), "", ""
                    sent += 1
        return sent
