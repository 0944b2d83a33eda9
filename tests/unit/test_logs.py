"""JSON log lines: their fields, the trace and caller they carry, and the secrets they never show."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from servicekit.auth import Caller, bind_caller, unbind_caller
from servicekit.logs import REDACTED, JsonFormatter, redact

GRANT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEiLCJhc3NldCI6ImEtMSJ9.c2lnbmF0dXJlLW9mLXRoZS1ncmFudA"


@pytest.mark.parametrize(("text", "secret"), [
    (f'127.0.0.1:5 - "GET /api/v1/media/play/{GRANT}/assets/a/hls/master.m3u8 HTTP/1.1" 200', GRANT),
    ('"GET /api/v1/media/assets/a/playback?grant=opaque-grant-value HTTP/1.1" 403', "opaque-grant-value"),
    ('"GET /api/v1/credential-sheets/s?key=KqX1xGSKh9vm HTTP/1.1" 200', "KqX1xGSKh9vm"),
    ("https://s3/bucket/obj?X-Amz-Algorithm=A&X-Amz-Signature=abcdef0123&X-Amz-Credential=AK%2F1", "abcdef0123"),
    ("https://s3/bucket/obj?X-Amz-Algorithm=A&X-Amz-Signature=abcdef0123&X-Amz-Credential=AK%2F1", "AK%2F1"),
    ("sign-in refused: {'login': 'li', 'password': 'Hunter-2-secret'}", "Hunter-2-secret"),
    ("new_password=Fresh-pass-2027 for li", "Fresh-pass-2027"),
    ('{"refresh_token": "r.opaque.token"}', "r.opaque.token"),
    ("headers: Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
    ("captcha_answer=K7P2Q reset_code: 493021", "K7P2Q"),
    ("captcha_answer=K7P2Q reset_code: 493021", "493021"),
    (f"token {GRANT} refused", GRANT),
])
def test_secrets_are_taken_out_of_log_text(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned and REDACTED in cleaned


def test_ordinary_text_stays_readable() -> None:
    text = "consumer x: NotFoundError: code=404 description='stream REVIEW does not exist yet' object_key=m/a.mp4"
    assert redact(text) == text


def record(message: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("services.identity", logging.WARNING, __file__, 1, message, args, exc_info)


def test_a_line_is_one_json_object_with_the_trace_the_caller_and_the_exception() -> None:
    formatter = JsonFormatter("identity")
    plain = json.loads(formatter.format(record("started on %d", 50051)))
    assert plain["message"] == "started on 50051" and plain["service"] == "identity"
    assert plain["level"] == "WARNING" and plain["logger"] == "services.identity" and plain["time"].endswith("+00:00")
    assert "trace_id" not in plain and "user_id" not in plain

    tracer = TracerProvider().get_tracer("test")  # a provider of its own: the process's global one is untouched
    bound = bind_caller(Caller(user_id="u-1", role="teacher", school_id="s-1", province_code="33", name="李老师"))
    try:
        with tracer.start_as_current_span("call") as span:
            try:
                raise ValueError("password=Hunter-2-secret was refused")
            except ValueError:
                line = formatter.format(record("failed for %s", "li", exc_info=sys.exc_info()))
            context = span.get_span_context()
    finally:
        unbind_caller(bound)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["trace_id"] == trace.format_trace_id(context.trace_id)
    assert entry["span_id"] == trace.format_span_id(context.span_id)
    assert (entry["user_id"], entry["role"], entry["school_id"]) == ("u-1", "teacher", "s-1")
    assert "ValueError" in entry["exception"] and "Hunter-2-secret" not in entry["exception"]
