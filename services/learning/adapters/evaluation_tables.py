"""Student evaluation's tables, on the service's metadata: each school's questionnaire versions, the runs being
rated, who has rated (receipts) apart from what was said (answers, with no student id and no time), so that nobody
can tell who said what."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import new_id
from services.learning.adapters.orm import Base


class QuestionnaireRow(Base):
    """One version of a school's questionnaire; a change adds a version, so answers keep the items they rated."""

    __tablename__ = "evaluation_questionnaires"
    __table_args__ = (UniqueConstraint("school_id", "version", name="uq_evaluation_questionnaires_version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    school_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    items_json: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column()


class EvaluatedRunRow(Base):
    """A run being (or done being) rated: what the results show of it, kept from the first answer; `closed_at`
    and the score are set when its window closes."""

    __tablename__ = "evaluated_runs"
    __table_args__ = (Index("ix_evaluated_runs_school", "course_school_id"),
                      Index("ix_evaluated_runs_course", "course_id"))
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    course_id: Mapped[str] = mapped_column(String(36))
    course_name: Mapped[str] = mapped_column(String(200))
    course_school_id: Mapped[str] = mapped_column(String(36))
    run_number: Mapped[int] = mapped_column(Integer, default=0)
    term_code: Mapped[str] = mapped_column(String(20))
    term_ends_on: Mapped[date] = mapped_column(Date)
    leader_id: Mapped[str] = mapped_column(String(36))
    closes_at: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float, default=None)
    good_score: Mapped[float | None] = mapped_column(Float, default=None)


class EvaluationReceiptRow(Base):
    """That a student rated a run (once), and when: never joined to what they said."""

    __tablename__ = "evaluation_receipts"
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submitted_at: Mapped[datetime] = mapped_column()


class EvaluationAnswerRow(Base):
    """What one (unnamed) student said of a run: a rating per item of their school's questionnaire version."""

    __tablename__ = "evaluation_answers"
    __table_args__ = (Index("ix_evaluation_answers_run", "run_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36))
    questionnaire_id: Mapped[str] = mapped_column(String(36), default="")  # "" = the platform's default
    school_id: Mapped[str] = mapped_column(String(36), default="")  # the student's school ("" for public learners)
    class_id: Mapped[str] = mapped_column(String(36), default="")
    ratings_json: Mapped[str] = mapped_column(Text)
    mean_rating: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
