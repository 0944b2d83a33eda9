"""The tables of grading schemes, face-to-face marks, course results and certificates (on the learning
service's metadata)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.clock import utcnow
from servicekit.db import new_id
from services.learning.adapters.orm import Base


class GradingSchemeRow(Base):
    """A run's own scheme: integer weights per category (percent, summing to 100)."""

    __tablename__ = "grading_schemes"
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    video: Mapped[int] = mapped_column(Integer)
    quizzes: Mapped[int] = mapped_column(Integer)
    assignments: Mapped[int] = mapped_column(Integer)
    face_to_face: Mapped[int] = mapped_column(Integer)
    forum: Mapped[int] = mapped_column(Integer)
    final_exam: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaceToFaceSessionRow(Base):
    """One face-to-face session of a class (one item of the face_to_face category), named by the team."""

    __tablename__ = "face_to_face_sessions"
    __table_args__ = (UniqueConstraint("class_id", "title", name="uq_face_to_face_sessions_class_title"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    class_id: Mapped[str] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(100))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    imported_by: Mapped[str] = mapped_column(String(36))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaceToFaceMarkRow(Base):
    __tablename__ = "face_to_face_marks"
    session_id: Mapped[str] = mapped_column(String(36), ForeignKey("face_to_face_sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    student_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(50))
    mark: Mapped[float] = mapped_column(Float)


class CourseResultRow(Base):
    """A student's finalised result in a run (stored by the leader's finalising; finalising again updates it)."""

    __tablename__ = "course_results"
    __table_args__ = (Index("ix_course_results_school", "student_school_id", "run_id"),)
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    class_id: Mapped[str] = mapped_column(String(36))
    student_school_id: Mapped[str] = mapped_column(String(36), default="")
    number: Mapped[str] = mapped_column(String(50), default="")
    name: Mapped[str] = mapped_column(String(100), default="")
    scores_json: Mapped[str] = mapped_column(Text, default="{}")  # category -> score, and the weights applied
    total: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    pass_mark: Mapped[float] = mapped_column(Float)
    finalised_at: Mapped[datetime] = mapped_column(default=utcnow)


class CertificateRow(Base):
    """课程学习考核合格证: one per student and run, numbered once; withdrawn (not deleted) if a later finalising no
    longer passes the student, and restored with the same number if it passes again."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("run_id", "student_id", name="uq_certificates_run_student"),
                      Index("ix_certificates_school", "student_school_id", "issued_at"),
                      Index("ix_certificates_student", "student_id"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    run_id: Mapped[str] = mapped_column(String(36))
    student_id: Mapped[str] = mapped_column(String(36))
    student_number: Mapped[str] = mapped_column(String(50), default="")
    student_name: Mapped[str] = mapped_column(String(100), default="")
    student_school_id: Mapped[str] = mapped_column(String(36), default="")  # "" for a public learner
    course_id: Mapped[str] = mapped_column(String(36))
    course_name: Mapped[str] = mapped_column(String(200), default="")
    run_school_id: Mapped[str] = mapped_column(String(36), default="")
    term_code: Mapped[str] = mapped_column(String(20), default="")
    score: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
