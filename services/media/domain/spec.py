"""The video technical spec: one profile per standard (the school's policy in force names the one it follows and
sets its durations), and the rule-by-rule check of a probed file."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from servicekit.errors import FailedPrecondition
from services.media.domain import signals
from services.media.domain.encoding import EncodingProfile
from services.media.domain.probe import ProbeResult
from services.media.domain.rules import MB, megabytes_apart
from services.media.domain.signals import Measurements

PASS = "pass"
WARN = "warn"
FAIL = "fail"

MINUTE = 60

_CODEC_NAMES = {"h264": "H.264", "hevc": "H.265", "aac": "AAC", "mp3": "MP3"}
_CHANNEL_NAMES = {1: "mono", 2: "stereo"}


@dataclass(frozen=True)
class VideoPolicy:
    """What the school's policy in force says about its videos (the course service's word): the spec it follows
    (a profile's name), the durations, which override the profile's, and which layers and versions said so."""

    video_spec: str
    recommended_min_minutes: float
    recommended_max_minutes: float
    max_minutes: float
    applied: str  # the versions in force, bottom to top: "platform defaults v1 + school 42 v2, from 2026-autumn"
    spec_source: str = ""  # the layer and version that named the spec: "school 42 v2, from 2026-autumn"


@dataclass(frozen=True)
class SpecProfile:
    """One video technical standard. Durations are seconds, bit rates kbps (1 kbps = 1000 bit/s)."""

    name: str
    label: str
    containers: tuple[str, ...]
    video_codecs: tuple[str, ...]
    min_video_kbps: int
    resolutions: tuple[tuple[int, int], ...]
    min_fps: float
    progressive_required: bool
    audio_codecs: tuple[str, ...]
    min_audio_kbps: int
    sample_rates: tuple[int, ...]
    channels: int
    max_file_bytes: int
    recommended_duration: tuple[int, int]
    max_duration: int
    # The settings below are plain values so that a school's or a province's policy can fill them; a check whose
    # setting is None (or empty) is not asked for and gets no line in the report.
    exact_fps: float | None = None              # the frame rate must be exactly this (Henan: 25), not only ≥ min_fps
    constant_audio_bitrate: bool = False        # the audio bit rate must be constant (Henan: "128Kbps (恒定)")
    min_audio_snr_db: float | None = None       # audio signal-to-noise at least this (Changsha: 48 dB)
    max_intro_outro_seconds: float | None = None  # opening plus closing credits at most this long (Changsha: 10 s)
    traditional_subtitles: str = WARN           # what traditional characters in subtitles get: FAIL, WARN or ""
    # A standard-definition grade accepted beside the HD one (Changsha: 720×576 or 720×480, ≥ 512 kbps, MP4 or FLV).
    sd_resolutions: tuple[tuple[int, int], ...] = ()
    sd_min_video_kbps: int = 0
    sd_containers: tuple[str, ...] = ()
    # The school's policy this profile was built from (profile_for_policy): the report's first line names it.
    policy: VideoPolicy | None = None


DEFAULT_PROFILE = SpecProfile(
    name="default",
    label="默认（各省最严共同标准）",
    containers=("mp4",),
    video_codecs=("h264",),
    min_video_kbps=1024,
    resolutions=((1280, 720), (1920, 1080)),
    min_fps=25,
    progressive_required=True,
    audio_codecs=("aac",),
    min_audio_kbps=128,
    sample_rates=(48_000,),
    channels=2,
    max_file_bytes=200 * MB,  # the seeds' "200 MB", decimal (below 200 MiB); the maximum itself passes
    recommended_duration=(5 * MINUTE, 15 * MINUTE),
    max_duration=20 * MINUTE,
)

PROFILES: dict[str, SpecProfile] = {
    "default": DEFAULT_PROFILE,
    "zhejiang": replace(DEFAULT_PROFILE, name="zhejiang", label="浙江省"),
    # Seed 004 annex 2: 25 frames per second exactly, AAC at a constant 128 kbps.
    "henan": replace(
        DEFAULT_PROFILE,
        name="henan",
        label="河南省",
        recommended_duration=(5 * MINUTE, 20 * MINUTE),
        exact_fps=25,
        constant_audio_bitrate=True,
    ),
    # Seed 002 annex 1: the SD grade beside HD, audio SNR ≥ 48 dB, intro plus outro within 10 s, no traditional
    # characters in subtitles; videos up to 25 minutes at acceptance.
    "changsha": replace(
        DEFAULT_PROFILE,
        name="changsha",
        label="长沙市验收标准",
        recommended_duration=(5 * MINUTE, 25 * MINUTE),
        max_duration=25 * MINUTE,
        min_audio_snr_db=48,
        max_intro_outro_seconds=10,
        traditional_subtitles="fail",
        sd_resolutions=((720, 576), (720, 480)),
        sd_min_video_kbps=512,
        sd_containers=("mp4", "flv"),
    ),
}

# The report's line naming the policy the check applied (not a rule: it always passes).
POLICY_RULE = "policy"

# The rules a transcode can fix. A source failing none of them is only remuxed, never re-encoded.
TRANSCODE_RULES = (
    "video_codec",
    "video_bitrate",
    "resolution",
    "frame_rate",
    "scan",
    "audio_codec",
    "audio_bitrate",
    "sample_rate",
    "channels",
    "audio_bitrate_constant",
)


# Lines about a video's subtitle tracks are added when a track is attached: "subtitles_simplified_zh".
SUBTITLE_RULE_PREFIX = "subtitles_"


@dataclass(frozen=True)
class RuleResult:
    rule: str
    status: str  # "pass" | "warn" | "fail"
    measured: str
    limit: str


@dataclass(frozen=True)
class SpecReport:
    profile: str
    rules: tuple[RuleResult, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.status == FAIL)

    @property
    def warnings(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.status == WARN)

    def result(self, rule: str) -> RuleResult:
        for result in self.rules:
            if result.rule == rule:
                return result
        raise KeyError(rule)


class UnknownSpec(FailedPrecondition):
    """The policy names a spec this media service has no profile for (a course service newer than this one)."""


def profile_for_policy(policy: VideoPolicy) -> SpecProfile:
    """The profile the school's policy names, with the policy's durations (recommended range and maximum) in
    place of the profile's own. No school is bound to a profile by its province: the policy layers decide."""
    base = PROFILES.get(policy.video_spec)
    if base is None:
        raise UnknownSpec(f"the school's policy names the video spec {policy.video_spec!r}, which the media service "
                          f"does not know (it knows {', '.join(PROFILES)})", reason="UNKNOWN_VIDEO_SPEC")
    return replace(
        base,
        recommended_duration=(round(policy.recommended_min_minutes * MINUTE),
                              round(policy.recommended_max_minutes * MINUTE)),
        max_duration=round(policy.max_minutes * MINUTE),
        policy=policy,
    )


def policy_line(policy: VideoPolicy) -> RuleResult:
    """Which policy the check applied: the layers and versions in force, and the one that named the spec."""
    named = f"{policy.video_spec} ({policy.spec_source})" if policy.spec_source else policy.video_spec
    return RuleResult(POLICY_RULE, PASS, policy.applied, f"video spec {named}")


def check_video(profile: SpecProfile, probe: ProbeResult, container: str,
                measured: Measurements | None = None) -> SpecReport:
    """Check a probed file against a profile, one result per rule, in a fixed order; the signal checks the profile
    asks for read `measured` (a check asked for but not measured says so)."""
    measured = measured or Measurements()
    rules = (
        *((policy_line(profile.policy),) if profile.policy else ()),
        _container(profile, container, probe),
        *_video_rules(profile, probe),
        *_audio_rules(profile, probe),
        *_signal_rules(profile, probe, measured),
        _file_size(profile, probe),
        _duration(profile, probe),
    )
    return SpecReport(profile=profile.name, rules=rules)


def is_standard_definition(profile: SpecProfile, probe: ProbeResult) -> bool:
    """The source is of the profile's SD grade (judged by its SD limits), not of the HD one."""
    video = probe.video
    return video is not None and (video.width, video.height) in profile.sd_resolutions


def needs_transcode(report: SpecReport) -> bool:
    """Re-encode only when a stream property fails; container, size and duration failures don't call for it."""
    return any(r.rule in TRANSCODE_RULES and r.status == FAIL for r in report.rules)


def delivery_encoding(profile: SpecProfile, encoding: EncodingProfile) -> EncodingProfile:
    """A profile asking for one exact frame rate gets its renditions at that rate, not at the source's."""
    if profile.exact_fps:
        return replace(encoding, min_fps=profile.exact_fps, max_fps=profile.exact_fps)
    return encoding


def _container(profile: SpecProfile, container: str, probe: ProbeResult) -> RuleResult:
    measured = (container or "").strip().lower() or "unknown"
    limit = _any_of(profile.containers)
    if profile.sd_containers:
        limit += f" (SD: {_any_of(profile.sd_containers)})"
    allowed = profile.sd_containers if is_standard_definition(profile, probe) else profile.containers
    return _judged("container", measured in allowed, measured, limit)


def _video_rules(profile: SpecProfile, probe: ProbeResult) -> tuple[RuleResult, ...]:
    sd = is_standard_definition(profile, probe)
    limits = {
        "video_codec": _any_of(_codec_name(c) for c in profile.video_codecs),
        "video_bitrate": (f"≥ {profile.sd_min_video_kbps} kbps (SD)" if sd else f"≥ {profile.min_video_kbps} kbps"),
        "resolution": _any_of(f"{w}×{h}" for w, h in profile.resolutions),
        "frame_rate": (f"= {_number(profile.exact_fps)} fps" if profile.exact_fps
                       else f"≥ {_number(profile.min_fps)} fps"),
        "scan": "progressive" if profile.progressive_required else "any",
    }
    if profile.sd_resolutions:
        limits["resolution"] += " (SD: " + _any_of(f"{w}×{h}" for w, h in profile.sd_resolutions) + ")"
    video = probe.video
    if video is None:
        return tuple(RuleResult(rule, FAIL, "no video stream", limit) for rule, limit in limits.items())

    def judged(rule: str, met: bool, measured: str) -> RuleResult:
        return RuleResult(rule, PASS if met else FAIL, measured, limits[rule])

    return (
        judged("video_codec", video.codec in profile.video_codecs, _codec_name(video.codec)),
        _video_bitrate(profile, probe, limits["video_bitrate"]),
        judged("resolution", sd or (video.width, video.height) in profile.resolutions,
               f"{video.width}×{video.height}" + (" (SD)" if sd else "")),
        # ffprobe reports 0 when it could not work the rate out: a warning, not a verdict.
        RuleResult("frame_rate", WARN, "unknown", limits["frame_rate"])
        if video.fps <= 0
        else _frame_rate(profile, video.fps, limits["frame_rate"]),
        _scan(profile, video.field_order, limits["scan"]),
    )


def _frame_rate(profile: SpecProfile, fps: float, limit: str) -> RuleResult:
    if profile.exact_fps:
        # Three decimals where it misses, so 24.999 fps never reads as the 25 it is not.
        exact = abs(fps - profile.exact_fps) < 0.001
        shown = _number(profile.exact_fps) if exact else f"{fps:.3f}".rstrip("0").rstrip(".")
        return _judged("frame_rate", exact, f"{shown} fps", limit)
    return _judged("frame_rate", fps >= profile.min_fps, f"{_number(fps, toward=math.floor)} fps", limit)


def _video_bitrate(profile: SpecProfile, probe: ProbeResult, limit: str) -> RuleResult:
    bits = probe.video.bit_rate if probe.video else None
    estimated = False
    if bits is None and probe.bit_rate is not None:
        # The container's rate covers every stream, so the video's share is what is left after the audio.
        if probe.audio is None:
            bits, estimated = probe.bit_rate, True
        elif probe.audio.bit_rate is not None:
            bits, estimated = probe.bit_rate - probe.audio.bit_rate, True
    if bits is None:
        return RuleResult("video_bitrate", WARN, "unknown", limit)
    measured = _kbps(bits) + (" (estimated from the container)" if estimated else "")
    minimum = profile.sd_min_video_kbps if is_standard_definition(profile, probe) else profile.min_video_kbps
    return _judged("video_bitrate", bits >= minimum * 1000, measured, limit)


def _scan(profile: SpecProfile, field_order: str, limit: str) -> RuleResult:
    if field_order == "progressive":
        return RuleResult("scan", PASS, "progressive", limit)
    if field_order == "unknown" or not field_order:
        # ffprobe could not tell: a warning, since we cannot verify it either way.
        return RuleResult("scan", WARN if profile.progressive_required else PASS, "unknown", limit)
    return RuleResult("scan", FAIL if profile.progressive_required else PASS, f"interlaced ({field_order})", limit)


def _audio_rules(profile: SpecProfile, probe: ProbeResult) -> tuple[RuleResult, ...]:
    limits = {
        "audio_codec": _any_of(_codec_name(c) for c in profile.audio_codecs),
        "audio_bitrate": f"≥ {profile.min_audio_kbps} kbps",
        "sample_rate": _any_of(_khz(rate) for rate in profile.sample_rates),
        "channels": _channels(profile.channels),
    }
    audio = probe.audio
    if audio is None:
        return tuple(RuleResult(rule, FAIL, "no audio stream", limit) for rule, limit in limits.items())

    def judged(rule: str, met: bool, measured: str) -> RuleResult:
        return RuleResult(rule, PASS if met else FAIL, measured, limits[rule])

    return (
        judged("audio_codec", audio.codec in profile.audio_codecs, _codec_name(audio.codec)),
        RuleResult("audio_bitrate", WARN, "unknown", limits["audio_bitrate"])
        if audio.bit_rate is None
        else judged("audio_bitrate", audio.bit_rate >= profile.min_audio_kbps * 1000, _kbps(audio.bit_rate)),
        judged("sample_rate", audio.sample_rate in profile.sample_rates, _khz(audio.sample_rate)),
        judged("channels", audio.channels == profile.channels, _channels(audio.channels)),
    )


def _signal_rules(profile: SpecProfile, probe: ProbeResult, measured: Measurements) -> tuple[RuleResult, ...]:
    rules = []
    if profile.constant_audio_bitrate:
        rules.append(_constant_audio_bitrate(probe, measured))
    if profile.min_audio_snr_db is not None:
        rules.append(_audio_snr(profile.min_audio_snr_db, probe, measured))
    if profile.max_intro_outro_seconds is not None:
        rules.append(_intro_outro(profile.max_intro_outro_seconds, measured))
    return tuple(rules)


def _constant_audio_bitrate(probe: ProbeResult, measured: Measurements) -> RuleResult:
    """Judged on the stream itself: the bytes of audio in each whole second (packet sizes), not the encoder's
    declared mode, which MP4 files seldom carry and which a file could declare falsely."""
    limit = f"constant (each second within ±{_number(signals.CBR_TOLERANCE * 100)}% of the median)"
    if probe.audio is None:
        return RuleResult("audio_bitrate_constant", FAIL, "no audio stream", limit)
    spread = signals.bitrate_spread(measured.audio_second_kbps or ())
    if spread is None:
        return RuleResult("audio_bitrate_constant", PASS, "not measured (too short)", limit)
    shown = (f"{_number(spread.low, toward=math.floor)}–{_number(spread.high, toward=math.ceil)} kbps per second, "
             f"median {_number(spread.median)} (±{math.ceil(round(spread.deviation * 100, 6))}%)")
    return _judged("audio_bitrate_constant", spread.deviation <= signals.CBR_TOLERANCE, shown, limit)


def _audio_snr(minimum: float, probe: ProbeResult, measured: Measurements) -> RuleResult:
    """Estimated from 50 ms windows: the loud windows' level (95th percentile) over the quiet windows' level (5th
    percentile, the pauses). Sound without pauses shows its quietest moments as the noise, so it reads low."""
    limit = f"≥ {_number(minimum)} dB"
    if probe.audio is None:
        return RuleResult("audio_snr", FAIL, "no audio stream", limit)
    snr = signals.snr_estimate(measured.audio_window_levels_db or ())
    if snr is None:
        return RuleResult("audio_snr", PASS, "not measured (under 1 s of sound)", limit)
    return _judged("audio_snr", snr >= minimum, f"{_number(snr, toward=math.floor)} dB (loud windows over the "
                   "quietest)", limit)


def _intro_outro(maximum: float, measured: Measurements) -> RuleResult:
    """Only a still or black opening and closing can be measured; an animated title is not told from the lecture,
    so an end without a still or black stretch is "not measured", never a guessed 0 s. Too long is a warning, not
    a failure: a still picture may also be a slide the teacher talks over (a screen recording)."""
    limit = f"≤ {_number(maximum)} s together"
    if measured.edges is None:
        return RuleResult("intro_outro", PASS, "not measured", limit)
    intro, outro = signals.intro_outro(measured.edges)
    if intro is None and outro is None:
        return RuleResult("intro_outro", PASS, "not measured (no still or black opening or closing)", limit)
    parts = []
    for name, seconds in (("intro", intro), ("outro", outro)):
        if seconds is None:
            parts.append(f"{name} not measured")
        elif seconds >= measured.edges.window:
            parts.append(f"{name} ≥ {_number(measured.edges.window, toward=math.floor)} s")
        else:
            parts.append(f"{name} {_number(seconds, toward=math.ceil)} s")
    total = (intro or 0.0) + (outro or 0.0)
    shown = f"{_number(total, toward=math.ceil)} s still or black ({', '.join(parts)})"
    return RuleResult("intro_outro", PASS if total <= maximum else WARN, shown, limit)


def _file_size(profile: SpecProfile, probe: ProbeResult) -> RuleResult:
    """The maximum itself passes, as the upload limit accepts it (rules.check_upload_request); one byte more fails,
    shown with the digits it takes to read above the maximum ("200.000001 MB"), as the upload refusal says it."""
    limit = f"≤ {_number(profile.max_file_bytes / MB)} MB"
    if probe.size_bytes <= profile.max_file_bytes:
        return RuleResult("file_size", PASS, f"{_number(probe.size_bytes / MB, toward=math.floor)} MB", limit)
    size, _ = megabytes_apart(probe.size_bytes, profile.max_file_bytes)
    return RuleResult("file_size", FAIL, f"{size} MB", limit)


def _duration(profile: SpecProfile, probe: ProbeResult) -> RuleResult:
    low, high = profile.recommended_duration
    limit = f"{_minutes(low)}–{_minutes(high)} min recommended, ≤ {_minutes(profile.max_duration)} min"
    if probe.duration > profile.max_duration:
        status = FAIL
    elif probe.duration < low or probe.duration > high:
        status = WARN
    else:
        status = PASS
    # Rounded away from the limit it is compared with, so 20 min and 1 s never reads as "20 min".
    toward = math.ceil if probe.duration > high else math.floor
    return RuleResult("duration", status, f"{_number(probe.duration / MINUTE, toward=toward)} min", limit)


def _judged(rule: str, met: bool, measured: str, limit: str) -> RuleResult:
    return RuleResult(rule, PASS if met else FAIL, measured, limit)


def _number(value: float, toward: Callable[[float], int] = round) -> str:
    """At most two decimals, no trailing zeros (25, 29.97, 12.5); `toward` picks how the rest is dropped."""
    hundredths = toward(round(value * 100, 6))
    return f"{hundredths / 100:.2f}".rstrip("0").rstrip(".")


def _any_of(values: Iterable[str]) -> str:
    return " or ".join(values)


def _codec_name(codec: str) -> str:
    return _CODEC_NAMES.get(codec, codec or "unknown")


def _kbps(bits_per_second: int) -> str:
    # Rounded down, so the shown figure never reads as meeting a limit the exact rate misses.
    return f"{bits_per_second // 1000} kbps"


def _khz(hertz: int) -> str:
    return f"{_number(hertz / 1000)} kHz"


def _channels(count: int) -> str:
    name = _CHANNEL_NAMES.get(count)
    return f"{count} ({name})" if name else str(count)


def _minutes(seconds: float) -> str:
    return _number(seconds / MINUTE)
