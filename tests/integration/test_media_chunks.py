"""Chunked transcoding against real ffmpeg, real S3 and a real database: the same renditions as a whole-file
transcode, playback continuous across every join, a lost or repeated chunk job, a corrupt chunk, the stall check."""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import math
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.media.v1 import media_pb2
from devmesh.mesh import Mesh
from servicekit.clock import utcnow
from servicekit.consumer import EventMeta
from servicekit.db import Database
from servicekit.migrations import script_location
from servicekit.objects import BlobStore
from services.media.adapters import chunking
from services.media.adapters import ffmpeg as fx
from services.media.adapters.metrics import JOBS
from services.media.adapters.orm import Asset, AssetChunk, ChunkPlan, outbox
from services.media.bootstrap import check_encoder, worker_encoding
from services.media.domain.encoding import DEFAULT_ENCODING, output_fps, rungs_for
from services.media.domain.spec import VideoPolicy
from services.media.service_layer import chunks as chunked_jobs
from services.media.service_layer.chunks import CHUNK_CUT_SUBJECT, CHUNKS_ENCODED_SUBJECT, ChunkSettings
from services.media.service_layer.handlers import MediaConfig, MediaHandlers
from services.media.service_layer.processing import MediaProcessor
from tests import media_clips

FFMPEG, FFPROBE = fx.binaries()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chunk-clips")


async def chunked_transcode(src: Path, workdir: Path, chunk_seconds: float) -> tuple[fx.Renditions, list[float]]:
    """What the workers do between them, in one place: cut, encode the sound once, each chunk, join."""
    probe = await fx.probe(src, "mov")
    assert probe.video is not None
    encoding = chunking.ChunkEncoding(rungs_for(DEFAULT_ENCODING, probe.video.height),
                                      output_fps(DEFAULT_ENCODING, probe.video.fps), False, True)
    (workdir / "cut").mkdir(parents=True)
    pieces = await chunking.split(src, "mov", probe.duration, workdir / "cut", chunk_seconds)
    audio = await chunking.encode_audio(src, "mov", probe.duration, workdir / "audio.m4a", DEFAULT_ENCODING,
                                        encoding.rungs)
    folders = []
    for piece in pieces:
        folder = workdir / "out" / "chunks" / f"{piece.index:05d}"
        await chunking.encode_chunk(piece.path, piece.duration, encoding, folder, DEFAULT_ENCODING)
        folders.append(folder)
    renditions = await chunking.join(folders, audio, encoding, probe.duration, workdir / "out", DEFAULT_ENCODING)
    return renditions, [piece.start for piece in pieces]


def probe_json(path: Path, *args: str) -> dict:
    out = subprocess.run([FFPROBE, "-v", "error", "-of", "json", *args, str(path)], check=True, capture_output=True,
                         timeout=60).stdout
    return json.loads(out)


def frames(path: Path, stream: str) -> list[dict]:
    return probe_json(path, "-select_streams", stream, "-show_entries",
                      "frame=pts_time,duration_time,key_frame")["frames"]


def master_without_bandwidth(master: Path) -> list[str]:
    """The master playlist's lines, bit rates left out (they are measured, and differ by a few percent)."""
    lines = []
    for line in master.read_text().splitlines():
        lines.append(",".join(part for part in line.split(",") if "BANDWIDTH=" not in part))
    return lines


def jpeg_size(path: Path) -> tuple[int, int]:
    stream = probe_json(path, "-show_entries", "stream=width,height")["streams"][0]
    return stream["width"], stream["height"]


async def test_a_chunked_transcode_delivers_what_a_whole_one_does(clips: Path, tmp_path: Path) -> None:
    src = media_clips.long_mpeg4_720p(clips, seconds=10)
    probe = await fx.probe(src, "mov")
    whole = await fx.transcode(src, "mov", probe, tmp_path / "whole", DEFAULT_ENCODING)
    chunked, starts = await chunked_transcode(src, tmp_path / "chunked", chunk_seconds=3)
    assert len(starts) >= 3
    assert chunked.rungs == whole.rungs == ("360p", "720p") and not chunked.remuxed
    assert (chunked.thumbnail_count, chunked.thumbnail_interval_seconds) == (whole.thumbnail_count,
                                                                             whole.thumbnail_interval_seconds)
    assert jpeg_size(chunked.poster) == jpeg_size(whole.poster)
    assert jpeg_size(chunked.thumbnails) == jpeg_size(whole.thumbnails)
    assert master_without_bandwidth(chunked.hls_dir / "master.m3u8") == master_without_bandwidth(
        whole.hls_dir / "master.m3u8")
    for rung in whole.rungs:
        assert {p.name for p in (chunked.hls_dir / rung).iterdir()} >= {"index.m3u8", "init.mp4", "seg_00000.m4s"}
    streams = ("stream=codec_type,codec_name,profile,width,height,avg_frame_rate,sample_rate,channels,nb_frames")
    assert probe_json(chunked.progressive_mp4, "-show_entries", streams) == probe_json(
        whole.progressive_mp4, "-show_entries", streams)
    # Only what is delivered is left: no per-rung intermediates, no chunk lists.
    assert sorted(p.name for p in chunked.progressive_mp4.parent.iterdir() if p.is_file() and p.suffix != ".txt") \
        == ["poster.jpg", "progressive.mp4", "thumbnails.jpg"]


def decode_all(path: Path) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"], check=True,
                   timeout=60)


def pcm(path: Path) -> array.array:
    """The whole sound decoded (-xerror: any decoding error fails), first channel, 16-bit at 48 kHz."""
    out = subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-xerror", "-i", str(path), "-map", "0:a:0", "-ac", "1",
                          "-f", "s16le", "-ar", "48000", "-"], check=True, capture_output=True, timeout=60).stdout
    return array.array("h", out)


def rms_db(samples: array.array, start: int, count: int) -> float:
    window = samples[start:start + count]
    return 10 * math.log10(sum(s * s for s in window) / max(1, len(window)) + 1e-9)


async def test_picture_and_sound_play_on_without_a_glitch_across_every_join(clips: Path, tmp_path: Path) -> None:
    src = media_clips.long_mpeg4_720p(clips, seconds=10)
    renditions, starts = await chunked_transcode(src, tmp_path, chunk_seconds=2.5)
    joins = starts[1:]
    assert len(joins) >= 3
    fps = 25.0
    for rung in renditions.rungs:
        playlist = renditions.hls_dir / rung / "index.m3u8"
        for played in (playlist, renditions.progressive_mp4) if rung == "720p" else (playlist,):
            # Every frame decodes (-xerror stops at the first error), and the clock never skips nor repeats.
            decode_all(played)
            video = frames(played, "v:0")
            times = [float(frame["pts_time"]) for frame in video]
            assert len(video) == 250, played
            steps = {round(later - earlier, 4) for earlier, later in zip(times, times[1:], strict=False)}
            assert steps == {round(1 / fps, 4)}, (played, steps)
            # (fMP4 segments keep the encoder's B-frame delay: the clock is read from the first frame)
            keys = {round(float(frame["pts_time"]) - times[0], 2) for frame in video if frame["key_frame"] == 1}
            assert all(round(join, 2) in keys for join in joins), (keys, joins)
    # The sound: one encode, so no priming silence at any join; its length matches the picture's.
    sound = pcm(renditions.progressive_mp4)
    assert abs(len(sound) / 48000 - 10.0) < 0.05
    overall = rms_db(sound, 48000, len(sound) - 96000)
    for join in joins:
        around = int(join * 48000) - 480  # 20 ms across the join
        assert abs(rms_db(sound, around, 960) - overall) < 1.0, join
    packets = probe_json(renditions.progressive_mp4, "-select_streams", "a:0", "-show_entries",
                         "packet=pts,duration")["packets"]
    assert all(later["pts"] == earlier["pts"] + earlier["duration"]
               for earlier, later in zip(packets, packets[1:], strict=False))


async def test_a_corrupt_chunk_is_refused_with_the_tools_reason(tmp_path: Path) -> None:
    bad = tmp_path / "chunk.mkv"
    bad.write_bytes(b"\x00garbage" * 4096)
    encoding = chunking.ChunkEncoding(rungs_for(DEFAULT_ENCODING, 360), 25.0, False, True)
    with pytest.raises(fx.MediaRejected):
        await chunking.encode_chunk(bad, 3.0, encoding, tmp_path / "out", DEFAULT_ENCODING)


# ---------------------------------------------------------------------------- the jobs, with storage and a database


async def default_policy(school_id: str) -> VideoPolicy:
    return VideoPolicy("default", 5, 15, 20, "test defaults")


def meta(subject: str, delivered: int = 1) -> EventMeta:
    return EventMeta(event_id="e", subject=subject, delivered=delivered)


async def uploaded_asset(db: Database, store: BlobStore, source: Path, asset_id: str) -> None:
    key = f"sources/s1/{asset_id}"
    size = len(source.read_bytes())  # noqa: ASYNC240 - a small test clip
    await store.upload_file(key, source)
    async with db.transaction() as session:
        session.add(Asset(id=asset_id, owner_id="t1", school_id="s1", kind="course_video", filename="lecture.mov",
                          category="video", format="mov", size_bytes=size, source_key=key,
                          state="uploaded", sha256="a" * 64, attempt=1))


async def queued(db: Database, subject: str) -> list:
    async with db.transaction() as session:
        rows = (await session.execute(select(outbox.c.event_type, outbox.c.payload).where(
            outbox.c.subject == subject).order_by(outbox.c.position))).all()
    kind = media_pb2.ChunkCut if subject == CHUNK_CUT_SUBJECT else media_pb2.ChunksEncoded
    return [kind.FromString(row.payload) for row in rows]


def count(kind: str, outcome: str, reason: str = "") -> float:
    return JOBS.labels(kind, outcome, reason)._value.get()


@pytest.fixture
async def media(mesh: Mesh, database_url, tmp_path: Path):  # type: ignore[no-untyped-def]
    url, schema = database_url
    db = Database.from_url(url, schema)
    await db.migrate(script_location("media"))
    store = BlobStore(mesh.s3_endpoint, mesh.s3_access_key, mesh.s3_secret_key, bucket="chunks-test")
    await store.ensure_bucket()
    processor = MediaProcessor(db, store, default_policy, scratch=tmp_path / "scratch",
                               chunking=ChunkSettings(min_seconds=5, chunk_seconds=3))
    processor.clean_scratch()  # as a worker does at start: makes the scratch folder
    yield db, store, processor
    await db.dispose()


async def test_each_chunk_is_encoded_once_and_the_last_one_queues_one_join(media, clips: Path) -> None:  # type: ignore[no-untyped-def]
    db, store, processor = media
    before = {kind: count(kind, "done") for kind in ("split", "chunk", "join")}
    skipped_before = count("chunk", "skipped", "done_before")
    source = media_clips.low_resolution_mpeg4(clips, seconds=9)
    asset_id = f"chunked-{id(db)}"
    await uploaded_asset(db, store, source, asset_id)
    await processor.process(None, media_pb2.AssetUploaded(asset_id=asset_id, attempt=1), meta("media.asset.uploaded"))
    jobs = await queued(db, CHUNK_CUT_SUBJECT)
    jobs = [job for job in jobs if job.asset_id == asset_id]
    assert len(jobs) >= 3 and [job.index for job in jobs] == list(range(len(jobs)))
    async with db.transaction() as session:
        asset = await session.get(Asset, asset_id)
        assert asset is not None and asset.state == "transcoding"
    # A chunk job delivered twice (its worker died after the work, before the ack) does the work once.
    await processor.chunked.encode(None, jobs[0], meta(CHUNK_CUT_SUBJECT))
    await processor.chunked.encode(None, jobs[0], meta(CHUNK_CUT_SUBJECT, delivered=2))
    for job in reversed(jobs[1:]):  # any order, any worker
        assert not [j for j in await queued(db, CHUNKS_ENCODED_SUBJECT) if j.asset_id == asset_id]
        await processor.chunked.encode(None, job, meta(CHUNK_CUT_SUBJECT))
    joins = [job for job in await queued(db, CHUNKS_ENCODED_SUBJECT) if job.asset_id == asset_id]
    assert len(joins) == 1
    await processor.chunked.join(None, joins[0], meta(CHUNKS_ENCODED_SUBJECT))
    async with db.transaction() as session:
        asset = await session.get(Asset, asset_id)
        assert asset is not None and asset.state == "ready" and asset.progress == 1.0, asset.failure_reason
        assert json.loads(asset.renditions_json) == ["360p"] and not asset.remuxed
        chunks = list(await session.scalars(select(AssetChunk).where(AssetChunk.asset_id == asset_id)))
        assert {chunk.state for chunk in chunks} == {"encoded"}
        prefix = asset.rendition_prefix
    for name in ("progressive.mp4", "poster.jpg", "thumbnails.jpg", "hls/master.m3u8", "hls/360p/index.m3u8"):
        assert await store.exists(f"{prefix}/{name}"), name
    assert await store.delete_prefix(f"chunks/{asset_id}/") == 0  # the join removed the chunks
    assert count("split", "done") == before["split"] + 1
    assert count("chunk", "done") == before["chunk"] + len(jobs)
    assert count("chunk", "skipped", "done_before") == skipped_before + 1
    assert count("join", "done") == before["join"] + 1


async def test_a_corrupt_chunk_fails_the_asset_with_its_reason_and_publishes_nothing(media, clips: Path) -> None:  # type: ignore[no-untyped-def]
    db, store, processor = media
    failed_before = count("chunk", "failed", "rejected")
    source = media_clips.low_resolution_mpeg4(clips, seconds=9)
    asset_id = f"corrupt-{id(db)}"
    await uploaded_asset(db, store, source, asset_id)
    await processor.process(None, media_pb2.AssetUploaded(asset_id=asset_id, attempt=1), meta("media.asset.uploaded"))
    jobs = [job for job in await queued(db, CHUNK_CUT_SUBJECT) if job.asset_id == asset_id]
    async with db.transaction() as session:
        plan = await session.get(ChunkPlan, (asset_id, 1))
        assert plan is not None
    await store.put_bytes(f"{plan.prefix}/source/00001.mkv", b"\x1aE\xdf\xa3 not a chunk" * 100, "video/x-matroska")
    await processor.chunked.encode(None, jobs[0], meta(CHUNK_CUT_SUBJECT))
    await processor.chunked.encode(None, jobs[1], meta(CHUNK_CUT_SUBJECT))
    async with db.transaction() as session:
        asset = await session.get(Asset, asset_id)
        assert asset is not None and asset.state == "failed"
        assert asset.failure_reason.startswith(f"chunk 2 of {len(jobs)} (")
        assert "could not be transcoded" in asset.failure_reason and "/" not in asset.failure_reason.split(":")[0]
        assert asset.rendition_prefix == "" and json.loads(asset.renditions_json) == []
    # The other chunks' jobs find the attempt over; nothing was published, the chunks are gone.
    await processor.chunked.encode(None, jobs[2], meta(CHUNK_CUT_SUBJECT))
    assert not [j for j in await queued(db, CHUNKS_ENCODED_SUBJECT) if j.asset_id == asset_id]
    assert await store.delete_prefix(f"chunks/{asset_id}/") == 0
    assert await store.delete_prefix(f"renditions/{asset_id}/") == 0
    assert count("chunk", "failed", "rejected") == failed_before + 1


# ---------------------------------------------------------------------------- the stall check of chunked attempts


async def worker_dies_inside(processor: MediaProcessor, db: Database, job: media_pb2.ChunkCut, delivered: int) -> None:
    """A worker killed inside a chunk's encode: its ffmpeg is held stopped (so the chunk cannot finish first), the
    job's task is cancelled once the start is recorded (its ffmpeg killed), and nobody acks or gives up."""
    key = (job.asset_id, job.attempt, job.index)
    async with db.transaction() as session:
        before = (await session.get(AssetChunk, key)).deliveries  # type: ignore[union-attr]

    async def started() -> bool:
        async with db.transaction() as session:
            return (await session.get(AssetChunk, key)).deliveries > before  # type: ignore[union-attr]

    processor.chunked.pausable.pause()
    task = asyncio.create_task(processor.chunked.encode(None, job, meta(CHUNK_CUT_SUBJECT, delivered)))
    try:
        for _ in range(200):
            if await started():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # into the download or the stopped ffmpeg
        assert not task.done()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        processor.chunked.pausable.resume()
    assert await started()


def stall_check(db: Database, store: BlobStore, minutes_later: float, **config: int) -> MediaHandlers:
    """The media service's stall check (15 minutes' silence), its clock `minutes_later` than now."""
    return MediaHandlers(db, store, MediaConfig(**config), default_policy,  # type: ignore[arg-type]
                         clock=lambda: utcnow() + timedelta(minutes=minutes_later))


async def state_of(db: Database, asset_id: str) -> Asset:
    async with db.transaction() as session:
        asset = await session.get(Asset, asset_id)
        assert asset is not None
        return asset


async def test_a_chunk_whose_worker_died_on_its_last_delivery_is_queued_again_and_the_asset_becomes_ready(
    media, clips: Path  # type: ignore[no-untyped-def]
) -> None:
    db, store, processor = media
    done_before = count("chunk", "done")
    source = media_clips.low_resolution_mpeg4(clips, seconds=9)
    asset_id = f"stalled-{id(db)}"
    await uploaded_asset(db, store, source, asset_id)
    await processor.process(None, media_pb2.AssetUploaded(asset_id=asset_id, attempt=1), meta("media.asset.uploaded"))
    jobs = [job for job in await queued(db, CHUNK_CUT_SUBJECT) if job.asset_id == asset_id]
    for job in jobs[:1] + jobs[2:]:
        await processor.chunked.encode(None, job, meta(CHUNK_CUT_SUBJECT))
    # Chunk 2's worker dies on each of its job's two deliveries: JetStream will not deliver it again.
    for delivered in (1, 2):
        await worker_dies_inside(processor, db, jobs[1], delivered)
    settings = {"job_max_deliver": 2, "stalled_requeues": 1}
    assert await stall_check(db, store, 0, **settings).fail_stalled_jobs() == 0  # not silent for long yet
    assert await stall_check(db, store, 20, **settings).fail_stalled_jobs() == 1
    again = [job for job in await queued(db, CHUNK_CUT_SUBJECT) if job.asset_id == asset_id]
    assert [job.index for job in again] == [job.index for job in jobs] + [1]  # only the lost chunk, once more
    assert (await state_of(db, asset_id)).state == "transcoding"
    await processor.chunked.encode(None, again[-1], meta(CHUNK_CUT_SUBJECT))
    # The join's worker dies too, on its job's last delivery: the join is queued again.
    joins = [job for job in await queued(db, CHUNKS_ENCODED_SUBJECT) if job.asset_id == asset_id]
    assert len(joins) == 1
    assert await stall_check(db, store, 40, **settings).fail_stalled_jobs() == 1
    joins = [job for job in await queued(db, CHUNKS_ENCODED_SUBJECT) if job.asset_id == asset_id]
    assert len(joins) == 2
    await processor.chunked.join(None, joins[-1], meta(CHUNKS_ENCODED_SUBJECT))
    asset = await state_of(db, asset_id)
    assert asset.state == "ready" and asset.progress == 1.0, asset.failure_reason
    assert await store.exists(f"{asset.rendition_prefix}/hls/master.m3u8")
    # The finished chunks were kept: every chunk was encoded once.
    assert count("chunk", "done") == done_before + len(jobs)
    assert await store.delete_prefix(f"chunks/{asset_id}/") == 0


async def test_a_chunk_that_stops_every_worker_fails_the_asset_naming_it_and_publishes_nothing(
    media, clips: Path  # type: ignore[no-untyped-def]
) -> None:
    db, store, processor = media
    source = media_clips.low_resolution_mpeg4(clips, seconds=9)
    asset_id = f"poison-{id(db)}"
    await uploaded_asset(db, store, source, asset_id)
    await processor.process(None, media_pb2.AssetUploaded(asset_id=asset_id, attempt=1), meta("media.asset.uploaded"))
    jobs = [job for job in await queued(db, CHUNK_CUT_SUBJECT) if job.asset_id == asset_id]
    for job in jobs[:1] + jobs[2:]:
        await processor.chunked.encode(None, job, meta(CHUNK_CUT_SUBJECT))
    settings = {"job_max_deliver": 2, "stalled_requeues": 1}
    for delivered in (1, 2):
        await worker_dies_inside(processor, db, jobs[1], delivered)
    assert await stall_check(db, store, 20, **settings).fail_stalled_jobs() == 1
    requeued = [job for job in await queued(db, CHUNK_CUT_SUBJECT) if job.asset_id == asset_id][-1]
    for delivered in (1, 2):
        await worker_dies_inside(processor, db, requeued, delivered)
    assert await stall_check(db, store, 40, **settings).fail_stalled_jobs() == 1
    async with db.transaction() as session:
        chunk = await session.get(AssetChunk, (asset_id, 1, 1))
        assert chunk is not None
        start, end = chunk.start_seconds, chunk.start_seconds + chunk.duration_seconds
    asset = await state_of(db, asset_id)
    assert asset.state == "failed"
    assert asset.failure_reason == (f"chunk 2 of {len(jobs)} ({start:.1f}–{end:.1f} s) was not transcoded: "
                                    f"its worker stopped 4 times")
    assert asset.rendition_prefix == "" and json.loads(asset.renditions_json) == []
    assert not [job for job in await queued(db, CHUNKS_ENCODED_SUBJECT) if job.asset_id == asset_id]
    assert await store.delete_prefix(f"chunks/{asset_id}/") == 0
    assert await store.delete_prefix(f"renditions/{asset_id}/") == 0
    # Nothing more is queued for a failed attempt.
    assert await stall_check(db, store, 60, **settings).fail_stalled_jobs() == 0


async def test_the_stall_check_leaves_a_slow_chunked_upload_alone(  # type: ignore[no-untyped-def]
    media, clips: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, store, processor = media
    monkeypatch.setattr(chunked_jobs, "HEARTBEAT_SECONDS", 0.2)
    source = media_clips.low_resolution_mpeg4(clips, seconds=9)
    asset_id = f"slow-{id(db)}"
    await uploaded_asset(db, store, source, asset_id)
    await processor.process(None, media_pb2.AssetUploaded(asset_id=asset_id, attempt=1), meta("media.asset.uploaded"))
    jobs = [job for job in await queued(db, CHUNK_CUT_SUBJECT) if job.asset_id == asset_id]
    # A chunk paused behind a short upload for longer than the stall limit (a second here) is alive all along.
    quick = MediaHandlers(db, store, MediaConfig(stalled_after=timedelta(seconds=1), job_max_deliver=1,
                                                 stalled_requeues=0), default_policy)  # type: ignore[arg-type]
    processor.chunked.pausable.pause()
    slow = asyncio.create_task(processor.chunked.encode(None, jobs[0], meta(CHUNK_CUT_SUBJECT)))
    for _ in range(3):
        await asyncio.sleep(0.8)
        assert await quick.fail_stalled_jobs() == 0
    processor.chunked.pausable.resume()
    await slow
    assert (await state_of(db, asset_id)).state == "transcoding"
    assert len([job for job in await queued(db, CHUNK_CUT_SUBJECT) if job.asset_id == asset_id]) == len(jobs)
    # Chunks waiting behind other uploads' chunks (never started) are queued again, but never fail the upload.
    for later in (20, 40, 60, 80):
        assert await stall_check(db, store, later, job_max_deliver=1, stalled_requeues=0).fail_stalled_jobs() == 1
    asset = await state_of(db, asset_id)
    assert asset.state == "transcoding", asset.failure_reason
    waiting = [job for job in await queued(db, CHUNK_CUT_SUBJECT) if job.asset_id == asset_id]
    assert len(waiting) == len(jobs) + 4 * (len(jobs) - 1)


# ---------------------------------------------------------------------------- preemption and the encoder setting


async def test_a_paused_chunk_encode_stops_and_its_pause_does_not_count_against_its_time_limit() -> None:
    pausable = fx.Pausable()
    # Two seconds of picture read in real time: about two seconds of work, under a three-second limit.
    command = [FFMPEG, "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:d=2",
               "-f", "null", "-"]
    run = asyncio.ensure_future(fx.run_tool(command, time_limit=3.0, pausable=pausable))
    await asyncio.sleep(0.5)
    pausable.pause()
    await asyncio.sleep(0.3)
    stopped = [pid for pid in tool_pids("ffmpeg") if process_state(pid) == "T"]
    assert stopped, "the paused tool is not stopped"
    await asyncio.sleep(2.5)
    assert not run.done()
    pausable.resume()
    completed = await run
    assert completed.returncode == 0 and pausable.paused_seconds() >= 2.5


def tool_pids(name: str) -> list[int]:
    own = os.getpid()
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if f"({name})" in text and _descends_from(int(stat.parent.name), own):
            found.append(int(stat.parent.name))
    return found


def _descends_from(pid: int, ancestor: int) -> bool:
    for _ in range(10):
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
        if pid == ancestor:
            return True
    return False


def process_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def gpu_present() -> bool:
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True, timeout=30).returncode == 0


def test_an_unknown_encoder_setting_is_refused() -> None:
    with pytest.raises(RuntimeError, match="MEDIA_VIDEO_ENCODER='libx265' is not one of libx264, h264_nvenc"):
        worker_encoding("libx265", 0)
    with pytest.raises(RuntimeError, match="MEDIA_FFMPEG_THREADS"):
        worker_encoding("libx264", -1)
    assert worker_encoding("libx264", 1).threads == 1


@pytest.mark.skipif(gpu_present(), reason="a GPU is here: the encoder may well open")
async def test_the_gpu_encoder_is_refused_at_start_where_there_is_no_gpu() -> None:
    with pytest.raises(RuntimeError, match="MEDIA_VIDEO_ENCODER=h264_nvenc: "):
        await check_encoder("h264_nvenc")
    await check_encoder("libx264")  # the default needs nothing


@pytest.mark.skipif(not gpu_present(), reason="no GPU on this machine")
async def test_chunks_encode_on_the_gpu_and_join_like_the_cpus(clips: Path, tmp_path: Path) -> None:
    await check_encoder("h264_nvenc")
    src = media_clips.long_mpeg4_720p(clips, seconds=10)
    probe = await fx.probe(src, "mov")
    gpu = worker_encoding("h264_nvenc", 0)
    encoding = chunking.ChunkEncoding(rungs_for(gpu, 720), 25.0, False, True)
    (tmp_path / "cut").mkdir()
    pieces = await chunking.split(src, "mov", probe.duration, tmp_path / "cut", 3)
    folders = []
    for piece in pieces:
        folder = tmp_path / "out" / "chunks" / f"{piece.index:05d}"
        await chunking.encode_chunk(piece.path, piece.duration, encoding, folder, gpu)
        folders.append(folder)
    audio = await chunking.encode_audio(src, "mov", probe.duration, tmp_path / "a.m4a", gpu, encoding.rungs)
    renditions = await chunking.join(folders, audio, encoding, probe.duration, tmp_path / "out", gpu)
    decode_all(renditions.progressive_mp4)
    assert len(frames(renditions.progressive_mp4, "v:0")) == 250
