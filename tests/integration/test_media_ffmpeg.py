"""The hardened ffmpeg runner against real ffmpeg: tiny generated clips, crafted uploads, a hung encode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.media.adapters import ffmpeg as fx
from services.media.adapters.ffmpeg import probing
from services.media.domain.encoding import DEFAULT_ENCODING, rungs_for
from services.media.domain.probe import ProbeResult, VideoStream

FFMPEG, FFPROBE = fx.binaries()


def make(*args: str) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", *args], check=True, timeout=60)


def ffprobe_json(path: Path, *args: str) -> dict:
    out = subprocess.run([FFPROBE, "-v", "error", "-of", "json", *args, str(path)], check=True, capture_output=True,
                         timeout=30).stdout
    return json.loads(out)


def keyframe_times(path: Path) -> list[float]:
    """Decoded keyframes only (`-skip_frame nokey`) of an MP4 or of a whole HLS media playlist."""
    frames = ffprobe_json(path, "-select_streams", "v:0", "-skip_frame", "nokey", "-show_entries",
                          "frame=pts_time")["frames"]
    return [round(float(frame["pts_time"]), 3) for frame in frames]


def video_packet_hashes(path: Path) -> list[tuple[str, str]]:
    """(size, md5) of every video packet as stored: equal lists mean the bitstream was copied, not re-encoded."""
    out = subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
                          "-f", "framemd5", "-"], check=True, capture_output=True, timeout=30).stdout.decode()
    rows = [line.split(",") for line in out.splitlines() if line and not line.startswith("#")]
    return [(row[4].strip(), row[5].strip()) for row in rows]


def jpeg_size(path: Path) -> tuple[int, int]:
    stream = ffprobe_json(path, "-show_entries", "stream=width,height")["streams"][0]
    return stream["width"], stream["height"]


def extinf(playlist: Path) -> list[float]:
    return [float(line.split(":")[1].rstrip(",")) for line in playlist.read_text().splitlines()
            if line.startswith("#EXTINF:")]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    make("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", *tone, "-t", "4", "-ac", "2",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "1500k", "-g", "50", "-c:a", "aac", "-b:a", "128k",
         str(d / "compliant.mp4"))
    make("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24", "-f", "lavfi", "-i",
         "sine=frequency=300:sample_rate=44100", "-t", "9", "-c:v", "mpeg4", "-q:v", "4", "-c:a", "aac", "-ac", "1",
         str(d / "legacy360.mov"))
    make("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", *tone, "-t", "4", "-c:v", "mpeg4", "-q:v", "6",
         "-c:a", "aac", "-ac", "2", str(d / "legacy720.mov"))
    make("-f", "lavfi", "-i", "color=black:size=8192x1280:rate=1", "-frames:v", "1", "-c:v", "libx264",
         "-preset", "ultrafast", str(d / "bomb.mp4"))
    for container in ("mkv", "flv"):
        make("-i", str(d / "compliant.mp4"), "-c", "copy", str(d / f"compliant_{container}.{container}"))
    data = (d / "compliant.mp4").read_bytes()  # moov at the end, as the mp4 muxer writes it by default
    (d / "first_half.mp4").write_bytes(data[: len(data) // 2])
    (d / "headless.mp4").write_bytes(data[len(data) // 2:])
    return {path.stem: path for path in d.iterdir()}


def fabricated_probe(width: int = 1280, height: int = 720, codec: str = "h264") -> ProbeResult:
    """What a caller might pass when it skipped probing: the runner must still refuse bad input."""
    return ProbeResult("mov,mp4,m4a,3gp,3g2,mj2", 4.0, 1000, None,
                       VideoStream(codec, width, height, 25.0, None, "progressive", "yuv420p"), None)


@contextlib.contextmanager
def tripwire_fifo(path: Path) -> Iterator[threading.Event]:
    """A named pipe whose `opened` event fires if anyone opens it for reading."""
    os.mkfifo(path)
    opened, done = threading.Event(), threading.Event()

    def writer() -> None:
        with contextlib.suppress(BrokenPipeError), open(path, "wb", buffering=0) as pipe:  # blocks until read
            if not done.is_set():
                opened.set()
            pipe.write(b"\0" * 188)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield opened
    finally:
        done.set()
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))  # release the writer
        thread.join(5)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def connections(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            server.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


# ------------------------------------------------------------------------------------------------ the ladder


def test_ladder_never_upscales() -> None:
    assert [r.name for r in rungs_for(DEFAULT_ENCODING, 1080)] == ["360p", "720p", "1080p"]
    assert [r.name for r in rungs_for(DEFAULT_ENCODING, 720)] == ["360p", "720p"]
    assert [r.name for r in rungs_for(DEFAULT_ENCODING, 719)] == ["360p", "718p"]  # near its height, even
    (small,) = rungs_for(DEFAULT_ENCODING, 241)
    assert (small.name, small.height, small.maxrate_kbps) == ("240p", 240, 856)


# ------------------------------------------------------------------------------------------------ probe


async def test_probe_reads_codec_size_fps_bitrates_duration_channels_and_field_order(clips) -> None:
    compliant = await fx.probe(clips["compliant"], "mov")
    assert compliant.video is not None and compliant.audio is not None
    assert (compliant.video.codec, compliant.video.width, compliant.video.height) == ("h264", 1280, 720)
    assert compliant.video.fps == 25.0
    assert compliant.video.field_order == "progressive"
    assert compliant.video.pix_fmt == "yuv420p"
    assert 1_000_000 < compliant.video.bit_rate < 2_000_000
    assert (compliant.audio.codec, compliant.audio.sample_rate, compliant.audio.channels) == ("aac", 48000, 2)
    assert 100_000 < compliant.audio.bit_rate < 160_000
    assert compliant.duration == pytest.approx(4.0, abs=0.1)
    assert compliant.size_bytes == clips["compliant"].stat().st_size and compliant.bit_rate

    legacy = await fx.probe(clips["legacy360"], "mov")
    assert (legacy.video.codec, legacy.video.fps, legacy.video.height) == ("mpeg4", 24.0, 360)
    assert legacy.video.field_order == "unknown"  # mpeg4 part 2 does not say
    assert (legacy.audio.sample_rate, legacy.audio.channels) == (44100, 1)


# ------------------------------------------------------------------------------------------------ remux


async def test_compliant_h264_aac_source_is_remuxed_without_reencoding(clips, tmp_path: Path) -> None:
    src = clips["compliant"]
    probe = await fx.probe(src, "mov")

    seen: list[float] = []
    started = time.perf_counter()
    out = await fx.remux(src, "mov", probe, tmp_path / "work", DEFAULT_ENCODING, on_progress=seen.append)
    elapsed = time.perf_counter() - started

    assert out.remuxed and out.rungs == ("720p",)
    assert video_packet_hashes(out.progressive_mp4) == video_packet_hashes(src)  # every packet copied verbatim
    head = out.progressive_mp4.read_bytes()[:4096]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # faststart: moov first
    master = (out.hls_dir / "master.m3u8").read_text()
    assert "RESOLUTION=1280x720" in master and 'CODECS="avc1.' in master and "mp4a.40.2" in master
    assert "720p/index.m3u8" in master
    segments = sorted((out.hls_dir / "720p").glob("seg_*.m4s"))
    assert segments and (out.hls_dir / "720p" / "init.mp4").is_file()
    assert extinf(out.hls_dir / "720p" / "index.m3u8") == [pytest.approx(4.0, abs=0.05)]
    assert keyframe_times(out.hls_dir / "720p" / "index.m3u8")  # the packaged stream plays back
    assert jpeg_size(out.poster) == (1280, 720)
    assert jpeg_size(out.thumbnails) == (160 * out.thumbnail_count, 90)
    assert sorted(p.name for p in out.progressive_mp4.parent.iterdir()) == [
        "hls", "poster.jpg", "progressive.mp4", "thumbnails.jpg"]
    assert elapsed < 5
    assert seen[-1] == 1.0  # a plain (sync) callback works too


@pytest.mark.parametrize(("name", "demuxer"), [("compliant_mkv", "matroska"), ("compliant_flv", "flv")])
async def test_compliant_source_in_mkv_or_flv_is_remuxed_to_mp4(clips, tmp_path: Path, name: str, demuxer: str) -> None:
    probe = await fx.probe(clips[name], demuxer)
    out = await fx.remux(clips[name], demuxer, probe, tmp_path, DEFAULT_ENCODING)
    assert video_packet_hashes(out.progressive_mp4) == video_packet_hashes(clips["compliant"])
    assert (await fx.probe(out.progressive_mp4, "mov")).audio.codec == "aac"


async def test_remux_refuses_a_source_that_needs_encoding(clips, tmp_path: Path) -> None:
    probe = await fx.probe(clips["legacy360"], "mov")
    with pytest.raises(ValueError, match="H.264/AAC"):
        await fx.remux(clips["legacy360"], "mov", probe, tmp_path, DEFAULT_ENCODING)


# ------------------------------------------------------------------------------------------------ transcode


async def test_small_legacy_source_is_transcoded_to_360p_only_with_4s_segments_2s_gops_and_capped_bitrate(
        clips, tmp_path: Path) -> None:
    src = clips["legacy360"]
    probe = await fx.probe(src, "mov")

    out = await fx.transcode(src, "mov", probe, tmp_path / "work", DEFAULT_ENCODING)

    assert not out.remuxed and out.rungs == ("360p",)  # a 640×360 source is never upscaled
    master = (out.hls_dir / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 1 and "RESOLUTION=640x360" in master
    assert "avc1.64" in master  # High profile
    durations = extinf(out.hls_dir / "360p" / "index.m3u8")
    assert durations[:-1] == [pytest.approx(4.0, abs=0.05)] * (len(durations) - 1) and len(durations) == 3
    assert keyframe_times(out.progressive_mp4) == [0.0, 2.0, 4.0, 6.0, 8.0]
    result = await fx.probe(out.progressive_mp4, "mov")
    assert (result.video.codec, result.video.width, result.video.fps, result.video.pix_fmt) == (
        "h264", 640, 25.0, "yuv420p")  # 24 fps brought up to the 25 fps minimum
    assert result.video.bit_rate <= 856_000 * 1.1
    assert (result.audio.codec, result.audio.sample_rate, result.audio.channels) == ("aac", 48000, 2)
    assert jpeg_size(out.poster) == (640, 360)  # never upscaled to the 1280 poster width
    assert jpeg_size(out.thumbnails) == (160, 90)
    assert not (tmp_path / "work" / "rungs").exists()


async def test_rungs_share_keyframe_instants_and_the_progressive_mp4_is_720p(clips, tmp_path: Path) -> None:
    src = clips["legacy720"]
    probe = await fx.probe(src, "mov")

    out = await fx.transcode(src, "mov", probe, tmp_path / "work", DEFAULT_ENCODING)

    assert out.rungs == ("360p", "720p")
    master = (out.hls_dir / "master.m3u8").read_text()
    assert master.index("RESOLUTION=640x360") < master.index("RESOLUTION=1280x720")  # ascending bandwidth
    assert (await fx.probe(out.progressive_mp4, "mov")).video.height == 720
    low, high = (keyframe_times(out.hls_dir / rung / "index.m3u8") for rung in out.rungs)
    assert low == high and len(low) == 2  # same instants in both rungs, so players switch cleanly
    assert keyframe_times(out.progressive_mp4) == [0.0, 2.0]  # 30 fps kept, GOP of 60 frames


async def test_progress_is_reported_in_increasing_fractions_ending_at_one(clips, tmp_path: Path) -> None:
    seen: list[float] = []

    async def on_progress(fraction: float) -> None:
        seen.append(fraction)

    probe = await fx.probe(clips["legacy360"], "mov")
    await fx.transcode(clips["legacy360"], "mov", probe, tmp_path, DEFAULT_ENCODING, on_progress=on_progress)

    assert len(seen) >= 2
    assert seen == sorted(set(seen)) and all(0 <= f <= 1 for f in seen)
    assert seen[-1] == 1.0


# ------------------------------------------------------------------------------------------------ crafted uploads


async def test_hls_playlist_disguised_as_mp4_is_refused_and_reads_nothing(tmp_path: Path, listener) -> None:
    port = listener.getsockname()[1]
    secret = tmp_path / "secret.ts"
    upload = tmp_path / "lecture.mp4"
    upload.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n{secret}\n#EXTINF:4,\n/etc/passwd\n"
                      f"#EXTINF:4,\nhttp://127.0.0.1:{port}/x.ts\n#EXT-X-ENDLIST\n")
    with tripwire_fifo(secret) as opened:
        with pytest.raises(fx.MediaRejected, match="not a readable MP4/MOV file"):
            await fx.probe(upload, "mov")
        with pytest.raises(fx.MediaRejected):  # the encoder refuses it too, even with a made-up probe
            await fx.transcode(upload, "mov", fabricated_probe(), tmp_path / "work", DEFAULT_ENCODING)
        assert not opened.is_set()
    assert connections(listener) == 0


async def test_the_tripwire_catches_an_unhardened_ffprobe(tmp_path: Path) -> None:
    """The control for the test above: plain ffprobe follows the playlist and opens the file it names."""
    secret = tmp_path / "secret.ts"
    playlist = tmp_path / "lecture.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n{secret}\n#EXT-X-ENDLIST\n")
    with tripwire_fifo(secret) as opened:
        process = await asyncio.create_subprocess_exec(FFPROBE, "-v", "quiet", str(playlist),
                                                       stdin=asyncio.subprocess.DEVNULL)
        await asyncio.wait_for(process.wait(), 20)
        assert opened.wait(5)


async def test_concat_list_disguised_as_mp4_is_refused_and_reads_nothing(tmp_path: Path) -> None:
    upload = tmp_path / "lecture.mp4"
    upload.write_text("ffconcat version 1.0\nfile 'secret.ts'\nfile '/etc/passwd'\n")
    with tripwire_fifo(tmp_path / "secret.ts") as opened:
        with pytest.raises(fx.MediaRejected, match="not a readable MP4/MOV file"):
            await fx.probe(upload, "mov")
        with pytest.raises(fx.MediaRejected):
            await fx.remux(upload, "mov", fabricated_probe(), tmp_path / "work", DEFAULT_ENCODING)
        assert not opened.is_set()


async def test_dimension_bomb_is_refused_before_decoding(clips, tmp_path: Path) -> None:
    with pytest.raises(fx.MediaRejected, match="4096×2304"):
        await fx.probe(clips["bomb"], "mov")
    # Lying about the size does not help: the decoders carry the pixel cap too.
    with pytest.raises(fx.MediaRejected, match="max pixel count"):
        await fx.transcode(clips["bomb"], "mov", fabricated_probe(), tmp_path / "work", DEFAULT_ENCODING)
    with pytest.raises(fx.MediaRejected, match="8192×1280"):
        await fx.transcode(clips["bomb"], "mov", fabricated_probe(8192, 1280), tmp_path / "work", DEFAULT_ENCODING)


@pytest.mark.parametrize("name", ["first_half", "headless"])
async def test_truncated_file_is_refused(clips, name: str) -> None:
    with pytest.raises(fx.MediaRejected, match="moov atom not found"):
        await fx.probe(clips[name], "mov")


async def test_file_in_another_container_than_claimed_is_refused(clips) -> None:
    with pytest.raises(fx.MediaRejected, match="not a readable MKV/WebM file"):
        await fx.probe(clips["compliant"], "matroska")


async def test_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").touch()
    with pytest.raises(fx.MediaRejected, match="empty"):
        await fx.probe(tmp_path / "empty.mp4", "mov")


@pytest.mark.parametrize("demuxer", ["hls", "concat", "image2", "lavfi", "mov,hls", ""])
async def test_demuxer_outside_the_whitelist_is_refused_without_running_anything(
        clips, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demuxer: str) -> None:
    async def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process was started")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", no_process)
    with pytest.raises(fx.MediaRejected, match="unsupported container format"):
        await fx.probe(clips["compliant"], demuxer)
    with pytest.raises(fx.MediaRejected, match="unsupported container format"):
        await fx.transcode(clips["compliant"], demuxer, fabricated_probe(), tmp_path, DEFAULT_ENCODING)
    with pytest.raises(fx.MediaRejected, match="unsupported container format"):
        await fx.remux(clips["compliant"], demuxer, fabricated_probe(), tmp_path, DEFAULT_ENCODING)


# ------------------------------------------------------------------------------------------------ time limits


def processes_mentioning(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


async def test_timeout_kills_a_hung_ffmpeg_and_leaves_no_process(tmp_path: Path) -> None:
    marker = f"hung-{uuid.uuid4().hex}"
    command = [FFMPEG, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
               "-t", "600", "-c:v", "libx264", "-preset", "veryslow", "-y", str(tmp_path / f"{marker}.mp4")]
    started = time.perf_counter()
    with pytest.raises(fx.MediaTimeout, match="did not finish within 0.5 s"):
        await fx.run_tool(command, time_limit=0.5)
    assert time.perf_counter() - started < 5
    assert processes_mentioning(marker) == []


async def test_probe_that_hangs_is_refused_after_its_time_limit(tmp_path: Path, monkeypatch) -> None:
    upload = tmp_path / "stuck.mp4"
    os.mkfifo(upload)  # opening a pipe nobody writes to blocks ffprobe forever
    # patched where `probe` looks them up
    monkeypatch.setattr(probing, "PROBE_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(probing, "_file_size", lambda path: 1)
    with pytest.raises(fx.MediaRejected, match="took longer than 0.5 s"):
        await fx.probe(upload, "mov")
    assert processes_mentioning(str(upload)) == []


async def test_cancelling_a_run_kills_ffmpeg(tmp_path: Path) -> None:
    marker = f"cancelled-{uuid.uuid4().hex}"
    command = [FFMPEG, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
               "-t", "600", "-c:v", "libx264", "-y", str(tmp_path / f"{marker}.mp4")]
    task = asyncio.create_task(fx.run_tool(command, time_limit=60))
    await asyncio.sleep(0.3)
    assert processes_mentioning(marker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert processes_mentioning(marker) == []


def test_encoding_time_limit_grows_with_duration() -> None:
    assert fx.encode_timeout(600, fx.TRANSCODE_TIMEOUT_FACTOR) == 60 + 2400
    assert fx.encode_timeout(600, fx.REMUX_TIMEOUT_FACTOR) == 660
