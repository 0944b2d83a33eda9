"""Public learners (社会学习者, seed 000 §4.3): people of no school who register themselves with an
e-mail address they prove is theirs by a mailed code, and learn in the public classes of MOOC runs."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from servicekit.errors import FailedPrecondition, InvalidArgument
from services.identity.domain.rules import EMAIL_PATTERN

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=30)
MAX_CODE_TRIES = 5  # wrong codes a code survives; the 5th wrong one ends it
RESEND_INTERVAL = timedelta(minutes=1)  # a new code, at the soonest, a minute after the last (while it works)
CODES_PER_HOUR = 5  # codes mailed to one registration within an hour, whatever happened to them
MAX_EMAIL_LENGTH = 200  # the column's size
MAX_NAME_LENGTH = 100
UNVERIFIED_KEPT = timedelta(days=7)  # a registration nobody verified frees its address after this

_CODE_PATTERN = re.compile(rf"^\d{{{CODE_LENGTH}}}$")
_USERNAME_UNSAFE = re.compile(r"[^a-z0-9_.\-]+")


def normalise_email(email: str) -> str:
    """The address as kept and compared: trimmed and in lower case (mailbox names are case-blind in practice)."""
    return email.strip().lower()


def validate_learner_email(email: str) -> str:
    """The address a learner registers and signs in with; returns it normalised."""
    address = normalise_email(email)
    if not address:
        raise InvalidArgument("give your e-mail address", reason="EMAIL_INVALID")
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidArgument(f"an e-mail address has at most {MAX_EMAIL_LENGTH} characters", reason="EMAIL_INVALID")
    local, _, domain = address.rpartition("@")
    if (not EMAIL_PATTERN.match(address) or ".." in address or domain.startswith(".") or domain.endswith(".")
            or local.startswith(".") or local.endswith(".") or not address.isascii()):
        raise InvalidArgument(f"'{email.strip()}' is not an e-mail address (like name@example.com)",
                              reason="EMAIL_INVALID")
    return address


def validate_learner_name(name: str) -> str:
    """The name shown to teachers and on certificates: 1 to 100 printable characters."""
    value = " ".join(name.split())
    if not value:
        raise InvalidArgument("give your name", reason="NAME_INVALID")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"a name has at most {MAX_NAME_LENGTH} characters", reason="NAME_INVALID")
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise InvalidArgument("a name must not contain control characters", reason="NAME_INVALID")
    return value


def username_stem(email: str) -> str:
    """The start of a learner's username, from the address's mailbox name (they sign in by the address;
    the username is what teachers see in rosters). A random suffix makes it unique."""
    stem = _USERNAME_UNSAFE.sub("-", email.partition("@")[0].lower()).strip("-.")[:40]
    return stem if len(stem) >= 3 else "learner"


def new_username(email: str) -> str:
    return f"{username_stem(email)}-{secrets.token_hex(3)}"  # never looks like a phone number


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def normalise_code(code: str) -> str:
    return "".join(code.split())


def check_code_format(code: str) -> str:
    value = normalise_code(code)
    if not _CODE_PATTERN.match(value):
        raise InvalidArgument(f"the verification code has {CODE_LENGTH} digits", reason="VERIFICATION_CODE_INVALID")
    return value


def code_digest(salt: str, code: str) -> str:
    """A code is kept only as a digest salted with its row's id (no table of a million digests fits all)."""
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def code_matches(salt: str, code: str, expected: str) -> bool:
    return hmac.compare_digest(code_digest(salt, code), expected)


@dataclass(frozen=True)
class LastCode:
    created_at: datetime
    usable: bool  # neither expired, used, superseded nor out of tries


def check_may_send_code(last: LastCode | None, codes_in_the_last_hour: int, now: datetime) -> None:
    """A new code: at most CODES_PER_HOUR an hour; and while the last one still works, a minute after it."""
    if codes_in_the_last_hour >= CODES_PER_HOUR:
        raise FailedPrecondition(
            f"{CODES_PER_HOUR} codes were mailed within the hour: check your mailbox (and spam folder), or ask "
            "again in an hour", reason="VERIFICATION_CODE_RATE_LIMITED")
    if last is not None and last.usable and now < last.created_at + RESEND_INTERVAL:
        wait = max(1, int((last.created_at + RESEND_INTERVAL - now).total_seconds() + 0.999))
        raise FailedPrecondition(
            f"a code was mailed less than a minute ago: check your mailbox, or ask again in {wait} s",
            reason="VERIFICATION_CODE_RATE_LIMITED")


def tries_left(tries: int) -> int:
    return max(0, MAX_CODE_TRIES - tries)
