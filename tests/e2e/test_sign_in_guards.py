"""Guessing passwords through the gateway: a captcha after three failures, the lockout after five,
whether the account exists or not, with parallel guesses, and without telling accounts apart."""

from __future__ import annotations

import base64
import io
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image

from devmesh.client import Api
from tests.e2e.conftest import PASSWORD, SchoolWorld, create_account, new_phone
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_imports import csv_bytes, upload

WRONG = "Wrong-pass-1"


def attempt(api: Api, login: str, password: str = WRONG, captcha: dict | None = None) -> httpx.Response:
    body = {"login": login, "password": password}
    if captcha:
        body |= {"captcha_id": captcha["id"], "captcha_answer": captcha["answer"]}
    return api.http.post("/api/v1/auth/login", json=body)


def fail_five_times(api: Api, login: str) -> list[dict]:
    """Three plain failures, two more each with a solved captcha; the problems as they came."""
    seen = []
    for _ in range(3):
        seen.append(attempt(api, login).json())
    for _ in range(2):
        required = attempt(api, login).json()
        seen.append(required)
        seen.append(attempt(api, login, captcha=required["captcha"]).json())
    return seen


def comparable(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k not in ("captcha",)}


def test_a_captcha_is_required_after_three_failures_and_is_a_png_bound_to_the_login(
    api: Api, school: SchoolWorld
) -> None:
    user, _ = create_account(school.admin, api, role="student", school_id=school.id, number="G1", name="钱同学")
    other, _ = create_account(school.admin, api, role="student", school_id=school.id, number="G2", name="孙同学")
    for _ in range(3):
        assert attempt(api, user["username"]).status_code == 401
    required = attempt(api, user["username"], PASSWORD)  # even the right password needs the captcha now
    problem = required.json()
    assert (required.status_code, problem["reason"]) == (401, "CAPTCHA_REQUIRED"), problem
    image = problem["captcha"]["image"]
    assert image.startswith("data:image/png;base64,")
    picture = Image.open(io.BytesIO(base64.b64decode(image.split(",", 1)[1])))
    assert (picture.format, picture.size) == ("PNG", (160, 60))
    captcha = problem["captcha"]
    # Wrong characters: refused without a password check, the challenge is spent, a new one comes.
    wrong = attempt(api, user["username"], PASSWORD, {"id": captcha["id"], "answer": "XXXXX"}).json()
    assert wrong["reason"] == "CAPTCHA_WRONG" and wrong["captcha"]["id"] != captcha["id"]
    assert attempt(api, user["username"], PASSWORD, captcha).json()["reason"] == "CAPTCHA_WRONG"  # used once
    # A captcha solved for one account does not open another's.
    for _ in range(3):
        attempt(api, other["username"])
    assert attempt(api, other["username"], PASSWORD, wrong["captcha"]).json()["reason"] == "CAPTCHA_WRONG"
    fresh = api.post("/auth/captcha", {"login": user["username"]})
    tokens = attempt(api, user["username"], PASSWORD, fresh)
    assert tokens.status_code == 200 and tokens.json()["access_token"]
    # Success starts the count again: three plain tries before the next captcha.
    assert [attempt(api, user["username"]).status_code for _ in range(3)] == [401, 401, 401]


def test_unknown_logins_answer_and_lock_exactly_like_accounts(api: Api, school: SchoolWorld) -> None:
    user, _ = create_account(school.admin, api, role="student", school_id=school.id, number="G3", name="周同学")
    known = fail_five_times(api, user["username"])
    unknown_login = f"nobody-{uuid.uuid4().hex[:8]}"
    unknown = fail_five_times(api, unknown_login)
    assert [comparable(p) for p in known] == [comparable(p) for p in unknown]
    assert [p.get("reason", "") for p in known] == ["", "", "", "CAPTCHA_REQUIRED", "", "CAPTCHA_REQUIRED", ""]
    locked_known = attempt(api, user["username"], PASSWORD)
    locked_unknown = attempt(api, unknown_login, PASSWORD)
    assert locked_known.status_code == locked_unknown.status_code == 403
    assert locked_known.json()["reason"] == locked_unknown.json()["reason"] == "ACCOUNT_LOCKED"
    # Same wording, only the minute of the lock's end may differ.
    assert locked_known.json()["detail"][:-9] == locked_unknown.json()["detail"][:-9]
    # An unknown phone number is guarded like a known one too.
    phone = new_phone()
    assert [attempt(api, phone).status_code for _ in range(3)] == [401, 401, 401]
    assert attempt(api, phone).json()["reason"] == "CAPTCHA_REQUIRED"


def test_forty_parallel_guesses_make_at_most_five_password_checks(api: Api, school: SchoolWorld) -> None:
    user, _ = create_account(school.admin, api, role="student", school_id=school.id, number="G4", name="吴同学")

    def guess(_: int) -> tuple[int, str]:
        with httpx.Client(base_url=api.base_url, timeout=60) as client:
            response = client.post("/api/v1/auth/login", json={"login": user["username"], "password": WRONG})
        body = response.json()
        return response.status_code, body.get("reason", "")

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(guess, range(40)))
    # A plain 401 is the answer of a real password check; everything else was refused before one.
    checks = answers.count((401, ""))
    assert 1 <= checks <= 3, answers
    assert all(a in {(401, ""), (401, "CAPTCHA_REQUIRED"), (403, "ACCOUNT_LOCKED"), (429, "RATE_LIMITED")}
               or a[0] == 429 for a in answers), answers


def test_parallel_sign_ins_with_the_right_password_all_succeed(api: Api, school: SchoolWorld) -> None:
    """Attempts are counted before their check, yet twenty devices signing in at once are no guesser."""
    user, _ = create_account(school.admin, api, role="student", school_id=school.id, number="G5", name="郑同学")

    def sign_in(_: int) -> int:
        with httpx.Client(base_url=api.base_url, timeout=60) as client:
            return client.post("/api/v1/auth/login", json={"login": user["username"], "password": PASSWORD}).status_code

    with ThreadPoolExecutor(20) as pool:
        assert list(pool.map(sign_in, range(20))) == [200] * 20
    assert attempt(api, user["username"]).status_code == 401  # and the count starts afresh: a plain check
    assert attempt(api, user["username"], PASSWORD).status_code == 200


def test_accounts_that_never_signed_in_and_unknown_logins_answer_as_slowly_as_others(
    api: Api, school: SchoolWorld
) -> None:
    numbers = [f"TM{i}" for i in range(8)]
    rows = [[n, "新同学", new_phone(), "", ""] for n in numbers]
    report = upload(school.admin, school.id, "never.csv", csv_bytes(rows))
    never = [c["username"] for c in report["credentials"]]
    signed_in = [create_account(school.admin, api, role="student", school_id=school.id, number=f"TS{i}",
                                name="老同学")[0]["username"] for i in range(8)]
    unknown = [f"ghost-{uuid.uuid4().hex[:8]}" for _ in range(8)]

    groups = {"signed in": signed_in, "never signed in": never, "unknown": unknown}
    times: dict[str, list[float]] = {name: [] for name in groups}
    attempt(api, f"ghost-{uuid.uuid4().hex[:8]}")  # warm up (the dummy hash is made on first use)
    # Interleaved, so a burst of load on the machine weighs on every group alike; two tries each (below
    # the captcha).
    for _ in range(2):
        for i in range(8):
            for name, logins in groups.items():
                started = time.perf_counter()
                assert attempt(api, logins[i]).status_code == 401
                times[name].append((time.perf_counter() - started) * 1000)
    medians = {name: statistics.median(samples) for name, samples in times.items()}
    fastest, slowest = min(medians.values()), max(medians.values())
    print("sign-in medians (ms):", medians)
    assert slowest / fastest < 1.5, medians


def test_wrong_current_passwords_on_the_password_change_are_limited_but_never_lock_sign_in(
    api: Api, school: SchoolWorld
) -> None:
    user, me = create_account(school.admin, api, role="student", school_id=school.id, number="G5", name="郑同学")
    for _ in range(5):
        expect_problem(400, lambda: me.post("/auth/password", {"old_password": WRONG, "new_password": "New-pass-2027"}))
    limited = expect_problem(403, lambda: me.post("/auth/password", {"old_password": PASSWORD,
                                                                      "new_password": "New-pass-2027"}),
                             "PASSWORD_CHANGE_LOCKED")
    assert "too many wrong current passwords" in limited["detail"]
    # Signing in is untouched: no lock, no captcha.
    assert attempt(api, user["username"], PASSWORD).status_code == 200
