"""What the spec check measures in the signal itself (not the container's word): how steady the audio bit rate
is, the audio's signal-to-noise ratio, and how long a still or black opening and closing last. Plain data and
arithmetic; the ffmpeg adapter collects the raw figures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# A constant bit rate allows this much drift of any whole second from the median second: AAC encoders in CBR
# mode keep a bit reservoir, so single seconds drift a few percent (ffmpeg's at 128 kbps: 127-131 kbps).
CBR_TOLERANCE = 0.10
MIN_BITRATE_WINDOWS = 2

# Signal-to-noise is estimated from short windows of the mixed-down sound: the signal is the level of the loud
# windows (95th percentile), the noise the level of the quiet ones (5th percentile, the pauses between phrases).
SNR_WINDOW_SECONDS = 0.05
SIGNAL_PERCENTILE = 0.95
NOISE_PERCENTILE = 0.05
MIN_SNR_WINDOWS = 20          # one second of sound
DIGITAL_SILENCE_DB = -120.0   # windows at or below this are exact zeros (no noise to measure), not pauses

# An opening (or closing) still or black stretch counts as the intro (outro) when it starts within this much of
# the video's start (ends within this much of its end).
EDGE_SLACK_SECONDS = 0.5


@dataclass(frozen=True)
class Span:
    """A stretch of still or black picture, in seconds from the start of what was scanned; `end` is None when it
    lasted to the end of the scan."""

    start: float
    end: float | None


@dataclass(frozen=True)
class EdgeScan:
    """The still or black stretches found in the first and the last `window` seconds of a video."""

    window: float        # seconds scanned at each end
    head: tuple[Span, ...]  # times from the video's start
    tail: tuple[Span, ...]  # times from the start of the last `tail_length` seconds
    tail_length: float   # how many seconds the tail scan covered (the video's length when it was scanned whole)
    whole: bool = False  # one scan of the whole video: head and tail are the same stretches


@dataclass(frozen=True)
class Measurements:
    """What was measured for the checks a profile asks for; None where a check was not asked for."""

    audio_second_kbps: tuple[float, ...] | None = None   # the audio stream's bit rate in each whole second
    audio_window_levels_db: tuple[float, ...] | None = None  # RMS level of each 50 ms window, dBFS
    edges: EdgeScan | None = None


@dataclass(frozen=True)
class BitrateSpread:
    low: float
    high: float
    median: float

    @property
    def deviation(self) -> float:
        """The largest drift of a second from the median, as a fraction of the median."""
        if self.median <= 0:
            return math.inf
        return max(self.median - self.low, self.high - self.median) / self.median


def bitrate_spread(second_kbps: Sequence[float]) -> BitrateSpread | None:
    """Lowest, highest and median per-second bit rate; None with too few whole seconds to judge."""
    if len(second_kbps) < MIN_BITRATE_WINDOWS:
        return None
    ordered = sorted(second_kbps)
    return BitrateSpread(ordered[0], ordered[-1], _percentile(ordered, 0.5))


def per_second_kbps(packets: Sequence[tuple[float, int]]) -> tuple[float, ...]:
    """(timestamp seconds, size bytes) of every audio packet → kbps of each whole second. The first and the last
    second are dropped: they are partial (encoder priming, the final short packet)."""
    totals: dict[int, int] = {}
    for time, size in packets:
        if math.isfinite(time) and time >= 0:
            second = int(time)
            totals[second] = totals.get(second, 0) + size
    if not totals:
        return ()
    first, last = min(totals), max(totals)
    return tuple(totals.get(second, 0) * 8 / 1000 for second in range(first + 1, last))


def snr_estimate(levels_db: Sequence[float]) -> float | None:
    """Signal-to-noise in dB from the windows' RMS levels; None when there is too little sound to tell.

    Exact digital silence (a muted stretch) holds no noise to measure and is left out: a recording whose pauses
    are digitally silent is judged on its sounding windows only."""
    sounding = sorted(level for level in levels_db if math.isfinite(level) and level > DIGITAL_SILENCE_DB)
    if len(sounding) < MIN_SNR_WINDOWS:
        return None
    return _percentile(sounding, SIGNAL_PERCENTILE) - _percentile(sounding, NOISE_PERCENTILE)


def intro_outro(edges: EdgeScan) -> tuple[float | None, float | None]:
    """(intro seconds, outro seconds): the still or black stretch that opens the video and the one that closes
    it; None for an end with no such stretch (nothing there that can be measured)."""
    intro = None
    opening = _merged(edges.head)
    if opening and opening[0].start <= EDGE_SLACK_SECONDS:
        intro = edges.window if opening[0].end is None else opening[0].end
    outro = None
    closing = _merged(edges.tail)
    if edges.whole and intro is not None and closing and closing[-1] == opening[0]:
        return intro, None  # one still stretch from start to end is counted once
    if closing:
        last = closing[-1]
        end = edges.tail_length if last.end is None else last.end
        if edges.tail_length - end <= EDGE_SLACK_SECONDS:
            outro = max(0.0, edges.tail_length - last.start)
    return intro, outro


def _merged(spans: Sequence[Span]) -> list[Span]:
    """Overlapping or touching stretches as one (black then a still title card is one intro)."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged:
            previous = merged[-1]
            if previous.end is None or span.start <= previous.end + 0.1:
                end = None if previous.end is None or span.end is None else max(previous.end, span.end)
                merged[-1] = Span(previous.start, end)
                continue
        merged.append(span)
    return merged


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks of an ascending sequence."""
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
