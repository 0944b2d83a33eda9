"""The video technical spec: the profiles, built from the school's policy in force, and the rule-by-rule check of
what ffprobe measured."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contracts.course.v1 import course_pb2
from services.course.domain import policy as course_policy
from services.media.adapters.course import PolicyUnavailable, video_policy
from services.media.domain.encoding import DEFAULT_ENCODING, output_fps
from services.media.domain.probe import AudioStream, ProbeResult, VideoStream
from services.media.domain.signals import EdgeScan, Measurements, Span
from services.media.domain.spec import (
    PROFILES,
    TRANSCODE_RULES,
    RuleResult,
    SpecReport,
    UnknownSpec,
    VideoPolicy,
    check_video,
    delivery_encoding,
    needs_transcode,
    profile_for_policy,
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
    assert shown["file_size"] == ("120 MB", "≤ 200 MB")
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


def test_a_file_over_200_mb_fails_the_size_rule_showing_the_digits_that_put_it_over() -> None:
    assert status(check_video(DEFAULT, probe(size_bytes=200 * MB), "mp4"), "file_size") == "pass"
    report = check_video(DEFAULT, probe(size_bytes=200 * MB + 1), "mp4")
    assert report.result("file_size") == RuleResult("file_size", "fail", "200.000001 MB", "≤ 200 MB")
    assert check_video(DEFAULT, probe(size_bytes=250 * MB), "mp4").result("file_size").measured == "250 MB"


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


def policy_of(video_spec: str, recommended: tuple[float, float] = (5, 15), maximum: float = 20,
              applied: str = "platform defaults v1", spec_source: str = "platform defaults v1") -> VideoPolicy:
    return VideoPolicy(video_spec, recommended[0], recommended[1], maximum, applied, spec_source)


def test_the_policys_spec_names_the_profile_and_its_durations_override_the_profiles() -> None:
    # Changsha's spec (SD grade, SNR, intro + outro) with Changsha's school policy durations: 5–15, at most 20.
    profile = profile_for_policy(policy_of("changsha", (5, 15), 20, "platform defaults v1 + school s1 v2",
                                           "school s1 v2"))
    assert profile.name == "changsha" and profile.sd_resolutions == ((720, 576), (720, 480))
    assert profile.min_audio_snr_db == 48 and profile.traditional_subtitles == "fail"
    assert (profile.recommended_duration, profile.max_duration) == ((300, 900), 1200)  # not the profile's 25 min
    assert status(check_video(profile, probe(duration=16 * 60.0), "mp4"), "duration") == "warn"
    assert status(check_video(profile, probe(duration=20 * 60 + 1.0), "mp4"), "duration") == "fail"
    # Henan's spec with Henan's province durations: twenty minutes is within the recommendation.
    henan = profile_for_policy(policy_of("henan", (5, 20), 20))
    assert henan.exact_fps == 25 and henan.constant_audio_bitrate
    assert status(check_video(henan, probe(duration=20 * 60.0), "mp4"), "duration") == "pass"
    # A policy may lengthen what a profile allowed (fractions of a minute are kept, in whole seconds).
    longer = profile_for_policy(policy_of("default", (2.5, 30), 45.5))
    assert (longer.recommended_duration, longer.max_duration) == ((150, 1800), 2730)
    assert status(check_video(longer, probe(duration=40 * 60.0), "mp4"), "duration") == "warn"


def test_the_report_names_the_policy_versions_it_applied_first() -> None:
    applied = "platform defaults v1 + province 41 v2 + school s1 v1, from 2026-autumn"
    profile = profile_for_policy(policy_of("henan", (5, 20), 20, applied, "province 41 v2"))
    report = check_video(profile, probe(), "mp4")
    assert report.rules[0] == RuleResult("policy", "pass", applied, "video spec henan (province 41 v2)")
    assert report.profile == "henan" and report.passed
    # A profile not built from a policy (the named ones) reports no such line.
    assert "policy" not in {rule.rule for rule in check_video(DEFAULT, probe(), "mp4").rules}


def test_a_spec_the_media_service_does_not_know_is_refused_not_replaced_by_the_default() -> None:
    with pytest.raises(UnknownSpec, match="'hunan'.*default, zhejiang, henan, changsha"):
        profile_for_policy(policy_of("hunan"))


def test_no_province_is_bound_to_a_profile() -> None:
    import services.media.domain.spec as spec

    assert not hasattr(spec, "PROVINCE_PROFILES") and not hasattr(spec, "profile_for_province")


def test_the_policys_spec_names_are_the_media_profiles() -> None:
    assert set(course_policy.VIDEO_SPECS) == set(PROFILES)
    assert course_policy.CHANGSHA_SCHOOL_POLICY["video_spec"] == "changsha"
    assert course_policy.HENAN_PROVINCE_POLICY["video_spec"] == "henan"
    assert course_policy.PLATFORM_DEFAULTS["video_spec"] == "default"


def _reply(numbers: dict, layers: list[tuple[str, str, int, str]]) -> course_pb2.EffectivePolicy:
    reply = course_pb2.EffectivePolicy(school_id="s1", province_code="43")
    for name, (value, level, scope, version, term) in numbers.items():
        number = reply.numbers.add(name=name, layer=level, scope_id=scope, version=version, effective_from_term=term)
        if isinstance(value, str):
            number.text = value
        else:
            number.value = value
    for level, scope, version, term in layers:
        reply.layers.add(layer=level, scope_id=scope, version=version, effective_from_term=term)
    return reply


def test_the_course_services_answer_becomes_the_video_policy_with_the_versions_applied() -> None:
    school = ("school", "s1", 2, "2026-autumn")
    reply = _reply({"video_spec": ("changsha", *school), "video_recommended_min_minutes": (5, *school),
                    "video_recommended_max_minutes": (15, *school), "video_max_minutes": (20, *school),
                    "minutes_per_credit": (120, *school)},
                   [("platform", "", 1, ""), school])
    assert video_policy(reply) == VideoPolicy(
        "changsha", 5, 15, 20, "platform defaults v1 + school s1 v2, from 2026-autumn",
        "school s1 v2, from 2026-autumn")
    # An answer without the spec is not checked against a default: the job waits for a proper answer.
    del reply.numbers[0]
    with pytest.raises(PolicyUnavailable, match="video_spec"):
        video_policy(reply)


def test_the_named_profiles_differ_from_the_default_only_in_what_their_seed_states() -> None:
    own = {
        "default": {},
        "zhejiang": {},
        # seed 004 annex 2: 5-20 min, exactly 25 fps, a constant 128 kbps audio rate
        "henan": {"recommended_duration": (300, 1200), "exact_fps": 25, "constant_audio_bitrate": True},
        # seed 002 annex 1 and the acceptance rules: SD beside HD, SNR, intro + outro, simplified subtitles
        "changsha": {"recommended_duration": (300, 1500), "max_duration": 1500, "min_audio_snr_db": 48,
                     "max_intro_outro_seconds": 10, "traditional_subtitles": "fail",
                     "sd_resolutions": ((720, 576), (720, 480)), "sd_min_video_kbps": 512,
                     "sd_containers": ("mp4", "flv")},
    }
    assert set(PROFILES) == set(own)
    for name, profile in PROFILES.items():
        expected = replace(DEFAULT, name=profile.name, label=profile.label, **own[name])
        assert profile == expected


def test_a_report_passes_when_nothing_fails_even_with_warnings() -> None:
    report = check_video(DEFAULT, probe(duration=60.0, video=video(field_order="unknown")), "mp4")
    assert report.passed
    assert {r.rule for r in report.warnings} == {"duration", "scan"}


def test_only_stream_properties_call_for_a_transcode() -> None:
    assert "container" not in TRANSCODE_RULES
    assert "file_size" not in TRANSCODE_RULES
    assert "duration" not in TRANSCODE_RULES


# ---- the checks the seeds state beyond the common set ---------------------------------------------------------

HENAN = PROFILES["henan"]
CHANGSHA = PROFILES["changsha"]


def sd(width: int = 720, height: int = 576, kbps: int = 600) -> ProbeResult:
    return probe(video=video(width=width, height=height, bit_rate=kbps * 1000))


def test_henan_asks_for_exactly_25_fps_and_other_profiles_for_at_least_25() -> None:
    assert status(check_video(HENAN, probe(), "mp4"), "frame_rate") == "pass"
    too_many = check_video(HENAN, probe(video=video(fps=30.0)), "mp4").result("frame_rate")
    assert (too_many.status, too_many.measured, too_many.limit) == ("fail", "30 fps", "= 25 fps")
    ntsc_like = check_video(HENAN, probe(video=video(fps=24.999)), "mp4").result("frame_rate")
    assert (ntsc_like.status, ntsc_like.measured) == ("fail", "24.999 fps")
    assert status(check_video(DEFAULT, probe(video=video(fps=30.0)), "mp4"), "frame_rate") == "pass"
    assert check_video(DEFAULT, probe(), "mp4").result("frame_rate").limit == "≥ 25 fps"


def test_a_henan_source_at_another_rate_is_transcoded_to_25_fps() -> None:
    report = check_video(HENAN, probe(video=video(fps=30.0)), "mp4")
    assert needs_transcode(report)
    encoding = delivery_encoding(HENAN, DEFAULT_ENCODING)
    assert output_fps(encoding, 30.0) == 25 and output_fps(encoding, 50.0) == 25
    assert delivery_encoding(DEFAULT, DEFAULT_ENCODING) is DEFAULT_ENCODING


def test_constant_audio_bitrate_is_judged_on_each_seconds_bytes_where_henan_asks() -> None:
    steady = Measurements(audio_second_kbps=(128.4, 128.7, 130.9, 127.2, 128.1))
    line = check_video(HENAN, probe(), "mp4", steady).result("audio_bitrate_constant")
    assert line.status == "pass" and line.measured == "127.2–130.9 kbps per second, median 128.4 (±2%)"
    switching = Measurements(audio_second_kbps=(64.0, 64.0, 192.0, 192.0))
    failed = check_video(HENAN, probe(), "mp4", switching).result("audio_bitrate_constant")
    assert failed.status == "fail" and failed.measured.startswith("64–192 kbps")
    assert needs_transcode(check_video(HENAN, probe(), "mp4", switching))  # a re-encode makes it constant
    short = check_video(HENAN, probe(), "mp4", Measurements(audio_second_kbps=(128.0,)))
    assert short.result("audio_bitrate_constant").measured == "not measured (too short)"
    assert "audio_bitrate_constant" not in {r.rule for r in check_video(DEFAULT, probe(), "mp4", switching).rules}


def test_audio_snr_of_48_db_where_changsha_asks_it() -> None:
    clean = Measurements(audio_window_levels_db=(-16.0,) * 50 + (-75.0,) * 50)
    line = check_video(CHANGSHA, probe(), "mp4", clean).result("audio_snr")
    assert (line.status, line.limit) == ("pass", "≥ 48 dB") and line.measured.startswith("59 dB")
    noisy = Measurements(audio_window_levels_db=(-16.0,) * 50 + (-50.0,) * 50)
    assert status(check_video(CHANGSHA, probe(), "mp4", noisy), "audio_snr") == "fail"
    assert not needs_transcode(check_video(CHANGSHA, probe(), "mp4", noisy))  # a re-encode cannot remove noise
    unmeasured = check_video(CHANGSHA, probe(), "mp4", Measurements(audio_window_levels_db=()))
    assert unmeasured.result("audio_snr").status == "pass" and "not measured" in unmeasured.result("audio_snr").measured
    assert check_video(CHANGSHA, probe(audio=None), "mp4").result("audio_snr").status == "fail"


def test_intro_plus_outro_at_most_10_s_where_changsha_asks_it() -> None:
    def line(head: tuple[Span, ...], tail: tuple[Span, ...]) -> RuleResult:
        edges = EdgeScan(window=12, head=head, tail=tail, tail_length=12)
        return check_video(CHANGSHA, probe(), "mp4", Measurements(edges=edges)).result("intro_outro")

    short = line((Span(0, 4),), (Span(8, None),))
    assert (short.status, short.measured, short.limit) == ("pass", "8 s still or black (intro 4 s, outro 4 s)",
                                                           "≤ 10 s together")
    long = line((Span(0, 7),), (Span(7, None),))
    assert long.status == "warn" and long.measured == "12 s still or black (intro 7 s, outro 5 s)"
    at_cut = line((Span(0, None),), ())
    assert at_cut.status == "warn" and "intro ≥ 12 s, outro not measured" in at_cut.measured
    nothing = line((), ())
    assert nothing.status == "pass" and nothing.measured.startswith("not measured")


def test_the_default_profile_has_no_signal_lines() -> None:
    rules = {r.rule for r in check_video(DEFAULT, probe(), "mp4").rules}
    assert not rules & {"audio_bitrate_constant", "audio_snr", "intro_outro"}


def test_changsha_accepts_its_sd_grade_beside_hd() -> None:
    for width, height in ((720, 576), (720, 480)):
        report = check_video(CHANGSHA, sd(width, height), "mp4")
        assert report.result("resolution").status == "pass"
        assert report.result("resolution").measured == f"{width}×{height} (SD)"
        assert report.result("video_bitrate").limit == "≥ 512 kbps (SD)"
        assert not needs_transcode(report)
    assert check_video(CHANGSHA, sd(), "flv").result("container").status == "pass"
    assert check_video(CHANGSHA, probe(), "flv").result("container").status == "fail"  # FLV is for SD only
    assert status(check_video(CHANGSHA, sd(kbps=500), "mp4"), "video_bitrate") == "fail"
    assert status(check_video(CHANGSHA, probe(video=video(bit_rate=600_000)), "mp4"), "video_bitrate") == "fail"
    assert check_video(CHANGSHA, probe(), "mp4").result("resolution").limit == (
        "1280×720 or 1920×1080 (SD: 720×576 or 720×480)")


def test_sd_is_a_failure_where_the_profile_has_no_sd_grade() -> None:
    for profile in (DEFAULT, HENAN):
        report = check_video(profile, sd(), "mp4")
        assert report.result("resolution").status == "fail" and report.result("video_bitrate").status == "fail"
        assert check_video(profile, sd(), "flv").result("container").status == "fail"
