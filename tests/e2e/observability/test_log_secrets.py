"""A run through the gateway with every kind of secret the platform handles (passwords, one-time passwords,
tokens, a captcha answer, a mailed reset token and verification code, a credential sheet's key, a playback
grant), then every line every process logged: each is JSON, carries the trace and the caller where one is
known, and none holds any of those secrets."""

from __future__ import annotations

import json
import re
import secrets
import uuid

import jwt

from devmesh.client import Api, ApiError
from devmesh.mesh import Mesh
from tests.e2e.conftest import SchoolWorld, new_phone
from tests.e2e.mailbox import body_of, field, wait_for_mail
from tests.e2e.observability.conftest import PYTHON_PROCESSES, log_lines
from tests.e2e.sheets import download_sheet
from tests.support import wait_until

VERIFICATION_CODE = r"Verification code \(POST /api/v1/learners/verify\): (\d{6})"


def login_answer(api: Api, login: str, password: str, captcha: dict | None = None) -> tuple[int, dict]:
    body = {"login": login, "password": password}
    if captcha:
        body |= {"captcha_id": captcha["id"], "captcha_answer": captcha["answer"]}
    response = api.http.post("/api/v1/auth/login", json=body)
    return response.status_code, response.json()


def run_with_secrets(api: Api, mesh: Mesh, school: SchoolWorld) -> tuple[dict[str, str], str, str]:
    """Everything secret a user meets, through the gateway; (the secrets by name, the teacher's id, the trace id
    of one request the test traced itself)."""
    used: dict[str, str] = {}
    email = f"logs-{uuid.uuid4().hex[:8]}@example.edu.cn"
    created = school.admin.post("/users", {"role": "teacher", "school_id": school.id, "number": "LG1",
                                           "name": "日志老师", "phone": new_phone(), "email": email})
    username = created["user"]["username"]
    used["one-time password"] = created["credentials"]["initial_password"]
    used["credential sheet key"] = created["credentials_sheet"]["download_url"].split("key=", 1)[1]
    assert download_sheet(school.admin, created["credentials_sheet"])[1][3] == used["one-time password"]

    used["own password"] = f"Own-{secrets.token_urlsafe(9)}-1a"
    first = api.post("/auth/login", {"login": username, "password": used["one-time password"]})
    changed = api.as_user(first["access_token"]).post("/auth/password", {
        "old_password": used["one-time password"], "new_password": used["own password"],
        "refresh_token": first["refresh_token"]})
    used["first access token"], used["first refresh token"] = first["access_token"], first["refresh_token"]
    used["access token"], used["refresh token"] = changed["access_token"], changed["refresh_token"]
    teacher = api.as_user(changed["access_token"])
    me = teacher.get("/me")

    # Wrong passwords three times, then the captcha it asks for, answered (test mode hands the answer over).
    used["wrong password"] = f"Wrong-{secrets.token_urlsafe(9)}-1a"
    for _ in range(3):
        assert login_answer(api, username, used["wrong password"])[0] == 401
    status, problem = login_answer(api, username, used["own password"])
    assert status == 401 and problem["captcha"]["answer"], problem
    used["captcha answer"] = problem["captcha"]["answer"]
    status, tokens = login_answer(api, username, used["own password"], problem["captcha"])
    assert status == 200, tokens
    used["captcha login access token"] = tokens["access_token"]
    used["captcha login refresh token"] = tokens["refresh_token"]

    # The self-service reset: a mailed single-use token, and a new password.
    api.post("/auth/password-reset", {"email": email})
    used["reset token"] = field(r"token=([\w-]+)", body_of(wait_for_mail(mesh, email)))
    used["reset password"] = f"Reset-{secrets.token_urlsafe(9)}-1a"
    api.post("/auth/password-reset/confirm", {"token": used["reset token"], "new_password": used["reset password"]})
    relogged = api.post("/auth/login", {"login": username, "password": used["reset password"]})
    used["reset access token"], used["reset refresh token"] = relogged["access_token"], relogged["refresh_token"]
    teacher = api.as_user(relogged["access_token"])

    # A public learner's mailed verification code.
    address = f"learner-{uuid.uuid4().hex[:10]}@example.com"
    used["learner password"] = f"Learner-{secrets.token_urlsafe(9)}-1a"
    api.post("/learners", {"email": address, "name": "李华", "password": used["learner password"]})
    used["verification code"] = field(VERIFICATION_CODE, body_of(wait_for_mail(mesh, address)))
    api.post("/learners/verify", {"email": address, "code": used["verification code"]})

    # A playback grant in the query and in the path, where the HLS playlists carry it: refused (it is not the
    # learning service's), but its URL went through the gateway's access log all the same.
    used["playback grant"] = jwt.encode({"sub": me["id"], "asset": str(uuid.uuid4()), "nonce": uuid.uuid4().hex},
                                        secrets.token_hex(32), algorithm="HS256")
    asset_id = str(uuid.uuid4())
    for path, params in ((f"/media/assets/{asset_id}/playback", {"grant": used["playback grant"]}),
                         (f"/media/play/{used['playback grant']}/assets/{asset_id}/hls/master.m3u8", None)):
        try:
            teacher.get(path, params=params)
        except ApiError as error:
            assert error.status in (401, 403, 404), error
    # One request the test traces itself: its trace id must be on the gateway's line for it.
    trace_id = secrets.token_hex(16)
    teacher.get("/me", headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    api.post("/auth/logout", {"refresh_token": used["reset refresh token"]},
             headers={"Authorization": f"Bearer {used['reset access token']}"})
    return used, me["id"], trace_id


def test_a_full_run_logs_json_lines_with_the_trace_and_caller_and_no_secret(
    traced_api: Api, traced_mesh: Mesh, traced_school: SchoolWorld
) -> None:
    used, teacher_id, trace_id = run_with_secrets(traced_api, traced_mesh, traced_school)
    used["platform admin password"] = "Platform-admin-2026"
    used["platform access token"] = traced_api.login("platform", used["platform admin password"]).token
    assert all(len(secret) >= 4 for secret in used.values()), {k: len(v) for k, v in used.items()}

    def traced_line_logged() -> dict[str, list[str]] | None:
        logs = log_lines(traced_mesh)
        return logs if any(trace_id in line for line in logs.get("gateway", ())) else None

    every_log = wait_until(traced_line_logged)  # every file of the data folder's logs/, the servers' too
    assert set(PYTHON_PROCESSES) <= set(every_log), sorted(every_log)
    for name, lines in every_log.items():
        for number, line in enumerate(lines, 1):
            for what, secret in used.items():
                leaked = re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", line)
                assert not leaked, f"{name}.log line {number} holds the {what}: {line}"

    span_files = {path.stem: path.read_text() for path in (traced_mesh.data_dir / "traces").glob("*.jsonl")}
    assert span_files.get("gateway") and span_files.get("identity")
    for name, spans in span_files.items():  # nor do the spans' names and attributes
        assert not [what for what, secret in used.items() if secret in spans], name

    python_logs = {name: lines for name, lines in every_log.items()
                   if name in PYTHON_PROCESSES or name.startswith("media_worker")}
    records = []
    for name, lines in python_logs.items():
        assert lines, f"{name} logged nothing"
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError as error:
                raise AssertionError(f"{name}.log line {number} is not JSON: {line!r}") from error
            assert {"time", "level", "logger", "message", "service"} <= set(record), record
            records.append(record)
    # The teacher's signed-in requests: the gateway's lines name the caller, the school and the trace.
    mine = [r for r in records if r.get("user_id") == teacher_id]
    assert mine and all(r["school_id"] == traced_school.id and len(r["trace_id"]) == 32 for r in mine)
    traced = [r for r in records if r.get("trace_id") == trace_id]
    assert traced and traced[0]["service"] == "gateway" and "GET /api/v1/me" in traced[0]["message"]
    assert traced[0]["user_id"] == teacher_id
    # The grant's URLs were logged, with the grant taken out.
    assert any("/media/play/[REDACTED]/assets/" in r["message"] for r in records)
    assert any("grant=[REDACTED]" in r["message"] for r in records)
