"""Building the command lines: every ffmpeg/ffprobe run as an argument list, with the hardening options
(whitelisted demuxer, `file` protocol only, a pixel cap) every input and output gets. Nothing is run here."""

from __future__ import annotations

import math
from collections.abc import Sequence
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
from services.media.domain.probe import ProbeResult
from services.media.domain.signals import SNR_WINDOW_SECONDS
from services.media.domain.timing import max_output_frames

from .common import (
    HLS_DIR_NAME,
    INIT_SEGMENT_NAME,
    MAX_PIXELS,
    MAX_SPRITE_TILES,
    MEDIA_PLAYLIST_NAME,
    POSTER_NAME,
    PROGRESSIVE_NAME,
    RUNGS_DIR_NAME,
    SEGMENT_PATTERN,
    THUMBNAILS_NAME,
    _require_video,
    binaries,
    check_demuxer,
)

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


# ---------------------------------------------------------------------------------------------- frames, audio & edges


def frames_command(src: Path, demuxer: str, *, ffprobe: str | None = None) -> list[str]:
    """Every video packet's timestamps, one `pts,dts` line each, read without decoding."""
    return [ffprobe or binaries()[1], "-hide_banner", "-v", "error", *input_options(demuxer),
            "-select_streams", "v:0", "-show_entries", "packet=pts_time,dts_time", "-of", "csv=p=0",
            input_url(src)]


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
