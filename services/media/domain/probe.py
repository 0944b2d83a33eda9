"""What ffprobe measured of a media file, as plain data the spec rules and the encoder read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoStream:
    codec: str             # ffprobe codec_name, e.g. "h264", "hevc", "mpeg4"
    width: int
    height: int
    fps: float             # average frame rate (avg_frame_rate), 0.0 when unknown
    bit_rate: int | None   # bits per second; None when neither the stream nor the container says
    field_order: str       # "progressive", "tt", "bb", "tb", "bt" or "unknown"
    pix_fmt: str


@dataclass(frozen=True)
class AudioStream:
    codec: str             # e.g. "aac", "mp3"
    bit_rate: int | None   # bits per second
    sample_rate: int       # Hz
    channels: int


@dataclass(frozen=True)
class ProbeResult:
    format_name: str       # ffprobe format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    duration: float        # seconds
    size_bytes: int
    bit_rate: int | None   # container bit rate, bits per second
    video: VideoStream | None
    audio: AudioStream | None
