"""Video progress that counts only time really watched (seed 002 五(三): 课时完成度).

A player reports watched segments of a unit's video. A segment is credited only when
- the page was visible (no credit while hidden),
- it is not longer than the play session's wall-clock time allows at the highest speed (2x) plus a small
  tolerance (its claimed seconds, added up, never outrun the clock),
- and it starts inside what the student has already watched from the beginning: skipping ahead past unwatched
  time earns nothing until the gap is watched (then the later segment counts: it was really seen).
Watched intervals are merged per unit, so rewatching adds nothing; the credited seconds are the watched
prefix from 0. A unit is complete when all but a few seconds (the policy's slack) are credited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_SPEED = 2.0  # the highest playback speed the player offers
SPEED_TOLERANCE_SECONDS = 2.0  # timer jitter on the speed cap (the server's clock: network delay only adds)
JOIN_TOLERANCE_SECONDS = 1.0  # a segment starting this close after the watched prefix continues it
HEARTBEAT_SECONDS = 10  # how often the player reports while playing (10-15 s; also on pause, seek, end)
MAX_SEGMENTS_PER_REPORT = 500  # an offline player's batch

Interval = tuple[float, float]

# Why a segment earns nothing (shown to the student by the player).
SKIPPED_AHEAD = "skipped ahead: watch from {frontier} first"
TOO_FAST = "faster than the clock allows ({speed}x at most)"
HIDDEN = "the page was hidden"
DUPLICATE = "already received"
OUT_OF_RANGE = "outside the video"


def merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals; touching ones (within the join tolerance) become one."""
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + JOIN_TOLERANCE_SECONDS:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def watched_prefix(intervals: list[Interval]) -> float:
    """Seconds watched from the beginning without a gap."""
    merged = merge(intervals)
    if not merged or merged[0][0] > JOIN_TOLERANCE_SECONDS:
        return 0.0
    return merged[0][1]


SLACK_SHARE_AT_MOST = 0.05  # the slack never forgives more than this share of a (short) video


def is_complete(credited_seconds: float, duration_seconds: float, slack_seconds: float) -> bool:
    """All but the policy's few seconds watched (the player's last heartbeat seldom lands on the very end)."""
    slack = min(slack_seconds, duration_seconds * SLACK_SHARE_AT_MOST)
    return credited_seconds > 0 and credited_seconds >= duration_seconds - slack


def load(intervals_json: str) -> list[Interval]:
    return [(float(a), float(b)) for a, b in json.loads(intervals_json or "[]")]


def dump(intervals: list[Interval]) -> str:
    return json.dumps([[round(a, 3), round(b, 3)] for a, b in intervals], separators=(",", ":"))


@dataclass(frozen=True)
class Report:
    seq: int
    start: float
    end: float
    hidden: bool = False


@dataclass(frozen=True)
class Outcome:
    seq: int
    credited: bool
    added_seconds: float
    refusal: str = ""


@dataclass
class UnitState:
    """What the hot path changes for one play session: its budget and the unit's watched intervals."""

    duration: float
    intervals: list[Interval]
    last_seq: int
    claimed_seconds: float  # accepted segments' seconds in this play session
    elapsed_seconds: float  # wall-clock seconds since the play session started
    max_speed: float = MAX_SPEED

    @property
    def credited(self) -> float:
        return min(self.duration, watched_prefix(self.intervals))

    def apply(self, report: Report) -> Outcome:
        """One segment, in sequence order; the state changes only when it is credited or pending."""
        if report.seq <= self.last_seq:
            return Outcome(report.seq, False, 0.0, DUPLICATE)
        self.last_seq = report.seq
        start, end = max(0.0, report.start), min(self.duration, report.end)
        if report.end <= report.start or report.start > self.duration + JOIN_TOLERANCE_SECONDS:
            return Outcome(report.seq, False, 0.0, OUT_OF_RANGE)
        if report.hidden:
            return Outcome(report.seq, False, 0.0, HIDDEN)
        length = end - start
        if self.claimed_seconds + length > self.elapsed_seconds * self.max_speed + SPEED_TOLERANCE_SECONDS:
            return Outcome(report.seq, False, 0.0, TOO_FAST.format(speed=f"{self.max_speed:g}"))
        self.claimed_seconds += length
        before = self.credited
        self.intervals = merge([*self.intervals, (start, end)])
        added = self.credited - before
        if start > before + JOIN_TOLERANCE_SECONDS:
            # Kept (it was really watched, at a believable speed) but not credited until the gap is watched.
            return Outcome(report.seq, False, 0.0, SKIPPED_AHEAD.format(frontier=clock_text(before)))
        return Outcome(report.seq, True, round(added, 3))


def clock_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
