"""How long a video really is, from its frames' timestamps rather than what its container declares, and the
rules that refuse a source before any encoding work: longer than the province allows, or frames so sparse that
encoding it would mean inventing minutes of pictures from a handful of frames."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Frames further apart than this are not a video (a slide deck recorded as video still shows a frame per
# second or more); ffmpeg would fill the gap by repeating a frame for every output frame.
MAX_FRAME_GAP_SECONDS = 10.0
MIN_AVERAGE_FPS = 1.0
DURATION_TOLERANCE_SECONDS = 1.0
MAX_SOURCE_FPS = 120.0  # a source with more frames than this per second of the allowed maximum is refused unread


@dataclass(frozen=True)
class FrameScan:
    """What reading every video packet's timestamp found (no decoding)."""

    frames: int
    first: float        # seconds, the earliest timestamp
    last: float         # seconds, the latest timestamp
    largest_gap: float  # seconds between two consecutive frames, in decoding order

    @property
    def span(self) -> float:
        return max(0.0, self.last - self.first)


def max_scanned_frames(max_duration: float) -> int:
    """The most frames a source of the allowed length can have; scanning stops past it."""
    return math.ceil((max_duration + DURATION_TOLERANCE_SECONDS) * MAX_SOURCE_FPS)


def real_duration(declared: float, scan: FrameScan) -> float:
    """The longer of the container's word and the frames' timestamps: a file cannot buy a short time limit
    by declaring a short duration, nor slip past the maximum by declaring one."""
    return max(declared, scan.span)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}".rstrip("0").rstrip(".")


def refusal(declared: float, scan: FrameScan, max_duration: float, standard: str) -> str:
    """Why the source is refused before transcoding, or "" when it may be processed."""
    if scan.frames == 0:
        return "the video stream has no frames"
    duration = real_duration(declared, scan)
    if duration > max_duration + DURATION_TOLERANCE_SECONDS:
        return (f"the video lasts {_minutes(duration)} min; the {standard} standard allows at most "
                f"{_minutes(max_duration)} min per video: split it into shorter videos")
    if scan.largest_gap > MAX_FRAME_GAP_SECONDS:
        return (f"the video's frames are stamped up to {scan.largest_gap:.0f} s apart ({scan.frames} frames over "
                f"{duration:.0f} s): the file's timestamps are broken; export it again from the editing program")
    if duration > MAX_FRAME_GAP_SECONDS and scan.frames < duration * MIN_AVERAGE_FPS:
        return (f"the video has only {scan.frames} frames over {duration:.0f} s: the file's timestamps are "
                "broken; export it again from the editing program")
    return ""


def max_output_frames(duration: float, fps: float) -> int:
    """The most frames an encode at `fps` may write for a source of this (real) duration, a second of slack."""
    return math.ceil((duration + 1.0) * fps)
