"""The facts of assets the media service gives the course service: heights, and only to the course service's key."""

from __future__ import annotations

import asyncio

import pytest

from servicekit.auth import Caller
from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.service_keys import SERVICE_ROLE
from services.media.domain.facts import video_height
from services.media.service_layer.asset_facts import AssetFactsHandlers


def test_a_videos_height_is_its_tallest_rendition_else_the_source_as_probed() -> None:
    assert video_height(["360p", "720p", "1080p"], []) == 1080
    assert video_height(["360p", "576p"], [{"rule": "resolution", "measured": "1280×720"}]) == 576
    assert video_height([], [{"rule": "resolution", "measured": "720×576 (SD)"}]) == 576
    assert video_height([], [{"rule": "duration", "measured": "4 s"}]) == 0


def service(name: str) -> Caller:
    return Caller(user_id=f"service:{name}", role=SERVICE_ROLE, school_id=None, province_code=None, name=name)


@pytest.mark.parametrize("caller", [
    service("learning"), service("media"),
    Caller(user_id="u1", role="school_admin", school_id="s1", province_code="33", name="管理员"),
    Caller(user_id="service:course", role="teacher", school_id="s1", province_code="33", name="冒名")])
def test_only_the_course_services_key_reads_the_facts_of_assets(caller: Caller) -> None:
    with pytest.raises(PermissionDenied):
        asyncio.run(AssetFactsHandlers(db=None).asset_facts(caller, ["a"]))  # type: ignore[arg-type]


def test_the_course_service_asks_for_at_most_1000_assets_at_a_time() -> None:
    with pytest.raises(InvalidArgument):
        asyncio.run(AssetFactsHandlers(db=None).asset_facts(  # type: ignore[arg-type]
            service("course"), [str(n) for n in range(1001)]))
    assert asyncio.run(AssetFactsHandlers(db=None).asset_facts(service("course"), [])) == []  # type: ignore[arg-type]
