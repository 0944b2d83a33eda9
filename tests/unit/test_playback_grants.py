"""Playback grants: signed by the learning service's key, checked by media without reading anyone's tables."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from servicekit.errors import PermissionDenied
from servicekit.playback import CLOCK_SKEW, GRANT_AUDIENCE, GRANT_ISSUER, issue_grant, verify_grant

KEY = "l" * 64
OTHER_KEY = "m" * 64


def refused(token: str, asset_id: str = "asset-1", key: str = KEY, user_id: str | None = None) -> str:
    with pytest.raises(PermissionDenied) as caught:
        verify_grant(key, token, asset_id, user_id=user_id)
    return str(caught.value)


def test_a_good_grant_names_its_asset_user_run_and_expiry() -> None:
    now = datetime(2026, 9, 1, 8, 0, 0, 500_000, tzinfo=UTC)
    token, issued = issue_grant(KEY, "asset-1", "user-1", "run-1", now=datetime.now(UTC))
    grant = verify_grant(KEY, token, "asset-1", user_id="user-1")
    assert (grant.asset_id, grant.user_id, grant.run_id) == ("asset-1", "user-1", "run-1")
    assert grant.expires_at == issued.expires_at
    assert verify_grant(KEY, token, "asset-1").user_id == "user-1"  # the user check is the caller's choice
    _, at_noon = issue_grant(KEY, "a", "u", "r", ttl=timedelta(hours=4), now=now)
    assert at_noon.expires_at == datetime(2026, 9, 1, 12, 0, 0, tzinfo=UTC)


def test_an_expired_grant_is_refused() -> None:
    old = datetime.now(UTC) - timedelta(hours=5)
    token, _ = issue_grant(KEY, "asset-1", "user-1", "run-1", ttl=timedelta(hours=4), now=old)
    assert "expired" in refused(token)


def test_a_grant_for_another_asset_or_user_is_refused() -> None:
    token, _ = issue_grant(KEY, "asset-1", "user-1", "run-1")
    assert "another video" in refused(token, asset_id="asset-2")
    assert "another user" in refused(token, user_id="user-2")


def test_a_grant_signed_with_another_key_is_refused() -> None:
    token, _ = issue_grant(OTHER_KEY, "asset-1", "user-1", "run-1")
    assert "not a valid" in refused(token)
    assert "not accepted" in refused(token, key="")  # a media service without the key accepts no grant


def test_a_tampered_grant_is_refused() -> None:
    token, _ = issue_grant(KEY, "asset-1", "user-1", "run-1")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "user-2"  # someone else's user id, the signature kept
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "not a valid" in refused(f"{header}.{forged}.{signature}", user_id="user-2")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert "not a valid" in refused(f"{header}.{payload}.{flipped}")
    unsigned = jwt.encode({**claims, "sub": "user-1"}, None, algorithm="none")
    assert "not a valid" in refused(unsigned)
    assert "not a valid" in refused("not-a-grant")


def test_an_access_token_shaped_grant_for_another_audience_or_issuer_is_refused() -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": GRANT_ISSUER, "aud": GRANT_AUDIENCE, "sub": "user-1", "asset": "asset-1", "iat": now,
              "exp": now + 600}
    assert verify_grant(KEY, jwt.encode(claims, KEY, algorithm="HS256"), "asset-1")
    assert "not a valid" in refused(jwt.encode({**claims, "aud": "other"}, KEY, algorithm="HS256"))
    assert "not a valid" in refused(jwt.encode({**claims, "iss": "identity"}, KEY, algorithm="HS256"))
    without_expiry = {k: v for k, v in claims.items() if k != "exp"}
    assert "not a valid" in refused(jwt.encode(without_expiry, KEY, algorithm="HS256"))


def test_a_signing_clock_a_little_ahead_is_tolerated_but_not_a_grant_from_the_future() -> None:
    ahead = datetime.now(UTC) + timedelta(seconds=5)
    token, _ = issue_grant(KEY, "asset-1", "user-1", "run-1", now=ahead)
    assert verify_grant(KEY, token, "asset-1").user_id == "user-1"
    far = datetime.now(UTC) + CLOCK_SKEW + timedelta(minutes=5)
    token, _ = issue_grant(KEY, "asset-1", "user-1", "run-1", now=far)
    assert "not a valid" in refused(token)


def test_a_naive_issue_time_is_read_as_utc() -> None:
    naive = datetime(2026, 9, 1, 8, 0)
    token, grant = issue_grant(KEY, "a", "u", "r", ttl=timedelta(hours=1), now=naive)
    assert grant.expires_at == datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience=GRANT_AUDIENCE, options={"verify_exp": False})
    assert claims["exp"] == int(datetime(2026, 9, 1, 9, 0, tzinfo=UTC).timestamp())
