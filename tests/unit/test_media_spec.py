"""The video technical spec: per-province profiles and the rule-by-rule check of what ffprobe measured."""

from __future__ import annotations

from dataclasses import replace

from services.media.domain.probe import AudioStream, ProbeResult, VideoStream
from services.media.domain.spec import (
    PROFILES,
    TRANSCODE_RULES,
    SpecReport,
    check_video,
    needs_transcode,
    profile_for_province,
)

DEFAULT = PROFILES["default"]
MB = 1_000_000


def video(**changes: object) -> VideoStream:
    stream = VideoStream(
        codec="h264", width=1280, height=720, fps=25.0, bit_rate=1_500_000, field_order="progressive", pix_fmt="yuv420p"
    )
    return replace(stream, **changes)


def audio(**changes: object) -> AudioStream:
    return replace(AudioStream(codec="aac", bit_rate=128_000, sample_rate=48_000, channels=2), **changes)


def probe(**changes: object) -> ProbeResult:
    result = ProbeResult(
        format_name="mov,mp4,m4a,3gp,3g2,mj2",
        duration=600.0,
        size_bytes=120 * MB,
        bit_rate=1_628_000,
        video=video(),
        audio=audio(),
    )
    return replace(result, **changes)


def status(report: SpecReport, rule: str) -> str:
    return report.result(rule).status


def test_a_720p_h264_aac_mp4_of_ten_minutes_passes_every_rule() -> None:
    report = check_video(DEFAULT, probe(), "mp4")
    assert report.passed
    assert report.failures == () and report.warnings == ()
    assert [r.status for r in report.rules] == ["pass"] * 12
    assert not needs_transcode(report)


def test_the_report_has_one_line_per_rule_in_a_fixed_order() -> None:
    report = check_video(DEFAULT, probe(), "mp4")
    assert [r.rule for r in report.rules] == [
        "container", "video_codec", "video_bitrate", "resolution", "frame_rate", "scan",
        "audio_codec", "audio_bitrate", "sample_rate", "channels", "file_size", "duration",
    ]  # fmt: skip
    assert report.profile == "default"


def test_each_rule_reports_its_measured_value_and_limit_with_units() -> None:
    report = check_video(DEFAULT, probe(duration=750.0), "mp4")
    shown = {r.rule: (r.measured, r.limit) for r in report.rules}
    assert shown["container"] == ("mp4", "mp4")
    assert shown["video_codec"] == ("H.264", "H.264")
    assert shown["video_bitrate"] == ("1500 kbps", "≥ 1024 kbps")
    assert shown["resolution"] == ("1280×720", "1280×720 or 1920×1080")
    assert shown["frame_rate"] == ("25 fps", "≥ 25 fps")
    assert shown["scan"] == ("progressive", "progressive")
    assert shown["audio_codec"] == ("AAC", "AAC")
    assert shown["audio_bitrate"] == ("128 kbps", "≥ 128 kbps")
    assert shown["sample_rate"] == ("48 kHz", "48 kHz")
    assert shown["channels"] == ("2 (stereo)", "2 (stereo)")
    assert shown["file_size"] == ("120 MB", "< 200 MB")
    assert shown["duration"] == ("12.5 min", "5–15 min recommended, ≤ 20 min")


def test_a_1080p_source_passes_the_resolution_rule() -> None:
    assert status(check_video(DEFAULT, probe(video=video(width=1920, height=1080)), "mp4"), "resolution") == "pass"


def test_any_other_resolution_fails_and_forces_a_transcode() -> None:
    report = check_video(DEFAULT, probe(video=video(width=1024, height=576)), "mp4")
    assert report.result("resolution").status == "fail"
    assert report.result("resolution").measured == "1024×576"
    assert needs_transcode(report)


def test_a_hevc_source_fails_the_video_codec_rule() -> None:
    report = check_video(DEFAULT, probe(video=video(codec="hevc")), "mp4")
    assert report.result("video_codec").status == "fail"
    assert report.result("video_codec").measured == "H.265"
    assert needs_transcode(report)


def test_a_video_bitrate_below_1024_kbps_fails() -> None:
    report = check_video(DEFAULT, probe(video=video(bit_rate=1_023_999)), "mp4")
    assert report.result("video_bitrate").status == "fail"
    assert report.result("video_bitrate").measured == "1023 kbps"


def test_exactly_1024_kbps_is_enough() -> None:
    assert status(check_video(DEFAULT, probe(video=video(bit_rate=1_024_000)), "mp4"), "video_bitrate") == "pass"


def test_an_unknown_video_bitrate_is_estimated_from_the_container_minus_the_audio() -> None:
    report = check_video(DEFAULT, probe(video=video(bit_rate=None), bit_rate=1_200_000), "mp4")
    rule = report.result("video_bitrate")
    assert rule.status == "pass"
    assert rule.measured.startswith("1072 kbps")  # 1200 - 128
    low = check_video(DEFAULT, probe(video=video(bit_rate=None), bit_rate=1_100_000), "mp4")
    assert low.result("video_bitrate").status == "fail"  # 1100 - 128 = 972


def test_a_video_bitrate_nobody_reports_is_a_warning() -> None:
    report = check_video(DEFAULT, probe(video=video(bit_rate=None), bit_rate=None), "mp4")
    assert report.result("video_bitrate").status == "warn"
    assert report.result("video_bitrate").measured == "unknown"
    assert report.passed


def test_a_frame_rate_below_25_fails() -> None:
    report = check_video(DEFAULT, probe(video=video(fps=24000 / 1001)), "mp4")
    assert report.result("frame_rate").status == "fail"
    assert report.result("frame_rate").measured == "23.97 fps"
    assert needs_transcode(report)


def test_ntsc_30_fps_passes_the_frame_rate_rule() -> None:
    report = check_video(DEFAULT, probe(video=video(fps=30000 / 1001)), "mp4")
    assert report.result("frame_rate").status == "pass"
    assert report.result("frame_rate").measured == "29.97 fps"


def test_a_frame_rate_just_under_the_limit_is_not_shown_as_meeting_it() -> None:
    assert check_video(DEFAULT, probe(video=video(fps=24.999)), "mp4").result("frame_rate").measured == "24.99 fps"


def test_an_unknown_frame_rate_is_a_warning() -> None:
    assert status(check_video(DEFAULT, probe(video=video(fps=0.0)), "mp4"), "frame_rate") == "warn"


def test_an_interlaced_source_fails_the_scan_rule() -> None:
    report = check_video(DEFAULT, probe(video=video(field_order="tt")), "mp4")
    assert report.result("scan").status == "fail"
    assert report.result("scan").measured == "interlaced (tt)"
    assert needs_transcode(report)


def test_every_interlaced_field_order_fails() -> None:
    for order in ("tt", "bb", "tb", "bt"):
        assert status(check_video(DEFAULT, probe(video=video(field_order=order)), "mp4"), "scan") == "fail"


def test_an_unknown_scan_type_is_a_warning_because_it_cannot_be_verified() -> None:
    report = check_video(DEFAULT, probe(video=video(field_order="unknown")), "mp4")
    assert report.result("scan").status == "warn"
    assert report.result("scan").measured == "unknown"


def test_a_file_without_video_fails_every_video_rule() -> None:
    report = check_video(DEFAULT, probe(video=None), "mp4")
    video_rules = ("video_codec", "video_bitrate", "resolution", "frame_rate", "scan")
    for rule in video_rules:
        assert report.result(rule).status == "fail"
        assert report.result(rule).measured == "no video stream"
    assert {r.rule for r in report.failures} == set(video_rules)


def test_a_file_without_audio_fails_every_audio_rule() -> None:
    report = check_video(DEFAULT, probe(audio=None), "mp4")
    audio_rules = ("audio_codec", "audio_bitrate", "sample_rate", "channels")
    for rule in audio_rules:
        assert report.result(rule).status == "fail"
        assert report.result(rule).measured == "no audio stream"
    assert {r.rule for r in report.failures} == set(audio_rules)


def test_mp3_audio_fails_the_audio_codec_rule() -> None:
    report = check_video(DEFAULT, probe(audio=audio(codec="mp3")), "mp4")
    assert report.result("audio_codec").status == "fail"
    assert needs_transcode(report)


def test_audio_below_128_kbps_fails() -> None:
    report = check_video(DEFAULT, probe(audio=audio(bit_rate=96_000)), "mp4")
    assert report.result("audio_bitrate").status == "fail"
    assert report.result("audio_bitrate").measured == "96 kbps"


def test_an_unknown_audio_bitrate_is_a_warning() -> None:
    assert status(check_video(DEFAULT, probe(audio=audio(bit_rate=None)), "mp4"), "audio_bitrate") == "warn"


def test_44_1_khz_audio_fails_the_sample_rate_rule() -> None:
    report = check_video(DEFAULT, probe(audio=audio(sample_rate=44_100)), "mp4")
    assert report.result("sample_rate").status == "fail"
    assert report.result("sample_rate").measured == "44.1 kHz"
    assert needs_transcode(report)


def test_mono_audio_fails_the_channels_rule() -> None:
    report = check_video(DEFAULT, probe(audio=audio(channels=1)), "mp4")
    assert report.result("channels").status == "fail"
    assert report.result("channels").measured == "1 (mono)"


def test_surround_audio_fails_the_channels_rule() -> None:
    assert status(check_video(DEFAULT, probe(audio=audio(channels=6)), "mp4"), "channels") == "fail"


def test_a_file_of_200_mb_or_more_fails_the_size_rule() -> None:
    assert status(check_video(DEFAULT, probe(size_bytes=200 * MB - 1), "mp4"), "file_size") == "pass"
    report = check_video(DEFAULT, probe(size_bytes=200 * MB), "mp4")
    assert report.result("file_size").status == "fail"
    assert report.result("file_size").measured == "200 MB"


def test_a_size_failure_alone_does_not_call_for_a_transcode() -> None:
    report = check_video(DEFAULT, probe(size_bytes=250 * MB), "mp4")
    assert not report.passed
    assert not needs_transcode(report)


def test_a_mov_with_h264_and_aac_fails_only_the_container_and_is_remuxed_not_reencoded() -> None:
    report = check_video(DEFAULT, probe(format_name="mov,mp4,m4a,3gp,3g2,mj2"), "mov")
    assert [r.rule for r in report.failures] == ["container"]
    assert report.result("container").measured == "mov"
    assert not needs_transcode(report)


def test_a_mkv_with_h264_and_aac_is_only_remuxed() -> None:
    assert not needs_transcode(check_video(DEFAULT, probe(format_name="matroska,webm"), "mkv"))


def test_the_container_name_is_compared_case_insensitively() -> None:
    assert status(check_video(DEFAULT, probe(), "MP4"), "container") == "pass"


def test_a_three_minute_video_passes_with_a_duration_warning() -> None:
    report = check_video(DEFAULT, probe(duration=180.0), "mp4")
    assert report.result("duration").status == "warn"
    assert report.result("duration").measured == "3 min"
    assert report.passed
    assert [r.rule for r in report.warnings] == ["duration"]


def test_eighteen_minutes_is_over_the_recommended_length_but_allowed() -> None:
    report = check_video(DEFAULT, probe(duration=18 * 60.0), "mp4")
    assert report.result("duration").status == "warn"
    assert report.passed


def test_a_video_longer_than_twenty_minutes_fails_without_forcing_a_transcode() -> None:
    report = check_video(DEFAULT, probe(duration=20 * 60 + 1.0), "mp4")
    assert report.result("duration").status == "fail"
    assert report.result("duration").measured == "20.02 min"
    assert not needs_transcode(report)


def test_exactly_twenty_minutes_is_allowed() -> None:
    assert status(check_video(DEFAULT, probe(duration=20 * 60.0), "mp4"), "duration") == "warn"


def test_the_recommended_range_is_inclusive() -> None:
    assert status(check_video(DEFAULT, probe(duration=5 * 60.0), "mp4"), "duration") == "pass"
    assert status(check_video(DEFAULT, probe(duration=15 * 60.0), "mp4"), "duration") == "pass"


def test_zhejiang_schools_get_the_zhejiang_profile_with_the_default_limits() -> None:
    profile = profile_for_province("33")
    assert profile.name == "zhejiang"
    assert profile.recommended_duration == (300, 900)
    assert profile.max_duration == 1200
    assert status(check_video(profile, probe(duration=18 * 60.0), "mp4"), "duration") == "warn"


def test_henan_allows_twenty_minutes_without_a_warning() -> None:
    profile = profile_for_province("41")
    assert profile.name == "henan"
    assert status(check_video(profile, probe(duration=20 * 60.0), "mp4"), "duration") == "pass"
    assert status(check_video(profile, probe(duration=20 * 60 + 1.0), "mp4"), "duration") == "fail"


def test_changsha_acceptance_allows_up_to_twenty_five_minutes() -> None:
    profile = profile_for_province("43")
    assert profile.name == "changsha"
    assert status(check_video(profile, probe(duration=24 * 60.0), "mp4"), "duration") == "pass"
    assert status(check_video(profile, probe(duration=26 * 60.0), "mp4"), "duration") == "fail"


def test_any_other_province_gets_the_strictest_default_profile() -> None:
    assert profile_for_province("11") is PROFILES["default"]
    assert profile_for_province("") is PROFILES["default"]


def test_a_six_digit_division_code_picks_its_provinces_profile() -> None:
    assert profile_for_province("330100").name == "zhejiang"
    assert profile_for_province("430100").name == "changsha"


def test_province_profiles_differ_from_the_default_only_in_duration() -> None:
    for profile in PROFILES.values():
        same_durations = replace(profile, recommended_duration=(300, 900), max_duration=1200)
        assert replace(same_durations, name="default", label=DEFAULT.label) == DEFAULT


def test_a_report_passes_when_nothing_fails_even_with_warnings() -> None:
    report = check_video(DEFAULT, probe(duration=60.0, video=video(field_order="unknown")), "mp4")
    assert report.passed
    assert {r.rule for r in report.warnings} == {"duration", "scan"}


def test_only_stream_properties_call_for_a_transcode() -> None:
    assert "container" not in TRANSCODE_RULES
    assert "file_size" not in TRANSCODE_RULES
    assert "duration" not in TRANSCODE_RULES
