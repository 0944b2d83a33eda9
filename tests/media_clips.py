"""Short generated media for tests and benchmarks: ffmpeg lavfi sources, made once per run."""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.media.adapters.ffmpeg import binaries


def make_clip(path: Path, *, seconds: float, size: str = "1280x720", rate: int = 25, vcodec: str = "libx264",
              video_bitrate: str = "1500k", acodec: str = "aac", audio_bitrate: str = "160k", fmt: str = "mp4",
              extra: tuple[str, ...] = ()) -> Path:
    if path.exists():
        return path
    ffmpeg, _ = binaries()
    command = [
        ffmpeg, "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", vcodec, "-b:v", video_bitrate, "-pix_fmt", "yuv420p",
        "-c:a", acodec, "-b:a", audio_bitrate, "-ac", "2", "-ar", "48000",
        *extra, "-f", fmt, str(path),
    ]
    if vcodec == "libx264":
        command[command.index("-pix_fmt"):command.index("-pix_fmt")] = ["-preset", "ultrafast", "-g", "50"]
    subprocess.run(command, check=True, timeout=300)
    return path


def compliant_720p(folder: Path, seconds: float = 6) -> Path:
    """H.264 ≥ 1024 kbps, 1280×720, 25 fps, AAC 160 kbps 48 kHz stereo: only remuxed."""
    return make_clip(folder / f"compliant-{seconds}.mp4", seconds=seconds)


def low_resolution_mpeg4(folder: Path, seconds: float = 4) -> Path:
    """MPEG-4 Part 2 at 640×360 in a MOV: transcoded, and never upscaled."""
    return make_clip(folder / f"lowres-{seconds}.mov", seconds=seconds, size="640x360", vcodec="mpeg4",
                     video_bitrate="800k", fmt="mov")


def long_mpeg4_720p(folder: Path, seconds: float = 20) -> Path:
    """A 720p source that needs transcoding and takes a worker several seconds."""
    return make_clip(folder / f"long-{seconds}.mov", seconds=seconds, size="1280x720", vcodec="mpeg4",
                     video_bitrate="2000k", fmt="mov")
