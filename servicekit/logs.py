"""Structured logs: one JSON object a line with the service, the trace and the caller, and secrets redacted
(bearer tokens, JWTs such as playback grants, passwords, codes and presigned signatures) as a safety net."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from servicekit.auth import current_caller

REDACTED = "[REDACTED]"

# Whatever a message holds, these never reach a log line: values by name, and shapes that are secrets whatever
# they are called. In a URL's query any of the wider set is a secret (?grant=, ?key=, ?code=); in prose only the
# unambiguous names are ("code=404" in an error stays readable).
_SECRET_NAMES = (
    r"password|passwd|new_password|old_password|initial_password|one_time_password|token|access_token"
    r"|refresh_token|id_token|captcha_answer|reset_code|verification_code|secret|secret_key|service_key|api_key"
    r"|signature|x-amz-signature|x-amz-credential|x-amz-security-token|authorization"
)
_QUERY_SECRET_NAMES = rf"{_SECRET_NAMES}|grant|key|code|answer|sig|credential|x-goog-signature"
# Each pattern runs only when a cheap substring test says it may match: most lines (an access log line of
# `GET /api/v1/me`) run none, which keeps a line's cost near the plain text formatter's.
_NAME_HINTS = ("pass", "token", "secret", "key", "signature", "authorization", "captcha", "code", "credential")
_PATTERNS: list[tuple[Callable[[str], bool], re.Pattern[str], str]] = [
    (lambda lower: "bearer" in lower, re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), f"Bearer {REDACTED}"),
    # JWTs: access and refresh tokens, playback grants, reset tokens.
    (lambda lower: "eyj" in lower, re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # ?name=value&... in URLs (uvicorn's access log prints the query string).
    (lambda lower: "=" in lower and ("?" in lower or "&" in lower or ";" in lower),
     re.compile(rf"(?i)([?&;](?:{_QUERY_SECRET_NAMES})=)[^&\s\"'#]*"), rf"\1{REDACTED}"),
    # name=value, name: value, "name": "value" in messages and reprs.
    (lambda lower: any(hint in lower for hint in _NAME_HINTS),
     re.compile(rf"(?i)(\b(?:{_SECRET_NAMES})[\"']?\s*[:=]\s*[\"']?)[^\s\"',&}}]+"), rf"\1{REDACTED}"),
    # a playback grant in a path: /media/play/<grant>/...
    (lambda lower: "/media/play/" in lower, re.compile(r"(/media/play/)[^/\s\"?]+"), rf"\1{REDACTED}"),
]


# One scan that no secret escapes: a line it does not match (most lines) is left as it is.
_MAY_HOLD_A_SECRET = re.compile("bearer|eyj|=|/media/play/|" + "|".join(_NAME_HINTS))


def redact(text: str) -> str:
    lower = text.lower()
    if not _MAY_HOLD_A_SECRET.search(lower):
        return text
    for may_match, pattern, replacement in _PATTERNS:
        if may_match(lower):
            text = pattern.sub(replacement, text)
    return text


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)  # made once: json.dumps(default=...) makes one a call


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, service; trace_id and span_id inside a span; user_id, school_id and role
    of the verified caller; the exception as a field. Every text is redacted."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "service": self.service,
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = trace.format_trace_id(context.trace_id)
            entry["span_id"] = trace.format_span_id(context.span_id)
        caller = current_caller()
        if caller is not None:
            entry["user_id"] = caller.user_id
            entry["role"] = caller.role
            if caller.school_id:
                entry["school_id"] = caller.school_id
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return _ENCODER.encode(entry)


def configure(service: str, level: str = "INFO") -> None:
    """Every record of the process, its libraries' too (uvicorn's when started with log_config=None), goes out
    as JSON lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings become records too: every line of the process is JSON
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # their records go through the root's handler
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
