"""For tests of the media handlers that never check a video's spec: a policy source that says so if asked."""

from __future__ import annotations

from services.media.domain.spec import VideoPolicy


async def no_policy_read(school_id: str) -> VideoPolicy:
    raise AssertionError(f"this test does not check specs, yet school {school_id}'s policy was asked for")
