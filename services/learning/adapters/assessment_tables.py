"""The tables of question banks, quizzes, exams and attempts (on the learning service's metadata)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.clock import utcnow
from servicekit.db import new_id
from services.learning.adapters.orm import Base


class QuestionRow(Base):
    """A bank question: the parent course's bank (run_id "") or a run's copy."""

    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_bank", "course_id", "run_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(String(36))
    run_id: Mapped[str] = mapped_column(String(36), default="")
    chapter_id: Mapped[str] = mapped_column(String(36), default="")
    kind: Mapped[str] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    options_json: Mapped[str] = mapped_column(Text, default="[]")
    key_json: Mapped[str] = mapped_column(Text, default="{}")
    source_question_id: Mapped[str] = mapped_column(String(36), default="")
    created_by: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizRow(Base):
    """An in-video quiz, a unit test or the final exam of a run."""

    __tablename__ = "quizzes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str] = mapped_column(String(36), default="")
    chapter_id: Mapped[str] = mapped_column(String(36), default="")
    at_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    attempts_allowed: Mapped[int] = mapped_column(Integer, default=1)
    grading_method: Mapped[str] = mapped_column(String(20), default="highest")
    show_answers: Mapped[str] = mapped_column(String(20), default="after_submit")
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    duration_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    mode: Mapped[str] = mapped_column(String(10), default="online")
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    total_points: Mapped[float] = mapped_column(Float, default=0.0)
    open_answers_by: Mapped[str] = mapped_column(String(10), default="team")  # exams: team, or peer (互评)
    created_by: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizQuestionRow(Base):
    """A question as the quiz asks it: a snapshot of the bank question (editing the bank later changes no quiz
    already set, nor any grade)."""

    __tablename__ = "quiz_questions"
    quiz_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    points: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20))
    stem: Mapped[str] = mapped_column(Text)
    options_json: Mapped[str] = mapped_column(Text, default="[]")
    key_json: Mapped[str] = mapped_column(Text, default="{}")


class ExtraTimeRow(Base):
    """A student's extra exam time, set by the team before the student starts."""

    __tablename__ = "exam_extra_times"
    quiz_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    extra_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    set_by: Mapped[str] = mapped_column(String(36), default="")
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttemptRow(Base):
    """One student's attempt at a quiz (or an offline exam mark): saved answers, per-question results, score."""

    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("quiz_id", "student_id", "number", name="uq_attempts_number"),
                      Index("ix_attempts_run", "run_id", "student_id"),
                      Index("ix_attempts_open_deadline", "submitted_at", "deadline_at"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    quiz_id: Mapped[str] = mapped_column(String(36))
    run_id: Mapped[str] = mapped_column(String(36))
    student_id: Mapped[str] = mapped_column(String(36))
    number: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime | None]
    saved_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    answers_json: Mapped[str] = mapped_column(Text, default="{}")
    results_json: Mapped[str] = mapped_column(Text, default="{}")
    points: Mapped[float] = mapped_column(Float, default=0.0)
    max_points: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[float | None] = mapped_column(Float)  # 0..100 once submitted
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
