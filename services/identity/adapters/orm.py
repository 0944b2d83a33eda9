"""The identity service's tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from servicekit.clock import utcnow
from servicekit.db import TYPE_ANNOTATION_MAP, new_id
from servicekit.grams import GramIndex, folded, gram_table
from servicekit.outbox import messaging_tables
from servicekit.pinyin import name_key
from services.identity.domain.rules import UserStatus


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
    name_pinyin: Mapped[str] = mapped_column(Text, default="")  # the name's pinyin and initials, set with it
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"))
    host_province: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("name")
    def _keep_pinyin(self, _key: str, name: str) -> str:
        self.name_pinyin = name_key(name)
        return name


# The school search's gram index (servicekit.grams): every school in one scope, ranked by code as listed; fields
# 0, 1 and 2 are the name and the code (folded as LIKE folds them) and the name's pinyin.
SCHOOLS_SCOPE = "schools"
school_grams = gram_table(Base.metadata, "school_grams", rank_length=20)
SCHOOL_GRAMS = GramIndex(school_grams, None, School, scope_of=lambda _school: SCHOOLS_SCOPE,
                         rank_of=lambda school: school.code,
                         texts_of=lambda school: (folded(school.name), folded(school.code), school.name_pinyin)).watch()


class College(Base):
    """A school's college (学院/教学单位): its teachers' course-building applications are recommended by its
    college admin (the review service's scope "college")."""

    __tablename__ = "colleges"
    __table_args__ = (UniqueConstraint("school_id", "name", name="uq_colleges_school_name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("school_id", "number", name="uq_users_school_number"),
        UniqueConstraint("login_email", name="uq_users_login_email"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(100))
    name_pinyin: Mapped[str] = mapped_column(Text, default="")  # the name's pinyin and initials, set with it
    role: Mapped[str] = mapped_column(String(20), index=True)
    school_id: Mapped[str | None] = mapped_column(ForeignKey("schools.id"), index=True)
    college_id: Mapped[str | None] = mapped_column(ForeignKey("colleges.id"), index=True)  # teachers, college admins
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
    # A public learner (no school) signs in by their e-mail address: kept here normalised, one account each.
    login_email: Mapped[str | None] = mapped_column(String(200))
    initial_secret_hash: Mapped[str | None] = mapped_column(String(64))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @validates("name")
    def _keep_pinyin(self, _key: str, name: str) -> str:
        self.name_pinyin = name_key(name)  # bulk imports (imports.py) set it in their rows
        return name


# The teacher search's gram index (servicekit.grams): only active teachers are in it (one scope, so FindTeachers'
# posting lists hold no students), ranked by name as FindTeachers lists them; fields 0 and 1 are the name (folded
# as LIKE folds it) and its pinyin. Bulk imports write their rows themselves (imports.py, `teacher_gram_rows`).
TEACHERS_SCOPE = "teachers"
user_grams = gram_table(Base.metadata, "user_grams")


def teacher_scope(user: User) -> str | None:
    return TEACHERS_SCOPE if user.role == "teacher" and user.status == UserStatus.ACTIVE else None


def teacher_texts(name: str | None, name_pinyin: str | None) -> tuple[str, str]:
    return folded(name), name_pinyin or ""


TEACHER_GRAMS = GramIndex(user_grams, None, User, scope_of=teacher_scope, rank_of=lambda user: user.name,
                          texts_of=lambda user: teacher_texts(user.name, user.name_pinyin)).watch()


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
    """A course leader of another school may look up this school's students for one run: the school's
    adoption of that run, accepted without a tutor (the sharing service's event)."""

    __tablename__ = "roster_grants"
    leader_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    adoption_id: Mapped[str] = mapped_column(String(36))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInGuard(Base):
    """Failed sign-ins counted per account, and per typed login that names no account, so both
    lock alike. A failure is counted before the password is checked (see domain.guards)."""

    __tablename__ = "sign_in_guards"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaptchaChallenge(Base):
    __tablename__ = "captcha_challenges"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    guard_key: Mapped[str] = mapped_column(String(80), index=True)
    answer_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PasswordResetToken(Base):
    """A self-service reset link: single use, short-lived, kept as a SHA-256 digest."""

    __tablename__ = "password_reset_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailVerification(Base):
    """A code mailed to a public learner's address: single use, short-lived, a few tries, kept as a digest
    salted with the row's id. A new code ends the ones before it (their used_at is set)."""

    __tablename__ = "email_verifications"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CredentialSheet(Base):
    """One-time passwords handed to the account's creator as an XLSX, downloadable once.

    The sheet is encrypted with a key only the creator was given (AES-GCM); the database keeps
    the ciphertext until the download, then nothing."""

    __tablename__ = "credential_sheets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_by: Mapped[str] = mapped_column(String(36), index=True)
    accounts: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    downloaded_at: Mapped[datetime | None]


class OutgoingMail(Base):
    """Mail written in the same transaction as its cause and sent by the mail relay (like the
    event outbox); the body is erased once it is sent."""

    __tablename__ = "outgoing_mail"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
