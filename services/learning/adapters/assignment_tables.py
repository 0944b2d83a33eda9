"""The tables of assignments, submissions, peer reviews and course notices (on the learning service's metadata)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.clock import utcnow
from servicekit.db import new_id
from services.learning.adapters.orm import Base


class AssignmentRow(Base):
    """An assignment of a run: its brief, rubric, dates, and (peer mode) the policy's numbers when it was set."""

    __tablename__ = "assignments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    title: Mapped[str] = mapped_column(String(200))
    brief: Mapped[str] = mapped_column(Text, default="")
    grading_mode: Mapped[str] = mapped_column(String(10))
    pool: Mapped[str] = mapped_column(String(10), default="run")
    rubric_json: Mapped[str] = mapped_column(Text)
    total_points: Mapped[float] = mapped_column(Float)
    opens_at: Mapped[datetime | None]
    deadline: Mapped[datetime]
    late_until: Mapped[datetime | None]
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    peer_json: Mapped[str] = mapped_column(Text, default="{}")
    # An exam's open question graded by peers: its answers are the submissions, its grades go back to the exam.
    quiz_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    question_id: Mapped[str] = mapped_column(String(36), default="")
    # The reminders sent (services/learning/service_layer/reminders.py): each once per assignment.
    due_reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    reviews_announced_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubmissionRow(Base):
    """A student's answer to an assignment (one per student; changed in place until the deadline) and its grade."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("assignment_id", "student_id", name="uq_submissions_assignment_student"),
        Index("ix_submissions_assignment_class", "assignment_id", "class_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    assignment_id: Mapped[str] = mapped_column(String(36))
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    student_id: Mapped[str] = mapped_column(String(36))
    student_name: Mapped[str] = mapped_column(String(100), default="")
    student_number: Mapped[str] = mapped_column(String(64), default="")
    class_id: Mapped[str] = mapped_column(String(36), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    files_json: Mapped[str] = mapped_column(Text, default="[]")
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    # The team's grade (team mode, or an override of the peers' with a reason); None: not graded by the team.
    team_points: Mapped[float | None] = mapped_column(Float)
    team_scores_json: Mapped[str] = mapped_column(Text, default="[]")
    team_comment: Mapped[str] = mapped_column(Text, default="")
    override_reason: Mapped[str] = mapped_column(Text, default="")
    graded_by: Mapped[str] = mapped_column(String(36), default="")
    graded_at: Mapped[datetime | None]


class PeerReviewRow(Base):
    """One review of a submission by a peer: handed out with a lease, finished with scores and a comment. A lease
    that ran out without a finish is handed out again (to the same reviewer or another)."""

    __tablename__ = "peer_reviews"
    __table_args__ = (
        UniqueConstraint("submission_id", "reviewer_id", name="uq_peer_reviews_submission_reviewer"),
        Index("ix_peer_reviews_assignment_reviewer", "assignment_id", "reviewer_id"),
        Index("ix_peer_reviews_submission", "submission_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    assignment_id: Mapped[str] = mapped_column(String(36))
    submission_id: Mapped[str] = mapped_column(String(36))
    reviewer_id: Mapped[str] = mapped_column(String(36))
    leased_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_expires_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    scores_json: Mapped[str] = mapped_column(Text, default="[]")
    total: Mapped[float] = mapped_column(Float, default=0.0)
    comment: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(Integer, default=0)


class NoticeRow(Base):
    """A notice the run's team posted to the whole run (class_id "") or to one class."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_run_posted", "run_id", "posted_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36))
    class_id: Mapped[str] = mapped_column(String(36), default="")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    posted_by: Mapped[str] = mapped_column(String(36))
    poster_name: Mapped[str] = mapped_column(String(100), default="")
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticeReadRow(Base):
    """A student has read a notice."""

    __tablename__ = "notice_reads"
    notice_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
