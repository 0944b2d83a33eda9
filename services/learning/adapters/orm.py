"""The learning service's tables: play sessions and video progress (the hot path). Assessments and grades keep
their tables in their own modules on the same metadata (`assessment_tables`, `grade_tables`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.clock import utcnow
from servicekit.db import TYPE_ANNOTATION_MAP, new_id
from servicekit.outbox import messaging_tables


class Base(DeclarativeBase):
    metadata = MetaData()
    type_annotation_map = TYPE_ANNOTATION_MAP


outbox, inbox = messaging_tables(Base.metadata)


class PlaySession(Base):
    """One playing of a unit's video by one user: heartbeats name it, so the hot path reads one row by key."""

    __tablename__ = "play_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    run_id: Mapped[str] = mapped_column(String(36))
    unit_id: Mapped[str] = mapped_column(String(36))
    asset_id: Mapped[str] = mapped_column(String(36))
    class_id: Mapped[str] = mapped_column(String(36), default="")
    school_id: Mapped[str] = mapped_column(String(36), default="")  # the student's school ("" for public learners)
    duration_seconds: Mapped[float] = mapped_column(Float)
    run_total_seconds: Mapped[float] = mapped_column(Float)  # the run's video seconds, for completion
    counts: Mapped[bool] = mapped_column(Boolean, default=True)  # a student's play; the team's do not count
    max_speed: Mapped[float] = mapped_column(Float, default=2.0)
    complete_slack_seconds: Mapped[float] = mapped_column(Float, default=5.0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    claimed_seconds: Mapped[float] = mapped_column(Float, default=0.0)  # accepted segment lengths, for the speed cap
    last_report_at: Mapped[datetime | None]


class UnitProgress(Base):
    """What one student watched of one unit: merged intervals, the credited prefix, completion."""

    __tablename__ = "unit_progress"
    __table_args__ = (Index("ix_unit_progress_run", "run_id"),)  # a run's viewing (the school report's minutes)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    duration_seconds: Mapped[float] = mapped_column(Float)
    intervals_json: Mapped[str] = mapped_column(Text, default="[]")
    credited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunProgress(Base):
    """One student's course-hours completion in a run: completed units' video seconds over the run's total."""

    __tablename__ = "run_progress"
    __table_args__ = (Index("ix_run_progress_run", "run_id", "user_id"),)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    class_id: Mapped[str] = mapped_column(String(36), default="")
    school_id: Mapped[str] = mapped_column(String(36), default="")
    completed_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    total_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    completed_units: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# The other aggregates' tables live on this metadata too (imported for Alembic and the models test).
from services.learning.adapters import (  # noqa: E402,F401
    assessment_tables,
    assignment_tables,
    at_risk_tables,
    evaluation_tables,
    forum_tables,
    grade_tables,
    inbox_tables,
)
