"""Guessing passwords: failures counted per account (or per login naming none, alike), a captcha
after a few, a lockout after more; one-time credentials and reset links that expire."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.identity.domain.rules import LOCKOUT_DURATION, LOCKOUT_THRESHOLD

# Seed 000 §三.1.2: sign-in asks for a dynamic verification code; here after a few failures.
CAPTCHA_AFTER_FAILURES = 3
CAPTCHA_TTL = timedelta(minutes=5)
CAPTCHA_LENGTH = 5
CAPTCHA_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes (0/O, 1/I)

# Wrong current passwords on the password change: limited on their own, never locking sign-in.
PASSWORD_CHANGE_THRESHOLD = 5

PASSWORD_RESET_TTL = timedelta(minutes=30)
CREDENTIAL_SHEET_TTL = timedelta(days=7)

LOCKED = "locked"
CAPTCHA_REQUIRED = "captcha"


def account_key(user_id: str) -> str:
    return f"user:{user_id}"


def unknown_login_key(login: str) -> str:
    """A login that names no account is guarded like one; what was typed is kept only as a digest."""
    return "login:" + hashlib.sha256(login.strip().lower().encode()).hexdigest()


def password_change_key(user_id: str) -> str:
    return f"change:{user_id}"


def attempts_before_refusal(captcha_solved: bool) -> int:
    """Password checks an account allows in a row: a solved captcha buys one up to the lockout."""
    return LOCKOUT_THRESHOLD if captcha_solved else CAPTCHA_AFTER_FAILURES


@dataclass(frozen=True)
class GuardState:
    failures: int  # counted before the check, so checks in flight count too
    locked_until: datetime | None


def is_locked(state: GuardState, now: datetime) -> bool:
    return state.locked_until is not None and state.locked_until > now


def refusal(state: GuardState, now: datetime) -> str:
    """Why an attempt gets no password check: the lockout, or a captcha to solve first."""
    if is_locked(state, now) or state.failures >= LOCKOUT_THRESHOLD:
        return LOCKED
    return CAPTCHA_REQUIRED


def locks_after(failures_counted: int) -> bool:
    """The failure that brings the count to the threshold locks the account."""
    return failures_counted >= LOCKOUT_THRESHOLD


def lock_ends(now: datetime) -> datetime:
    return now + LOCKOUT_DURATION


def normalise_captcha_answer(answer: str) -> str:
    return "".join(answer.split()).upper()


@dataclass(frozen=True)
class IdentityFields:
    name: str
    phone: str
    email: str


def changed_identity_fields(current: IdentityFields, row: IdentityFields) -> list[str]:
    """What a row would change of an existing account's identity data (a blank cell changes nothing)."""
    return [
        field
        for field in ("name", "phone", "email")
        if getattr(row, field) and getattr(row, field) != getattr(current, field)
    ]
