"""How the platform encodes video for delivery: the HLS ladder and its caps, as plain data (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    """One rendition of the ladder: a height and the bitrate caps it is encoded under."""

    name: str            # "360p", "720p", "1080p"
    height: int          # pixels; the width follows the source aspect ratio (rounded to even)
    video_kbps: int      # target average video bitrate
    maxrate_kbps: int    # VBV cap, so a segment never bursts far above the advertised bandwidth
    bufsize_kbps: int    # VBV buffer
    audio_kbps: int      # AAC bitrate


@dataclass(frozen=True)
class EncodingProfile:
    name: str
    rungs: tuple[Rung, ...]              # ascending height
    preset: str = "veryfast"             # libx264 preset
    gop_seconds: float = 2.0             # one keyframe every gop_seconds, aligned across rungs
    segment_seconds: float = 4.0         # HLS segment target duration (a multiple of gop_seconds)
    audio_sample_rate: int = 48000
    audio_channels: int = 2
    progressive_rung: str = "720p"       # the rung also delivered as a single MP4 (or the highest below it)
    min_fps: float = 25.0                # sources below this are brought up to it; others keep their rate
    max_fps: float = 60.0                # a claimed rate above this (VFR or crafted) is brought down to it
    thumbnail_interval_seconds: int = 10  # one scrubbing thumbnail per interval
    thumbnail_width: int = 160
    poster_width: int = 1280             # the poster is scaled down to this width, never up
    video_encoder: str = "libx264"       # or a hardware H.264 encoder ffmpeg has (VIDEO_ENCODERS)
    threads: int = 0                     # threads per ffmpeg (0: ffmpeg's choice, all cores)


DEFAULT_ENCODING = EncodingProfile(
    name="default-hls",
    rungs=(
        Rung("360p", 360, video_kbps=800, maxrate_kbps=856, bufsize_kbps=1200, audio_kbps=128),
        Rung("720p", 720, video_kbps=2800, maxrate_kbps=2996, bufsize_kbps=4200, audio_kbps=128),
        Rung("1080p", 1080, video_kbps=5000, maxrate_kbps=5350, bufsize_kbps=7500, audio_kbps=128),
    ),
)


# The H.264 encoders a worker may be set to (MEDIA_VIDEO_ENCODER), with the options that make each encode
# under the ladder's caps; the CPU encoder is the default, NVIDIA's needs a GPU and an ffmpeg built with it.
VIDEO_ENCODERS: dict[str, tuple[str, ...]] = {
    "libx264": ("-profile:v", "high"),
    "h264_nvenc": ("-profile:v", "high", "-rc", "vbr", "-forced-idr", "1"),
}


def encoder_options(profile: EncodingProfile) -> tuple[str, ...]:
    """The codec, its speed preset and profile: libx264 at the profile's preset, NVENC at its middle preset."""
    if profile.video_encoder not in VIDEO_ENCODERS:
        raise ValueError(f"unknown video encoder {profile.video_encoder!r}; one of {', '.join(VIDEO_ENCODERS)}")
    preset = profile.preset if profile.video_encoder == "libx264" else "p4"
    return ("-c:v", profile.video_encoder, "-preset", preset, *VIDEO_ENCODERS[profile.video_encoder])


# A source this much taller than the tallest rung it fits gets a rung of its own height: a 720×576 source is
# delivered at 576p beside 360p, not at 360p only. Nearer than this, the rung below is close enough.
OWN_RUNG_ABOVE = 1.15


def rungs_for(profile: EncodingProfile, source_height: int) -> tuple[Rung, ...]:
    """The rungs to encode for a source of this height: never upscale, and keep one at or near its height.

    Only rungs no taller than the source; a source between two rungs (well above the lower one) also gets a rung
    at its own height, rounded down to even as H.264 4:2:0 needs, with caps between its neighbours'. A source
    smaller than the smallest rung gets one rung at its own height under the smallest rung's caps.
    """
    height = max(2, source_height - source_height % 2)
    fitting = tuple(rung for rung in profile.rungs if rung.height <= source_height)
    if not fitting:
        smallest = min(profile.rungs, key=lambda rung: rung.height)
        return (Rung(f"{height}p", height, smallest.video_kbps, smallest.maxrate_kbps, smallest.bufsize_kbps,
                     smallest.audio_kbps),)
    below = max(fitting, key=lambda rung: rung.height)
    above = [rung for rung in profile.rungs if rung.height > source_height]
    if not above or height < below.height * OWN_RUNG_ABOVE:
        return fitting
    return (*fitting, _between(below, min(above, key=lambda rung: rung.height), height))


def _between(below: Rung, above: Rung, height: int) -> Rung:
    """A rung at `height`, its caps interpolated by height between its neighbours'."""
    share = (height - below.height) / (above.height - below.height)

    def caps(low: int, high: int) -> int:
        return round(low + (high - low) * share)

    return Rung(f"{height}p", height, caps(below.video_kbps, above.video_kbps),
                caps(below.maxrate_kbps, above.maxrate_kbps), caps(below.bufsize_kbps, above.bufsize_kbps),
                max(below.audio_kbps, above.audio_kbps))


def progressive_rung(profile: EncodingProfile, rungs: tuple[Rung, ...]) -> Rung:
    """The rung delivered as the single progressive MP4: the profile's choice, else the highest rung below it."""
    wanted = next((rung.height for rung in profile.rungs if rung.name == profile.progressive_rung), None)
    if wanted is None:
        return max(rungs, key=lambda rung: rung.height)
    below = [rung for rung in rungs if rung.height <= wanted]
    return max(below, key=lambda rung: rung.height) if below else min(rungs, key=lambda rung: rung.height)


def gop_frames(profile: EncodingProfile, fps: float) -> int:
    """Frames between keyframes so that every rung cuts at the same instants."""
    return max(1, round(fps * profile.gop_seconds))


def output_fps(profile: EncodingProfile, source_fps: float) -> float:
    """Keep the source frame rate unless it is below the minimum (or unknown) or above the maximum."""
    return min(max(source_fps, profile.min_fps), profile.max_fps)
