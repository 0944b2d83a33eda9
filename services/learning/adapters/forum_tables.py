"""The forum's tables, on the service's metadata: topics, threads, posts, read marks, reports, the moderation audit
trail, each province's blocked words and each run's scoring rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import new_id
from services.learning.adapters.orm import Base


class ForumTopicRow(Base):
    __tablename__ = "forum_topics"
    __table_args__ = (Index("ix_forum_topics_run", "run_id", "position"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36))
    node_id: Mapped[str] = mapped_column(String(36), default="")  # the unit (or chapter) it belongs to
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column()


class ForumThreadRow(Base):
    __tablename__ = "forum_threads"
    __table_args__ = (Index("ix_forum_threads_run_activity", "run_id", "last_activity_at"),
                      Index("ix_forum_threads_unanswered", "run_id", "kind", "first_response_at"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36))
    topic_id: Mapped[str] = mapped_column(String(36), index=True)
    run_school_id: Mapped[str] = mapped_column(String(36), default="")  # whose admins hear of overdue questions
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(36))
    author_name: Mapped[str] = mapped_column(String(100), default="")
    author_is_team: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column()
    last_activity_at: Mapped[datetime] = mapped_column()
    replies: Mapped[int] = mapped_column(Integer, default=0)
    answer_due_at: Mapped[datetime | None] = mapped_column(default=None)  # questions
    answer_working_days: Mapped[int] = mapped_column(Integer, default=0)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)  # the team's first reply
    first_response_by: Mapped[str] = mapped_column(String(36), default="")
    escalation: Mapped[int] = mapped_column(Integer, default=0)  # domain.forum ON_TIME, TEAM_REMINDED, ...
    endorsed_post_id: Mapped[str] = mapped_column(String(36), default="")
    hidden_at: Mapped[datetime | None] = mapped_column(default=None)
    hidden_reason: Mapped[str] = mapped_column(String(1000), default="")


class ForumPostRow(Base):
    __tablename__ = "forum_posts"
    __table_args__ = (Index("ix_forum_posts_thread", "thread_id", "created_at"),
                      Index("ix_forum_posts_run_author", "run_id", "author_id"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    thread_id: Mapped[str] = mapped_column(String(36))
    run_id: Mapped[str] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(36))
    author_name: Mapped[str] = mapped_column(String(100), default="")
    author_is_team: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column()
    hidden_at: Mapped[datetime | None] = mapped_column(default=None)
    hidden_reason: Mapped[str] = mapped_column(String(1000), default="")


class ForumReadRow(Base):
    """A user's read mark on a thread: unread when the thread moved after it."""

    __tablename__ = "forum_reads"
    thread_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    read_at: Mapped[datetime] = mapped_column()


class ForumReportRow(Base):
    __tablename__ = "forum_reports"
    __table_args__ = (Index("ix_forum_reports_run_open", "run_id", "resolved_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36))
    thread_id: Mapped[str] = mapped_column(String(36))
    post_id: Mapped[str] = mapped_column(String(36), default="")  # "" = the thread's opening post
    reporter_id: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution: Mapped[str] = mapped_column(String(20), default="")  # hidden, dismissed


class ForumAuditRow(Base):
    """Every moderation action, kept: who did what to which post, when and why."""

    __tablename__ = "forum_audit"
    __table_args__ = (Index("ix_forum_audit_run", "run_id", "at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(String(36))
    actor_id: Mapped[str] = mapped_column(String(36))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(30))  # report, hide, unhide, dismiss, endorse, refuse_blocked
    thread_id: Mapped[str] = mapped_column(String(36), default="")
    post_id: Mapped[str] = mapped_column(String(36), default="")
    reason: Mapped[str] = mapped_column(String(1000), default="")
    at: Mapped[datetime] = mapped_column()


class BlockedWordRow(Base):
    __tablename__ = "forum_blocked_words"
    province_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    word: Mapped[str] = mapped_column(String(50), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(36))
    added_at: Mapped[datetime] = mapped_column()


class ForumRuleRow(Base):
    __tablename__ = "forum_rules"
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    first_post_points: Mapped[float] = mapped_column(Float)
    replies_needed: Mapped[int] = mapped_column(Integer)
    min_reply_chars: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(String(36))
    set_at: Mapped[datetime] = mapped_column()
