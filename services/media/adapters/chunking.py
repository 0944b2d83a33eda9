"""Long sources transcoded in pieces: cut at keyframes by stream copy, each chunk encoded to every rung alone (any
worker, any order), the audio encoded once for the whole file, then the rungs joined by stream copy and packaged
exactly as a whole-file transcode is (adapters.ffmpeg.package_encoded)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from services.media.adapters.ffmpeg import (
    REMUX_TIMEOUT_FACTOR,
    TRANSCODE_TIMEOUT_FACTOR,
    MediaRejected,
    MediaToolError,
    Pausable,
    ProgressCallback,
    Renditions,
    encode_timeout,
    input_options,
    input_url,
    output_options,
    package_encoded,
    rung_video_options,
    thread_options,
    transcode_outputs,
)
from services.media.adapters.ffmpeg.commands import _ffmpeg_head, _fps_expression, _strip_metadata
from services.media.adapters.ffmpeg.running import _run_ffmpeg, _together
from services.media.adapters.ffmpeg.transcoding import _prepare
from services.media.domain.encoding import EncodingProfile, Rung, gop_frames, progressive_rung

CHUNK_DEMUXER = "matroska"  # chunks are cut into Matroska: it carries every codec an upload may have
CHUNK_PATTERN = "chunk_%05d.mkv"
CHUNK_LIST_NAME = "chunks.csv"
AUDIO_NAME = "audio.m4a"
MIN_CHUNK_SECONDS = 2.0


@dataclass(frozen=True)
class SourceChunk:
    """One piece of the source as the segment muxer cut it: it starts on a keyframe at `start` seconds."""

    index: int
    start: float
    duration: float
    path: Path


@dataclass(frozen=True)
class ChunkEncoding:
    """What every chunk of one source is encoded to: the same rungs at the same rate, so their GOPs and their
    frame clocks continue across the joins."""

    rungs: tuple[Rung, ...]
    fps: float
    deinterlace: bool
    audio: bool

    def to_json(self) -> dict:
        return {"rungs": [rung.__dict__ for rung in self.rungs], "fps": self.fps, "deinterlace": self.deinterlace,
                "audio": self.audio}

    @classmethod
    def from_json(cls, data: dict) -> ChunkEncoding:
        return cls(tuple(Rung(**rung) for rung in data["rungs"]), float(data["fps"]), bool(data["deinterlace"]),
                   bool(data["audio"]))


def split_command(src: Path, demuxer: str, workdir: Path, chunk_seconds: float, *,
                  ffmpeg: str | None = None) -> list[str]:
    """The picture cut into chunks of about `chunk_seconds` by stream copy; the segment muxer cuts only on
    keyframes (so a chunk may run longer) and lists each chunk's exact start and end."""
    workdir = Path(workdir).resolve()
    return [*_ffmpeg_head(ffmpeg, progress=False), *input_options(demuxer), "-i", input_url(src),
            "-map", "0:v:0", "-an", "-sn", "-dn", "-c", "copy", *_strip_metadata(),
            "-f", "segment", "-segment_time", f"{chunk_seconds:g}", "-segment_format", CHUNK_DEMUXER,
            "-reset_timestamps", "1", "-segment_list", str(workdir / CHUNK_LIST_NAME),
            "-segment_list_type", "csv", *output_options(), str(workdir / CHUNK_PATTERN)]


def read_chunk_list(workdir: Path, duration: float) -> list[SourceChunk]:
    """The segment muxer's list as chunks; each lasts until the next one starts, the last until the end."""
    workdir = Path(workdir).resolve()
    rows = list(csv.reader((workdir / CHUNK_LIST_NAME).read_text().splitlines()))
    if not rows:
        raise MediaRejected("cutting the video into chunks produced nothing")
    starts = [float(row[1]) for row in rows]
    ends = [float(row[2]) for row in rows]
    chunks = []
    for index, row in enumerate(rows):
        path = workdir / Path(row[0]).name
        if not path.is_file() or path.stat().st_size == 0:
            raise MediaToolError(f"the chunk {path.name} was listed but not written")
        end = starts[index + 1] if index + 1 < len(rows) else max(ends[index], duration)
        chunks.append(SourceChunk(index, starts[index], max(0.0, end - starts[index]), path))
    if any(later.start <= earlier.start for earlier, later in zip(chunks, chunks[1:], strict=False)):
        raise MediaRejected("the video's keyframes are not in time order; export it again from the editing program")
    return chunks


async def split(src: Path, demuxer: str, duration: float, workdir: Path, chunk_seconds: float) -> list[SourceChunk]:
    chunk_seconds = max(chunk_seconds, MIN_CHUNK_SECONDS)
    await _run_ffmpeg("cutting the video into chunks", split_command(src, demuxer, workdir, chunk_seconds),
                      time_limit=encode_timeout(duration, REMUX_TIMEOUT_FACTOR))
    return read_chunk_list(workdir, duration)


def audio_command(src: Path, demuxer: str, target: Path, profile: EncodingProfile, kbps: int, *,
                  ffmpeg: str | None = None) -> list[str]:
    """The whole sound track in one AAC encode: chunks cut apart would each start with the encoder's priming
    silence, which is the audible click at every join."""
    return [*_ffmpeg_head(ffmpeg, progress=False), *input_options(demuxer), "-i", input_url(src),
            "-map", "0:a:0", "-vn", "-c:a", "aac", "-b:a", f"{kbps}k", "-ar", str(profile.audio_sample_rate),
            "-ac", str(profile.audio_channels), *_strip_metadata(), *output_options(), "-f", "mp4",
            str(Path(target).resolve())]


async def encode_audio(src: Path, demuxer: str, duration: float, target: Path, profile: EncodingProfile,
                       rungs: tuple[Rung, ...]) -> Path:
    kbps = max(rung.audio_kbps for rung in rungs)
    await _run_ffmpeg("encoding the sound", audio_command(src, demuxer, target, profile, kbps),
                      time_limit=encode_timeout(duration, REMUX_TIMEOUT_FACTOR))
    return target


def chunk_outputs(workdir: Path, rungs: tuple[Rung, ...]) -> dict[str, Path]:
    workdir = Path(workdir).resolve()
    return {rung.name: workdir / f"{rung.name}.mp4" for rung in rungs}


def chunk_frames(duration: float, fps: float) -> int:
    """The frames a chunk contributes: its share of the output clock, so the joined rung keeps the source's
    timing whatever the chunk count."""
    return max(1, round(duration * fps))


def chunk_command(chunk: Path, duration: float, encoding: ChunkEncoding, workdir: Path, profile: EncodingProfile, *,
                  ffmpeg: str | None = None) -> list[str]:
    """One chunk to every rung, picture only, with the whole-file transcode's encoder settings: its first frame
    is a keyframe and the GOP is fixed, so each rung's keyframes stay aligned across rungs and across joins."""
    prefix = ["setpts=PTS-STARTPTS"]  # the chunk's own clock starts at zero, as its place in the concat does
    if encoding.deinterlace:
        prefix.append("yadif=deint=interlaced")
    prefix.append(f"fps={_fps_expression(encoding.fps)}")
    rungs = encoding.rungs
    labels = [f"s{index}" for index in range(len(rungs))]
    graph = [f"[0:v:0]{','.join(prefix)},split={len(rungs)}{''.join(f'[{label}]' for label in labels)}"]
    graph += [f"[{label}]scale=-2:{rung.height},format=yuv420p[v{index}]"
              for index, (label, rung) in enumerate(zip(labels, rungs, strict=True))]
    gop = gop_frames(profile, encoding.fps)
    outputs = chunk_outputs(workdir, rungs)
    command = [*_ffmpeg_head(ffmpeg, progress=True), *thread_options(profile), *input_options(CHUNK_DEMUXER),
               "-i", input_url(chunk), "-filter_complex", ";".join(graph)]
    for index, rung in enumerate(rungs):
        command += ["-map", f"[v{index}]", "-an", *rung_video_options(profile, rung, gop), *_strip_metadata(),
                    "-frames:v", str(chunk_frames(duration, encoding.fps)),
                    *output_options(), "-f", "mp4", str(outputs[rung.name])]
    return command


async def encode_chunk(chunk: Path, duration: float, encoding: ChunkEncoding, workdir: Path,
                       profile: EncodingProfile, on_progress: ProgressCallback | None = None,
                       pausable: Pausable | None = None) -> dict[str, Path]:
    """Encode one chunk (`pausable`: stopped while a more urgent job runs); a chunk the decoder cannot read is
    refused (MediaRejected) with the tool's words."""
    _make_folder(workdir)
    await _run_ffmpeg("transcoding the chunk", chunk_command(chunk, duration, encoding, workdir, profile),
                      time_limit=encode_timeout(duration, TRANSCODE_TIMEOUT_FACTOR), duration=duration,
                      on_progress=_awaitable(on_progress), pausable=pausable)
    outputs = chunk_outputs(workdir, encoding.rungs)
    for path in outputs.values():
        if not path.is_file() or path.stat().st_size == 0:
            raise MediaRejected(f"the chunk produced no {path.stem} picture")
    return outputs


def _make_folder(folder: Path) -> None:
    Path(folder).mkdir(parents=True, exist_ok=True)


def _awaitable(callback: ProgressCallback | None):  # type: ignore[no-untyped-def]
    if callback is None:
        return None

    async def report(fraction: float) -> None:
        result = callback(fraction)
        if result is not None:
            await result

    return report


def concat_list(rung: str, chunk_dirs: list[Path], workdir: Path) -> Path:
    """The concat demuxer's list of one rung's chunks, in order; paths relative to the list, so its safe mode
    (no protocols, no absolute or hidden paths) holds. The list and the files are the worker's own."""
    workdir = Path(workdir).resolve()
    listing = workdir / f"concat-{rung}.txt"
    lines = ["ffconcat version 1.0"]
    for folder in chunk_dirs:
        relative = (Path(folder).resolve() / f"{rung}.mp4").relative_to(workdir)
        lines.append(f"file {relative.as_posix()}")
    listing.write_text("\n".join(lines) + "\n")
    return listing


def join_command(listing: Path, audio: Path | None, target: Path, *, faststart: bool,
                 ffmpeg: str | None = None) -> list[str]:
    command = [*_ffmpeg_head(ffmpeg, progress=False), "-protocol_whitelist", "file", "-f", "concat", "-safe", "1",
               "-i", str(Path(listing).resolve())]
    if audio is not None:
        command += [*input_options("mov"), "-i", input_url(audio)]
    command += ["-map", "0:v:0", *(["-map", "1:a:0"] if audio is not None else []), "-c", "copy",
                *_strip_metadata()]
    if faststart:
        command += ["-movflags", "+faststart"]
    return command + [*output_options(), "-f", "mp4", str(Path(target).resolve())]


async def join(chunk_dirs: list[Path], audio: Path | None, encoding: ChunkEncoding, duration: float, workdir: Path,
               profile: EncodingProfile) -> Renditions:
    """Each rung's chunks concatenated by stream copy with the one sound track, then packaged as a whole-file
    transcode is: the HLS ladder, the progressive MP4, the poster and the thumbnails."""
    rungs = encoding.rungs
    workdir = _prepare(workdir, [rung.name for rung in rungs], intermediates=True)
    outputs = transcode_outputs(workdir, profile, rungs)
    progressive = outputs[progressive_rung(profile, rungs).name]
    time_limit = encode_timeout(duration, REMUX_TIMEOUT_FACTOR)
    await _together(*(
        _run_ffmpeg(f"joining the {rung.name} chunks",
                    join_command(concat_list(rung.name, chunk_dirs, workdir), audio, outputs[rung.name],
                                 faststart=outputs[rung.name] == progressive),
                    time_limit=time_limit)
        for rung in rungs))
    return await package_encoded(outputs, rungs, workdir, profile, duration)


def chunk_count_for(duration: float, chunk_seconds: float) -> int:
    """About how many chunks a source of this duration is cut into (the keyframes decide exactly)."""
    return max(1, math.ceil(duration / max(chunk_seconds, MIN_CHUNK_SECONDS)))
