"""The tables of at-risk learners (学习预警): the daily sweeps, the flags they raise, and teachers' follow-ups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import new_id
from services.learning.adapters.orm import Base


class AtRiskSweepRow(Base):
    """A run swept on a day (UTC): sweeping it again that day changes nothing."""

    __tablename__ = "at_risk_sweeps"
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    swept_at: Mapped[datetime] = mapped_column()
    flagged: Mapped[int] = mapped_column(default=0)


class AtRiskFlagRow(Base):
    """A student flagged on a run on a day, with the reasons (JSON list of domain Reasons) and the figures seen."""

    __tablename__ = "at_risk_flags"
    __table_args__ = (Index("ix_at_risk_flags_run_day", "run_id", "day"),)
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    class_id: Mapped[str] = mapped_column(String(36), default="")
    class_name: Mapped[str] = mapped_column(String(100), default="")
    number: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(100), default="")
    reasons_json: Mapped[str] = mapped_column(Text, default="[]")
    completion: Mapped[float] = mapped_column(Float, default=0.0)
    last_activity_at: Mapped[datetime | None] = mapped_column(default=None)
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)  # this flag sent the student a reminder
    flagged_at: Mapped[datetime] = mapped_column()


class FollowUpRow(Base):
    """A teacher's follow-up (回访) of a student on a run."""

    __tablename__ = "at_risk_follow_ups"
    __table_args__ = (Index("ix_at_risk_follow_ups_run_student", "run_id", "student_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36))
    student_id: Mapped[str] = mapped_column(String(36))
    teacher_id: Mapped[str] = mapped_column(String(36))
    teacher_name: Mapped[str] = mapped_column(String(100), default="")
    contacted_on: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    channel: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column()
