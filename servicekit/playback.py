"""Playback grants: the learning service says "this user may play this asset until then", and the media service
checks it locally, without reading course or learning tables (as access tokens are checked).

A grant is a short JWT (HS256) signed with the learning service's key (`servicekit.service_keys`: the
learning service holds it, the media service checks with it); it names the asset, the user and the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from servicekit.errors import PermissionDenied

GRANT_ISSUER = "learning"
GRANT_AUDIENCE = "media-playback"
GRANT_TTL = timedelta(hours=4)  # a lecture, paused and resumed, plays on one grant; the player asks again after
GRANT_SERVICE = "learning"  # whose service key signs grants
# The learning pod that signs and the media pod that checks have their own clocks: a grant signed by a clock a
# second ahead must not read as "issued in the future", nor one a second behind expire early.
CLOCK_SKEW = timedelta(seconds=30)


@dataclass(frozen=True)
class Grant:
    asset_id: str
    user_id: str
    run_id: str
    expires_at: datetime


def issue_grant(key: str, asset_id: str, user_id: str, run_id: str, ttl: timedelta = GRANT_TTL,
                now: datetime | None = None) -> tuple[str, Grant]:
    """A signed grant for `user_id` to play `asset_id` (for `run_id`), and its facts."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:  # a naive time (as SQLite hands them back) is UTC here, never the machine's zone
        now = now.replace(tzinfo=UTC)
    expires = now + ttl
    token = jwt.encode({"iss": GRANT_ISSUER, "aud": GRANT_AUDIENCE, "sub": user_id, "asset": asset_id,
                        "run": run_id, "iat": int(now.timestamp()), "exp": int(expires.timestamp())},
                       key, algorithm="HS256")
    return token, Grant(asset_id, user_id, run_id, expires.replace(microsecond=0))


def verify_grant(key: str, token: str, asset_id: str, user_id: str | None = None) -> Grant:
    """The grant's facts, when it is genuine, unexpired, for this asset and (when `user_id` is given) for this user;
    else PermissionDenied."""
    if not key:
        raise PermissionDenied("playback grants are not accepted here (no key to check them with)")
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"], audience=GRANT_AUDIENCE, issuer=GRANT_ISSUER,
                            leeway=CLOCK_SKEW, options={"require": ["exp", "sub", "asset"]})
    except jwt.ExpiredSignatureError as exc:
        raise PermissionDenied("the playback grant has expired: start playing again") from exc
    except jwt.PyJWTError as exc:
        raise PermissionDenied("not a valid playback grant") from exc
    if claims["asset"] != asset_id:
        raise PermissionDenied("the playback grant is for another video")
    if user_id is not None and claims["sub"] != user_id:
        raise PermissionDenied("the playback grant was given to another user")
    return Grant(claims["asset"], claims["sub"], claims.get("run", ""),
                 datetime.fromtimestamp(claims["exp"], UTC))
