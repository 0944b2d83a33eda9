"""The inbox's table: one row per message to one user, on the service's metadata."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import new_id
from services.learning.adapters.orm import Base


class InboxItemRow(Base):
    """A message asking one user to act (or telling them what changed); `key` names what it is about, so the same
    reminder reaches a user once however often the sweep that sends it runs."""

    __tablename__ = "inbox_items"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_inbox_items_user_key"),
                      Index("ix_inbox_items_user_created", "user_id", "created_at"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(64))  # a user id, or a school's admins (inbox.school_admins)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")  # the console's route to act on it
    run_id: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[datetime] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column(default=None)  # a user's own message (InboxReadRow: a group's)


class InboxReadRow(Base):
    """One reader's mark on a message addressed to a group (a school's admins): each admin reads it for themselves."""

    __tablename__ = "inbox_reads"
    item_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    read_at: Mapped[datetime] = mapped_column()
