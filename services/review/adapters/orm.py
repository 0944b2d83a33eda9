"""The review service's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, ForeignKeyConstraint, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from servicekit.clock import utcnow
from servicekit.db import TYPE_ANNOTATION_MAP, new_id
from servicekit.outbox import messaging_tables


class Base(DeclarativeBase):
    metadata = MetaData()
    type_annotation_map = TYPE_ANNOTATION_MAP


outbox, inbox = messaging_tables(Base.metadata)


class ReviewItem(Base):
    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_items_queue", "scope_type", "scope_id", "state", "requested_at"),
        Index("ix_review_items_subject", "owner", "kind", "subject_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(50))
    owner: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(100))
    scope_type: Mapped[str] = mapped_column(String(20))
    scope_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(300))
    snapshot_json: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(36), default="")
    requested_at: Mapped[datetime]
    decided_by: Mapped[str] = mapped_column(String(36), default="")
    decided_at: Mapped[datetime | None]
    history: Mapped[list[AuditEntry]] = relationship(
        order_by="AuditEntry.at", lazy="selectin", cascade="all, delete-orphan"
    )


class AuditEntry(Base):
    """Who did what to an item, when, and why; never updated, never deleted."""

    __tablename__ = "review_audit"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(36), default="")
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


# ---- expert panels --------------------------------------------------------------------------


class Rubric(Base):
    """One version of a school's rubric for a panel purpose; a new version is a new row."""

    __tablename__ = "review_rubrics"
    __table_args__ = (UniqueConstraint("school_id", "purpose", "version", name="uq_review_rubrics_version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    school_id: Mapped[str] = mapped_column(String(36))
    purpose: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer)
    items_json: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Round(Base):
    """A review round (评审轮次): a panel of experts, the rubric frozen at creation, the items it reviews."""

    __tablename__ = "review_rounds"
    __table_args__ = (Index("ix_review_rounds_school", "school_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    school_id: Mapped[str] = mapped_column(String(36))
    purpose: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    rubric_version: Mapped[int] = mapped_column(Integer)
    rubric_json: Mapped[str] = mapped_column(Text)
    leader_id: Mapped[str] = mapped_column(String(36))
    created_by: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    experts: Mapped[list[RoundExpert]] = relationship(
        order_by="RoundExpert.position", lazy="selectin", cascade="all, delete-orphan")
    items: Mapped[list[RoundItem]] = relationship(
        order_by="RoundItem.position", lazy="selectin", cascade="all, delete-orphan")


class RoundExpert(Base):
    __tablename__ = "review_round_experts"
    round_id: Mapped[str] = mapped_column(ForeignKey("review_rounds.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100), default="")
    username: Mapped[str] = mapped_column(String(100), default="")
    school_id: Mapped[str] = mapped_column(String(36), default="")
    school_name: Mapped[str] = mapped_column(String(200), default="")


class RoundItem(Base):
    """A review item before a round's panel, and the leader's conclusion once given."""

    __tablename__ = "review_round_items"
    round_id: Mapped[str] = mapped_column(ForeignKey("review_rounds.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    mean: Mapped[float | None] = mapped_column(Float)
    conclusion: Mapped[str] = mapped_column(String(10), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    concluded_by: Mapped[str] = mapped_column(String(36), default="")
    concluded_at: Mapped[datetime | None]
    scores: Mapped[list[Score]] = relationship(
        order_by="Score.scored_at", lazy="selectin", cascade="all, delete-orphan")


class Score(Base):
    """An expert's current scores of an item (each revision is also in the item's audit trail)."""

    __tablename__ = "review_scores"
    __table_args__ = (ForeignKeyConstraint(["round_id", "item_id"],
                                           ["review_round_items.round_id", "review_round_items.item_id"]),)
    round_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    expert_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    points_json: Mapped[str] = mapped_column(Text)
    total: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
