"""The rendition ladder keeps a rung at or near the source's height, and never upscales."""

from __future__ import annotations

from services.media.domain.encoding import DEFAULT_ENCODING, progressive_rung, rungs_for


def names(height: int) -> list[str]:
    return [rung.name for rung in rungs_for(DEFAULT_ENCODING, height)]


def test_a_720x576_source_keeps_a_576p_rung_beside_360p() -> None:
    rungs = rungs_for(DEFAULT_ENCODING, 576)
    assert [rung.name for rung in rungs] == ["360p", "576p"]
    own = rungs[-1]
    assert own.height == 576 and 800 < own.video_kbps < 2800 and 856 < own.maxrate_kbps < 2996
    assert progressive_rung(DEFAULT_ENCODING, rungs) == own  # the progressive MP4 is 576p, not 360p


def test_an_ntsc_sd_source_keeps_a_480p_rung() -> None:
    assert names(480) == ["360p", "480p"]


def test_a_source_near_a_rung_gets_that_rung_only() -> None:
    assert names(736) == ["360p", "720p"]
    assert names(400) == ["360p"]


def test_ladder_heights_and_taller_sources_keep_the_ladder() -> None:
    assert names(720) == ["360p", "720p"]
    assert names(1080) == ["360p", "720p", "1080p"]
    assert names(2160) == ["360p", "720p", "1080p"]  # delivery stops at 1080p


def test_an_odd_height_between_rungs_is_rounded_down_to_even() -> None:
    assert names(901) == ["360p", "720p", "900p"]


def test_a_source_below_the_smallest_rung_is_not_upscaled() -> None:
    assert names(240) == ["240p"]
