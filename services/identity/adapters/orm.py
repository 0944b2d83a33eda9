"""The identity service's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.clock import utcnow
from servicekit.db import TYPE_ANNOTATION_MAP, new_id
from servicekit.outbox import messaging_tables


class Base(DeclarativeBase):
    metadata = MetaData()
    type_annotation_map = TYPE_ANNOTATION_MAP


outbox, inbox = messaging_tables(Base.metadata)


class Province(Base):
    __tablename__ = "provinces"
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class School(Base):
    __tablename__ = "schools"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    host_province: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("school_id", "number", name="uq_users_school_number"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), index=True)
    school_id: Mapped[str | None] = mapped_column(ForeignKey("schools.id"), index=True)
    province_code: Mapped[str | None] = mapped_column(String(6))
    number: Mapped[str | None] = mapped_column(String(32))
    class_name: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    # A user-chosen password is hashed with argon2. An account an admin creates gets a
    # machine-made one-time secret of ~100 bits instead, kept as a SHA-256 digest like
    # the refresh tokens (a memory-hard hash adds nothing to a random 100-bit secret, and
    # it would make a 10,000-row import take many minutes); it works only until the
    # user sets a password of their own.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    initial_secret_hash: Mapped[str | None] = mapped_column(String(64))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchoolApplication(Base):
    __tablename__ = "school_applications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    school_name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    contact_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    submitted_at: Mapped[datetime]
    answer_due_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str] = mapped_column(String(36), default="")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    school_id: Mapped[str | None] = mapped_column(ForeignKey("schools.id"))
    admin_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))


class RosterGrant(Base):
    """A course leader of another school may look up this school's students: its adoption of the
    leader's run, accepted without a tutor (the sharing service's event)."""

    __tablename__ = "roster_grants"
    leader_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    adoption_id: Mapped[str] = mapped_column(String(36))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
