"""Reading an upload without writing anything: its structure (`probe`), the timestamps of its frames
(`scan_frames`), and the signals the policies check (`measure_signals`: the sound's bit rate and levels, a still or
black opening and closing)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from services.media.domain.probe import AudioStream, ProbeResult, VideoStream
from services.media.domain.signals import EdgeScan, Measurements, Span, per_second_kbps
from services.media.domain.timing import FrameScan

from .commands import (
    audio_levels_command,
    audio_packets_command,
    edges_command,
    frames_command,
    probe_command,
)
from .common import (
    DEMUXERS,
    EDGE_WINDOW_SECONDS,
    PROBE_TIMEOUT_SECONDS,
    SIGNAL_TIMEOUT_FACTOR,
    MediaRejected,
    MediaTimeout,
    MediaToolError,
    check_demuxer,
    check_picture_size,
    encode_timeout,
)
from .running import _Completed, _failure, _together, run_tool

# ---------------------------------------------------------------------------------------------- probe


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _float_or_zero(value: object) -> float:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


def _rate(value: object) -> float:
    text = str(value or "")
    numerator, _, denominator = text.partition("/")
    try:
        top, bottom = float(numerator), float(denominator or 1)
    except ValueError:
        return 0.0
    return top / bottom if bottom and math.isfinite(top / bottom) and top > 0 else 0.0


def parse_probe(data: dict, size_bytes: int) -> ProbeResult:
    """ffprobe's JSON (-show_format -show_streams) as a ProbeResult; no validation."""
    streams = [stream for stream in data.get("streams") or [] if isinstance(stream, dict)]
    fmt = data.get("format") or {}
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]  # cover art is not the video
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    video = audio = None
    if videos:
        s = videos[0]
        video = VideoStream(codec=str(s.get("codec_name") or "unknown"), width=_int_or_none(s.get("width")) or 0,
                            height=_int_or_none(s.get("height")) or 0,
                            fps=_rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate")),
                            bit_rate=_int_or_none(s.get("bit_rate")),
                            field_order=str(s.get("field_order") or "unknown"), pix_fmt=str(s.get("pix_fmt") or ""))
    if audios:
        s = audios[0]
        audio = AudioStream(codec=str(s.get("codec_name") or "unknown"), bit_rate=_int_or_none(s.get("bit_rate")),
                            sample_rate=_int_or_none(s.get("sample_rate")) or 0,
                            channels=_int_or_none(s.get("channels")) or 0)
    duration = _float_or_zero(fmt.get("duration"))
    if not duration:
        duration = max((_float_or_zero(s.get("duration")) for s in videos[:1] + audios[:1]), default=0.0)
    return ProbeResult(format_name=str(fmt.get("format_name") or ""), duration=duration,
                       size_bytes=_int_or_none(fmt.get("size")) or size_bytes,
                       bit_rate=_int_or_none(fmt.get("bit_rate")), video=video, audio=audio)


def _file_size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError as error:
        raise MediaToolError(f"cannot read the upload: {error.strerror or error}") from error


async def probe(path: Path, demuxer: str) -> ProbeResult:
    """ffprobe the file with the claimed demuxer; MediaRejected when it is unreadable, empty or a dimension bomb."""
    check_demuxer(demuxer)
    label = f"not a readable {DEMUXERS[demuxer]} file"
    size = _file_size(path)
    if size == 0:
        raise MediaRejected("the file is empty")
    try:
        completed = await run_tool(probe_command(path, demuxer), time_limit=PROBE_TIMEOUT_SECONDS)
    except MediaTimeout as error:
        raise MediaRejected(f"reading the file's structure took longer than {PROBE_TIMEOUT_SECONDS:g} s") from error
    if completed.returncode != 0:
        raise _failure(label, completed, input_is_suspect=True)
    try:
        data = json.loads(completed.stdout or b"{}")
    except ValueError as error:
        raise MediaToolError(f"ffprobe printed invalid JSON: {error}") from error
    result = parse_probe(data if isinstance(data, dict) else {}, size)
    if result.video is not None:
        check_picture_size(result.video.width, result.video.height)
    if result.duration <= 0:
        raise MediaRejected("the file declares no duration (empty, truncated or a single picture)")
    return result


def _float_or_nan(text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


async def scan_frames(path: Path, demuxer: str, max_frames: int) -> FrameScan:
    """Reads the timestamp of every video frame (demuxing only, no decoding): how long the video really is and
    how far apart its frames are. Refused past `max_frames` frames, without reading the rest."""
    frames, first, last, previous, largest_gap = 0, math.inf, -math.inf, None, 0.0

    def count(line: bytes) -> None:
        nonlocal frames, first, last, previous, largest_gap
        times = [t for t in map(_float_or_nan, line.strip().split(b",")) if math.isfinite(t)]  # N/A: unknown
        if not times:
            return
        frames += 1
        if frames > max_frames:
            raise MediaRejected(f"the video has more than {max_frames} frames, more than a video of the allowed "
                                "length can have")
        decoded_at = times[-1]  # dts when known: it only grows in decoding order
        first, last = min(first, *times), max(last, *times)
        if previous is not None:
            largest_gap = max(largest_gap, decoded_at - previous)
        previous = decoded_at

    try:
        completed = await run_tool(frames_command(path, demuxer), time_limit=PROBE_TIMEOUT_SECONDS, on_line=count)
    except MediaTimeout as error:
        raise MediaRejected(f"reading the video's frames took longer than {PROBE_TIMEOUT_SECONDS:g} s") from error
    if completed.returncode != 0:
        raise _failure(f"not a readable {DEMUXERS[demuxer]} file", completed, input_is_suspect=True)
    if not frames:
        return FrameScan(0, 0.0, 0.0, 0.0)
    return FrameScan(frames, first, last, largest_gap)


# ---------------------------------------------------------------------------------------------- signal measurements


def _csv_pair(line: bytes) -> tuple[float, int] | None:
    fields = line.strip().split(b",")
    if len(fields) < 2:
        return None
    time = _float_or_nan(fields[0])
    size = _int_or_none(fields[1].decode("ascii", "replace"))
    return (time, size) if math.isfinite(time) and size is not None else None


async def audio_second_kbps(path: Path, demuxer: str, time_limit: float) -> tuple[float, ...]:
    packets: list[tuple[float, int]] = []

    def collect(line: bytes) -> None:
        if (pair := _csv_pair(line)) is not None:
            packets.append(pair)

    completed = await _measure(audio_packets_command(path, demuxer), time_limit, collect)
    if completed.returncode != 0:
        raise _failure("reading the audio packets", completed, input_is_suspect=True)
    return per_second_kbps(packets)


_RMS_LEVEL = b"lavfi.astats.Overall.RMS_level="


async def audio_window_levels(path: Path, demuxer: str, sample_rate: int, time_limit: float) -> tuple[float, ...]:
    levels: list[float] = []

    def collect(line: bytes) -> None:
        if line.startswith(_RMS_LEVEL):
            levels.append(_float_or_nan(line[len(_RMS_LEVEL):].strip()))

    completed = await _measure(audio_levels_command(path, demuxer, sample_rate or 48000), time_limit, collect)
    if completed.returncode != 0:
        raise _failure("measuring the sound's levels", completed, input_is_suspect=True)
    return tuple(level for level in levels if not math.isnan(level))


_SPAN_KEYS = {b"lavfi.black_start": ("black", True), b"lavfi.black_end": ("black", False),
              b"lavfi.freezedetect.freeze_start": ("still", True), b"lavfi.freezedetect.freeze_end": ("still", False)}


async def still_spans(path: Path, demuxer: str, start: float, length: float | None,
                      time_limit: float) -> tuple[Span, ...]:
    """The black and still stretches of the scanned part; one still going at the scan's end has no end."""
    spans: list[Span] = []
    open_at: dict[str, float] = {}

    def collect(line: bytes) -> None:
        key, _, value = line.strip().partition(b"=")
        if key not in _SPAN_KEYS:
            return
        kind, starts = _SPAN_KEYS[key]
        time = _float_or_nan(value)
        if not math.isfinite(time):
            return
        if starts:
            open_at[kind] = time
        elif kind in open_at:
            spans.append(Span(open_at.pop(kind), time))

    completed = await _measure(edges_command(path, demuxer, start, length), time_limit, collect)
    if completed.returncode != 0:
        raise _failure("looking for a still or black opening and closing", completed, input_is_suspect=True)
    return tuple(spans) + tuple(Span(time, None) for time in open_at.values())


async def scan_edges(path: Path, demuxer: str, duration: float, time_limit: float,
                     window: float = EDGE_WINDOW_SECONDS) -> EdgeScan:
    """The first and the last `window` seconds; a video up to twice that long is scanned once, whole."""
    if duration <= 2 * window:
        spans = await still_spans(path, demuxer, 0.0, None, time_limit)
        return EdgeScan(window=duration, head=spans, tail=spans, tail_length=duration, whole=True)
    tail_start = duration - window
    head, tail = await _together(still_spans(path, demuxer, 0.0, window, time_limit),
                                 still_spans(path, demuxer, tail_start, None, time_limit))
    return EdgeScan(window=window, head=head, tail=tail, tail_length=duration - tail_start)


async def measure_signals(path: Path, demuxer: str, probe: ProbeResult, *, audio_bitrate: bool = False,
                          audio_levels: bool = False, edges: bool = False,
                          edge_window: float = EDGE_WINDOW_SECONDS) -> Measurements:
    """Measure only what is asked for: packet sizes (no decoding), the sound's levels (the audio decoded alone),
    a few seconds of picture at each end."""
    time_limit = encode_timeout(probe.duration, SIGNAL_TIMEOUT_FACTOR)
    audio = probe.audio
    kbps = await audio_second_kbps(path, demuxer, time_limit) if audio_bitrate and audio is not None else None
    levels = (await audio_window_levels(path, demuxer, audio.sample_rate, time_limit)
              if audio_levels and audio is not None else None)
    scan = (await scan_edges(path, demuxer, probe.duration, time_limit, edge_window)
            if edges and probe.video is not None else None)
    return Measurements(audio_second_kbps=kbps, audio_window_levels_db=levels, edges=scan)


async def _measure(command: list[str], time_limit: float, collect: Callable[[bytes], None]) -> _Completed:
    try:
        return await run_tool(command, time_limit=time_limit, on_line=collect)
    except MediaTimeout as error:
        raise MediaRejected(f"measuring the file took longer than {time_limit:g} s") from error
