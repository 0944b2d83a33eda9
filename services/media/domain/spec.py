"""The video technical spec: one profile per province's standard, and the rule-by-rule check of a probed file."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from services.media.domain.probe import ProbeResult

PASS = "pass"
WARN = "warn"
FAIL = "fail"

MINUTE = 60
# "< 200 MB" read in decimal megabytes: the stricter reading, so a file that passes here passes everywhere.
MEGABYTE = 1_000_000

_CODEC_NAMES = {"h264": "H.264", "hevc": "H.265", "aac": "AAC", "mp3": "MP3"}
_CHANNEL_NAMES = {1: "mono", 2: "stereo"}


@dataclass(frozen=True)
class SpecProfile:
    """One province's video technical standard. Durations are seconds, bit rates kbps (1 kbps = 1000 bit/s)."""

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
    max_file_bytes=200 * MEGABYTE,
    recommended_duration=(5 * MINUTE, 15 * MINUTE),
    max_duration=20 * MINUTE,
)

PROFILES: dict[str, SpecProfile] = {
    "default": DEFAULT_PROFILE,
    "zhejiang": replace(DEFAULT_PROFILE, name="zhejiang", label="浙江省"),
    "henan": replace(DEFAULT_PROFILE, name="henan", label="河南省", recommended_duration=(5 * MINUTE, 20 * MINUTE)),
    "changsha": replace(
        DEFAULT_PROFILE,
        name="changsha",
        label="长沙市验收标准",
        recommended_duration=(5 * MINUTE, 25 * MINUTE),
        max_duration=25 * MINUTE,
    ),
}

# GB/T 2260 province codes (the first two digits of any division code) whose standard has its own profile.
PROVINCE_PROFILES: dict[str, str] = {"33": "zhejiang", "41": "henan", "43": "changsha"}

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
)


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


def profile_for_province(province_code: str) -> SpecProfile:
    """The school's province picks its standard; any other province gets the strictest common profile."""
    name = PROVINCE_PROFILES.get((province_code or "").strip()[:2], "default")
    return PROFILES[name]


def check_video(profile: SpecProfile, probe: ProbeResult, container: str) -> SpecReport:
    """Check a probed file against a profile, one result per rule, in a fixed order."""
    rules = (
        _container(profile, container),
        *_video_rules(profile, probe),
        *_audio_rules(profile, probe),
        _file_size(profile, probe),
        _duration(profile, probe),
    )
    return SpecReport(profile=profile.name, rules=rules)


def needs_transcode(report: SpecReport) -> bool:
    """Re-encode only when a stream property fails; container, size and duration failures don't call for it."""
    return any(r.rule in TRANSCODE_RULES and r.status == FAIL for r in report.rules)


def _container(profile: SpecProfile, container: str) -> RuleResult:
    measured = (container or "").strip().lower() or "unknown"
    return _judged("container", measured in profile.containers, measured, _any_of(profile.containers))


def _video_rules(profile: SpecProfile, probe: ProbeResult) -> tuple[RuleResult, ...]:
    limits = {
        "video_codec": _any_of(_codec_name(c) for c in profile.video_codecs),
        "video_bitrate": f"≥ {profile.min_video_kbps} kbps",
        "resolution": _any_of(f"{w}×{h}" for w, h in profile.resolutions),
        "frame_rate": f"≥ {_number(profile.min_fps)} fps",
        "scan": "progressive" if profile.progressive_required else "any",
    }
    video = probe.video
    if video is None:
        return tuple(RuleResult(rule, FAIL, "no video stream", limit) for rule, limit in limits.items())

    def judged(rule: str, met: bool, measured: str) -> RuleResult:
        return RuleResult(rule, PASS if met else FAIL, measured, limits[rule])

    return (
        judged("video_codec", video.codec in profile.video_codecs, _codec_name(video.codec)),
        _video_bitrate(profile, probe, limits["video_bitrate"]),
        judged("resolution", (video.width, video.height) in profile.resolutions, f"{video.width}×{video.height}"),
        # ffprobe reports 0 when it could not work the rate out: a warning, not a verdict.
        RuleResult("frame_rate", WARN, "unknown", limits["frame_rate"])
        if video.fps <= 0
        else judged("frame_rate", video.fps >= profile.min_fps, f"{_number(video.fps, toward=math.floor)} fps"),
        _scan(profile, video.field_order, limits["scan"]),
    )


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
    return _judged("video_bitrate", bits >= profile.min_video_kbps * 1000, measured, limit)


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


def _file_size(profile: SpecProfile, probe: ProbeResult) -> RuleResult:
    status = PASS if probe.size_bytes < profile.max_file_bytes else FAIL
    measured = f"{_number(probe.size_bytes / MEGABYTE, toward=math.floor)} MB"
    return RuleResult("file_size", status, measured, f"< {_number(profile.max_file_bytes / MEGABYTE)} MB")


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
