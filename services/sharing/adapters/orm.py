"""The sharing service's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.clock import utcnow
from servicekit.db import TYPE_ANNOTATION_MAP, new_id
from servicekit.grams import GramIndex, gram_tables
from servicekit.outbox import messaging_tables
from servicekit.pinyin import search_key


class Base(DeclarativeBase):
    metadata = MetaData()
    type_annotation_map = TYPE_ANNOTATION_MAP


outbox, inbox = messaging_tables(Base.metadata)


class SharingList(Base):
    """A term's sharing list of the province (学期课程共享清单)."""

    __tablename__ = "sharing_lists"
    __table_args__ = (UniqueConstraint("province_code", "term_code", name="uq_sharing_lists_term"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    province_code: Mapped[str] = mapped_column(String(6))
    term_code: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    notice_on: Mapped[str] = mapped_column(String(10))
    publish_by: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default="open")
    opened_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    late_reason: Mapped[str] = mapped_column(Text, default="")  # why it was published after publish_by


class Entry(Base):
    """A MOOC run a school offers on a list; its course facts follow the course service's events."""

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("list_id", "run_id", name="uq_entries_list_run"),
        # A list's entries in a state, in the order they are shown: a page is read off the index, not sorted.
        Index("ix_entries_list_state_name", "list_id", "state", "course_name", "id"),
        Index("ix_entries_list_state_category", "list_id", "state", "category"),  # browsing by category, counted
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    list_id: Mapped[str] = mapped_column(ForeignKey("sharing_lists.id"))
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    course_id: Mapped[str] = mapped_column(String(36), index=True)
    school_id: Mapped[str] = mapped_column(String(36), index=True)
    school_name: Mapped[str] = mapped_column(String(100))
    course_name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(50))
    online_credits: Mapped[float] = mapped_column(Float)
    total_credits: Mapped[float] = mapped_column(Float)
    leader_id: Mapped[str] = mapped_column(String(36))
    leader_name: Mapped[str] = mapped_column(String(100))
    leader_phone: Mapped[str] = mapped_column(String(20), default="")
    leader_email: Mapped[str] = mapped_column(String(200), default="")
    term_code: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    run_state: Mapped[str] = mapped_column(String(20), default="")
    taken_down: Mapped[bool] = mapped_column(Boolean, default=False)
    search_text: Mapped[str] = mapped_column(String(400))  # course, leader and school, lowercased
    search_pinyin: Mapped[str] = mapped_column(Text, default="")  # their pinyin and initials (servicekit.pinyin)
    added_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def refresh_search_text(self) -> None:
        self.search_text = f"{self.course_name} {self.leader_name} {self.school_name}".lower()
        self.search_pinyin = search_key(self.course_name, self.leader_name, self.school_name)


# The search's gram index: a list's entries by the characters and pairs of their names and pinyin (servicekit.grams).
entry_grams, entry_gram_scopes = gram_tables(Base.metadata, "entry_grams")
SEARCH_TEXT, SEARCH_PINYIN = 0, 1  # the index's fields
ENTRY_GRAMS = GramIndex(entry_grams, entry_gram_scopes, Entry, scope_of=lambda entry: entry.list_id,
                        rank_of=lambda entry: entry.course_name,  # entries are shown by course name, then id
                        texts_of=lambda entry: (entry.search_text, entry.search_pinyin)).watch()


class Adoption(Base):
    """Another school's request to adopt a listed run with its tutor teacher (共享选课)."""

    __tablename__ = "adoptions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    entry_id: Mapped[str] = mapped_column(ForeignKey("entries.id"), index=True)
    adopting_school_id: Mapped[str] = mapped_column(String(36), index=True)
    adopting_school_name: Mapped[str] = mapped_column(String(100))
    tutor_id: Mapped[str] = mapped_column(String(36), default="")  # empty: the providing leader teaches
    tutor_name: Mapped[str] = mapped_column(String(100), default="")
    class_id: Mapped[str] = mapped_column(String(36), default="")
    expected_students: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="requested")
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(36))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
