"""The identity rules, each named for what it means."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from servicekit.errors import InvalidArgument
from servicekit.working_days import working_days_later

# Repeated failed logins lock the account for a while; the counter resets on success.
LOCKOUT_THRESHOLD = 5
LOCKOUT_DURATION = timedelta(minutes=15)

# The platform answers an out-of-province school's application within 2 working days.
APPLICATION_ANSWER_WORKING_DAYS = 2

MIN_PASSWORD_LENGTH = 8
PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$")  # mainland China mobile numbers
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
NUMBER_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")  # student or staff number
SCHOOL_CODE_PATTERN = re.compile(r"^[A-Za-z0-9]{2,20}$")

ROLES = ("student", "teacher", "college_admin", "school_admin", "center_admin", "platform_admin")
ROLES_WITH_A_SCHOOL = ("student", "teacher", "college_admin", "school_admin")
ROLES_A_SCHOOL_ADMIN_CREATES = ("student", "teacher", "college_admin")
IMPORTABLE_ROLES = ("student", "teacher")


class UserStatus:
    ACTIVE = "active"
    PENDING = "pending"  # a self-registered teacher waiting for the school admin
    REJECTED = "rejected"
    UNVERIFIED = "unverified"  # a self-registered public learner who has not entered the mailed code yet


class ApplicationStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def check_new_password(password: str, *, username: str = "", phone: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        raise InvalidArgument("the password needs both letters and digits")
    if password in {username, phone} or password.isdigit():
        raise InvalidArgument("the password must not be your username, phone number or only digits")


def answer_due(submitted_at: datetime, working_days: int = APPLICATION_ANSWER_WORKING_DAYS) -> datetime:
    """An application's answer deadline: `working_days` of China's working days later (servicekit.working_days)."""
    return working_days_later(submitted_at, working_days)


def validate_phone(phone: str) -> None:
    if not PHONE_PATTERN.match(phone):
        raise InvalidArgument(f"'{phone}' is not a mobile phone number (11 digits starting with 1)")


def validate_email(email: str) -> None:
    if email and not EMAIL_PATTERN.match(email):
        raise InvalidArgument(f"'{email}' is not an email address")


def validate_username(username: str) -> None:
    if not USERNAME_PATTERN.match(username):
        raise InvalidArgument("a username has 3 to 64 letters, digits, '_', '.' or '-'")
    if PHONE_PATTERN.match(username):
        raise InvalidArgument("a username must not look like a phone number (phones log in by themselves)")


def require_text(value: str, field: str, max_length: int = 100) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument(f"{field} is required")
    if len(value) > max_length:
        raise InvalidArgument(f"{field} has at most {max_length} characters")
    return value
