"""Chunk plans and the encoder setting as plain data: what every chunk is encoded to, and the commands' options."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.media.adapters import chunking
from services.media.adapters import ffmpeg as fx
from services.media.domain.encoding import DEFAULT_ENCODING, encoder_options, rungs_for


def test_a_chunk_plan_survives_its_trip_through_the_database() -> None:
    plan = chunking.ChunkEncoding(rungs_for(DEFAULT_ENCODING, 576), 29.97, True, False)
    assert chunking.ChunkEncoding.from_json(plan.to_json()) == plan


def test_each_chunk_contributes_its_share_of_the_output_clock() -> None:
    assert chunking.chunk_frames(4.32, 25) == 108
    assert chunking.chunk_frames(3.84, 25) == 96
    assert chunking.chunk_frames(0.01, 25) == 1


def test_every_chunk_and_the_whole_file_share_the_encoder_settings(tmp_path: Path) -> None:
    plan = chunking.ChunkEncoding(rungs_for(DEFAULT_ENCODING, 720), 25.0, False, True)
    command = chunking.chunk_command(tmp_path / "c.mkv", 4.0, plan, tmp_path, DEFAULT_ENCODING)
    for rung in plan.rungs:
        options = fx.rung_video_options(DEFAULT_ENCODING, rung, 50)
        start = command.index(options[0], command.index(f"[v{plan.rungs.index(rung)}]"))
        assert command[start:start + len(options)] == options
    assert "-an" in command and command.count("-frames:v") == 2 and "setpts=PTS-STARTPTS" in " ".join(command)
    assert command[command.index("-f") + 1] == "matroska"  # the chunk's demuxer is forced too


def test_the_cpu_encoder_is_the_default_and_threads_are_held_only_when_set() -> None:
    assert encoder_options(DEFAULT_ENCODING)[:4] == ("-c:v", "libx264", "-preset", "veryfast")
    assert "-threads" not in fx.rung_video_options(DEFAULT_ENCODING, DEFAULT_ENCODING.rungs[0], 50)
    held = replace(DEFAULT_ENCODING, threads=1)
    assert fx.thread_options(held) == ["-threads", "1", "-filter_complex_threads", "1"]
    options = fx.rung_video_options(held, held.rungs[0], 50)
    assert options[options.index("-threads") + 1] == "1"
    gpu = replace(DEFAULT_ENCODING, video_encoder="h264_nvenc")
    assert encoder_options(gpu)[:4] == ("-c:v", "h264_nvenc", "-preset", "p4")
    with pytest.raises(ValueError, match="unknown video encoder 'libx265'"):
        encoder_options(replace(DEFAULT_ENCODING, video_encoder="libx265"))


def test_the_join_lists_only_relative_paths_inside_the_workdir(tmp_path: Path) -> None:
    folders = [tmp_path / "chunks" / f"{index:05d}" for index in range(3)]
    listing = chunking.concat_list("720p", folders, tmp_path)
    assert listing.read_text().splitlines() == ["ffconcat version 1.0", "file chunks/00000/720p.mp4",
                                                "file chunks/00001/720p.mp4", "file chunks/00002/720p.mp4"]
    command = chunking.join_command(listing, tmp_path / "a.m4a", tmp_path / "720p.mp4", faststart=True)
    assert command[command.index("-safe") + 1] == "1" and "+faststart" in command
