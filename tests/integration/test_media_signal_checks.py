"""The seeds' signal checks against real ffmpeg on short generated clips: constant audio rate, audio SNR, intro
plus outro, exactly 25 fps, the SD grade and the rung kept at an SD source's height."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.media.adapters import ffmpeg as fx
from services.media.domain.encoding import DEFAULT_ENCODING
from services.media.domain.spec import PROFILES, check_video, delivery_encoding, needs_transcode
from tests import media_clips

HENAN, CHANGSHA, DEFAULT = PROFILES["henan"], PROFILES["changsha"], PROFILES["default"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signal-clips")


async def measured_report(path: Path, profile, demuxer: str = "mov", container: str = "mp4", **options):
    probe = await fx.probe(path, demuxer)
    measured = await fx.measure_signals(
        path, demuxer, probe, audio_bitrate=profile.constant_audio_bitrate,
        audio_levels=profile.min_audio_snr_db is not None, edges=profile.max_intro_outro_seconds is not None,
        **options)
    return check_video(profile, probe, container, measured), measured


async def test_a_constant_128_kbps_aac_passes_and_a_switching_rate_fails_where_henan_asks(clips: Path) -> None:
    steady, measured = await measured_report(media_clips.speech_like(clips, noise=0.001), HENAN)
    line = steady.result("audio_bitrate_constant")
    assert line.status == "pass", line.measured
    assert measured.audio_second_kbps and all(120 < kbps < 140 for kbps in measured.audio_second_kbps)
    switching, _ = await measured_report(media_clips.switching_audio_rate(clips), HENAN)
    failed = switching.result("audio_bitrate_constant")
    assert failed.status == "fail" and failed.measured.startswith("6"), failed.measured  # 6x kbps at the low end
    assert needs_transcode(switching)


async def test_audio_snr_passes_a_quiet_noise_floor_and_fails_a_loud_one_where_changsha_asks(clips: Path) -> None:
    clean, _ = await measured_report(media_clips.speech_like(clips, noise=0.001), CHANGSHA)
    line = clean.result("audio_snr")
    assert line.status == "pass" and float(line.measured.split()[0]) >= 52, line.measured  # about 58 dB
    noisy, _ = await measured_report(media_clips.speech_like(clips, noise=0.02), CHANGSHA)
    line = noisy.result("audio_snr")
    assert line.status == "fail" and 28 <= float(line.measured.split()[0]) <= 38, line.measured  # about 33 dB


async def test_a_black_intro_and_a_still_outro_are_measured_where_changsha_asks(clips: Path) -> None:
    clip = media_clips.intro_and_outro(clips, black=3, moving=4, still=2)
    report, _ = await measured_report(clip, CHANGSHA)
    line = report.result("intro_outro")
    assert line.status == "pass" and line.measured == "5 s still or black (intro 3 s, outro 2 s)", line.measured


async def test_a_long_intro_is_found_by_scanning_only_the_ends(clips: Path) -> None:
    clip = media_clips.intro_and_outro(clips, black=7, moving=4, still=5)  # 16 s, scanned 6 s at each end
    report, measured = await measured_report(clip, CHANGSHA, edge_window=6)
    assert measured.edges is not None and not measured.edges.whole
    line = report.result("intro_outro")
    assert line.status == "warn" and line.measured == "11 s still or black (intro ≥ 6 s, outro 5 s)", line.measured


async def test_a_video_moving_from_start_to_end_has_no_measurable_intro(clips: Path) -> None:
    report, _ = await measured_report(media_clips.speech_like(clips, noise=0.001), CHANGSHA)
    line = report.result("intro_outro")
    assert line.status == "pass" and line.measured == "not measured (no still or black opening or closing)"


async def test_only_the_asked_for_measurements_run(clips: Path) -> None:
    _, measured = await measured_report(media_clips.speech_like(clips, noise=0.001), DEFAULT)
    assert (measured.audio_second_kbps, measured.audio_window_levels_db, measured.edges) == (None, None, None)


async def test_a_30_fps_source_fails_henans_25_fps_and_is_delivered_at_25(clips: Path, tmp_path: Path) -> None:
    src = media_clips.make_clip(clips / "h264-30fps.mp4", seconds=3, size="320x240", rate=30)
    probe = await fx.probe(src, "mov")
    report = check_video(HENAN, probe, "mp4")
    assert report.result("frame_rate").measured == "30 fps" and report.result("frame_rate").status == "fail"
    assert check_video(DEFAULT, probe, "mp4").result("frame_rate").status == "pass"
    out = await fx.transcode(src, "mov", probe, tmp_path / "work", delivery_encoding(HENAN, DEFAULT_ENCODING))
    delivered = await fx.probe(out.progressive_mp4, "mov")
    assert check_video(HENAN, delivered, "mp4").result("frame_rate").status == "pass"


async def test_a_720x576_source_is_transcoded_with_a_576p_rung(clips: Path, tmp_path: Path) -> None:
    src = media_clips.sd_576(clips)
    probe = await fx.probe(src, "mov")
    out = await fx.transcode(src, "mov", probe, tmp_path / "work", DEFAULT_ENCODING)
    assert out.rungs == ("360p", "576p")
    master = (out.hls_dir / "master.m3u8").read_text()
    assert "RESOLUTION=720x576" in master and "RESOLUTION=450x360" in master
    assert (await fx.probe(out.progressive_mp4, "mov")).video.height == 576


async def test_changsha_takes_an_sd_h264_flv_as_it_is_and_the_default_profile_does_not(clips: Path) -> None:
    src = media_clips.sd_576(clips, vcodec="libx264", fmt="flv")
    probe = await fx.probe(src, "flv")
    changsha = check_video(CHANGSHA, probe, "flv")
    for rule in ("container", "resolution", "video_bitrate"):
        assert changsha.result(rule).status == "pass", changsha.result(rule)
    assert not needs_transcode(changsha)
    default = check_video(DEFAULT, probe, "flv")
    assert {r.rule for r in default.failures} >= {"container", "resolution", "video_bitrate"}
