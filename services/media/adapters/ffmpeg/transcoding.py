"""The pipelines: `remux` (a source that already meets the spec, copied), `transcode` (every rung encoded in one
pass) and `package_encoded` (the HLS ladder, master playlist, poster and thumbnails from encoded rungs, shared with
the chunked transcode), each writing only inside its workdir."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from services.media.domain.encoding import EncodingProfile, Rung, rungs_for
from services.media.domain.probe import ProbeResult

from .commands import (
    hls_package_command,
    poster_command,
    remux_command,
    remux_rung_name,
    thumbnail_layout,
    thumbnails_command,
    transcode_command,
    transcode_outputs,
)
from .common import (
    HLS_DIR_NAME,
    POSTER_NAME,
    PROGRESSIVE_NAME,
    REMUX_TIMEOUT_FACTOR,
    RUNGS_DIR_NAME,
    THUMBNAILS_NAME,
    TRANSCODE_TIMEOUT_FACTOR,
    MediaToolError,
    ProgressCallback,
    Renditions,
    _require_video,
    encode_timeout,
)
from .hls import _variant, _write_master
from .running import _Progress, _run_ffmpeg, _together

# ---------------------------------------------------------------------------------------------- workdir


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
