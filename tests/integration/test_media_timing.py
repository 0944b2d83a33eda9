"""Real ffmpeg/ffprobe: frame timestamps give a video's real length, an encode never invents frames past it, and a
tool dies with the process that ran it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from services.media.adapters import ffmpeg
from services.media.domain import timing
from services.media.domain.encoding import DEFAULT_ENCODING
from tests import media_clips


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("timing-clips")


async def test_frames_of_a_steady_clip_are_counted_without_decoding(clips: Path) -> None:
    scan = await ffmpeg.scan_frames(media_clips.compliant_720p(clips, seconds=4), "mov", 10_000)
    assert scan.frames == 100 and scan.first == 0.0 and 3.9 < scan.last < 4.0
    assert scan.largest_gap == pytest.approx(0.04, abs=0.001)
    assert timing.refusal(4.0, scan, 1200, "浙江省") == ""


async def test_a_second_frame_stamped_five_minutes_in_is_seen(clips: Path) -> None:
    source = media_clips.sparse_mkv(clips, 300)
    probe = await ffmpeg.probe(source, "matroska")
    scan = await ffmpeg.scan_frames(source, "matroska", 10_000)
    assert (scan.frames, scan.span, scan.largest_gap) == (2, 300.0, 300.0)
    assert "300 s apart" in timing.refusal(probe.duration, scan, 1200, "浙江省")


async def test_scanning_stops_past_the_most_frames_the_maximum_allows(clips: Path) -> None:
    with pytest.raises(ffmpeg.MediaRejected, match="more than 50 frames"):
        await ffmpeg.scan_frames(media_clips.compliant_720p(clips, seconds=4), "mov", 50)


async def test_an_encode_writes_no_more_frames_than_the_real_duration_needs(clips: Path, tmp_path: Path) -> None:
    source = media_clips.sparse_mkv(clips, 30)  # 30 s apart: what a transcode alone would stretch to 750 frames
    probe = await ffmpeg.probe(source, "matroska")
    (tmp_path / ffmpeg.RUNGS_DIR_NAME).mkdir()
    bounded = ffmpeg.transcode_command(source, "matroska", replace(probe, duration=2.0), tmp_path, DEFAULT_ENCODING)
    assert bounded.count("-frames:v") == len([a for a in bounded if a.endswith(".mp4")])
    completed = await ffmpeg.run_tool(bounded, time_limit=120)
    assert completed.returncode == 0, completed.stderr_tail
    counted = await ffmpeg.scan_frames(tmp_path / ffmpeg.PROGRESSIVE_NAME, "mov", 10_000)
    assert counted.frames <= timing.max_output_frames(2.0, 25.0)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_a_tool_dies_with_its_process_even_a_sigkilled_one(tmp_path: Path) -> None:
    pid_file = tmp_path / "tool.pid"
    runner = textwrap.dedent(f"""
        import asyncio, os
        from services.media.adapters import ffmpeg

        async def main():
            tool = ffmpeg.binaries()[0]
            args = [tool, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:duration=3600",
                    "-f", "null", "-"]
            task = asyncio.create_task(ffmpeg.run_tool(args, time_limit=3600))
            while True:
                await asyncio.sleep(0.1)
                for entry in os.listdir("/proc"):
                    if entry.isdigit():
                        try:
                            stat = open(f"/proc/{{entry}}/stat").read()
                        except OSError:
                            continue
                        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                            open({str(pid_file)!r}, "w").write(entry)
                            await task

        asyncio.run(main())
    """)
    worker = subprocess.Popen([sys.executable, "-c", runner], cwd=Path(__file__).parents[2],
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the tool did not start"
            time.sleep(0.1)
        tool = int(pid_file.read_text())
        assert _running(tool)
        os.kill(worker.pid, signal.SIGKILL)  # no handler runs: only the kernel can stop the tool now
        worker.wait(10)
        deadline = time.monotonic() + 10
        while _running(tool):
            assert time.monotonic() < deadline, "the tool outlived its process"
            time.sleep(0.1)
    finally:
        if worker.poll() is None:
            worker.kill()
