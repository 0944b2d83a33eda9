"""python -m bench.media_pipeline: the media runner's overhead over plain ffmpeg, and what remuxing saves.

1. `transcode()` (one encoding pass + HLS packaging + poster + thumbnails) against plain ffmpeg running the very
   same encoding command (`transcode_command`) on the same generated source; the ratio should stay <= 1.05.
2. For a compliant 720p H.264/AAC source: `remux()` against `transcode()`, and a 15-minute compliant lecture
   remuxed for real (built by joining copies of the generated clip with stream copy, which costs seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from services.media.adapters import ffmpeg as fx
from services.media.domain.encoding import DEFAULT_ENCODING, rungs_for

TARGET_RATIO = 1.05


def generate(ffmpeg: str, out: Path, seconds: float, size: str, fps: int, video_kbps: int) -> float:
    """A lavfi test card with a tone, H.264 (x264 ultrafast, 2 s GOP) + AAC 128k 48 kHz stereo; returns seconds."""
    started = time.perf_counter()
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                    "-t", f"{seconds:g}", "-ac", "2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-b:v", f"{video_kbps}k", "-maxrate", f"{video_kbps}k", "-bufsize", f"{video_kbps * 2}k",
                    "-g", str(fps * 2), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ar", "48000",
                    str(out)], check=True)
    return time.perf_counter() - started


def join_copies(ffmpeg: str, clip: Path, copies: int, out: Path) -> float:
    """`copies` × `clip` end to end by stream copy (the bench's own trusted files, so the concat demuxer is fine)."""
    listing = out.with_suffix(".txt")
    listing.write_text("ffconcat version 1.0\n" + f"file '{clip.name}'\n" * copies)
    started = time.perf_counter()
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "concat", "-i", str(listing), "-c", "copy",
                    str(out)], check=True, cwd=clip.parent)
    return time.perf_counter() - started


def ffmpeg_version(ffmpeg: str) -> str:
    first = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    return first.split(" Copyright")[0]


async def timed(coroutine) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = await coroutine
    return time.perf_counter() - started, result


async def plain_ffmpeg(command: list[str]) -> float:
    """The command as anyone would run it: no priority change, no time limit, progress thrown away."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.DEVNULL)
    if await process.wait() != 0:
        raise SystemExit(f"plain ffmpeg failed: {command}")
    return time.perf_counter() - started


def _times(values: list[float]) -> str:
    return " / ".join(f"{value:.1f}" for value in values) + " s"


def line(label: str, value: str) -> None:
    print(f"   {label:<62} {value}")


async def run(args: argparse.Namespace, root: Path) -> None:
    ffmpeg, _ = fx.binaries()
    print(f"media pipeline benchmark: {ffmpeg_version(ffmpeg)}, {os.cpu_count()} cores, "
          f"preset {DEFAULT_ENCODING.preset}")
    profile = DEFAULT_ENCODING

    # 1. transcode() against plain ffmpeg running the same one-pass ladder command
    source = root / "source.mp4"
    width, height = (int(n) for n in args.size.split("x"))
    generated = generate(ffmpeg, source, args.seconds, args.size, args.fps, video_kbps=8000)
    probe = await fx.probe(source, "mov")
    ladder = "/".join(rung.name for rung in rungs_for(profile, height))
    print(f"\n1. one encoding pass for the {ladder} ladder; source {args.seconds:g} s {width}x{height} "
          f"{args.fps} fps H.264/AAC (generated in {generated:.1f} s)")
    plain_times: list[float] = []
    our_times: list[float] = []
    post_encode: list[float] = []
    for round_number in range(args.rounds):  # alternate who goes first, so neither gets a warmer machine
        for contender in (("plain", "ours") if round_number % 2 == 0 else ("ours", "plain")):
            if contender == "plain":
                plain_dir = root / f"plain{round_number}"
                command = fx.transcode_command(source, "mov", probe, plain_dir, profile)
                for path in fx.transcode_outputs(plain_dir, profile, rungs_for(profile, height)).values():
                    path.parent.mkdir(parents=True, exist_ok=True)
                plain_times.append(await plain_ffmpeg(command))
            else:
                encoded_at: list[float] = []

                def note_encode_end(fraction: float, marks: list[float] = encoded_at) -> None:
                    if fraction >= 0.9 and not marks:  # transcode() reports 0.9 when the encoding pass ends
                        marks.append(time.perf_counter())

                elapsed, renditions = await timed(fx.transcode(source, "mov", probe, root / f"ours{round_number}",
                                                               profile, on_progress=note_encode_end))
                our_times.append(elapsed)
                post_encode.append(time.perf_counter() - encoded_at[0])
    plain, ours = min(plain_times), min(our_times)
    ratio = ours / plain
    rounds = f"best of {args.rounds}: " if args.rounds > 1 else ""
    line("plain ffmpeg, transcode_command() (encode only)",
         f"{plain:7.1f} s  ({args.seconds / plain:.2f}x realtime; {rounds}{_times(plain_times)})")
    line("transcode() (same encode + HLS packaging, poster, thumbnails)", f"{ours:7.1f} s  ({rounds}"
         f"{_times(our_times)})")
    line("   of which after the encoding pass (HLS, poster, thumbnails)", f"{min(post_encode):7.2f} s")
    line("ratio transcode() / plain ffmpeg", f"{ratio:7.3f}   target <= {TARGET_RATIO}: "
         f"{'PASS' if ratio <= TARGET_RATIO else 'MISS'}")
    line("renditions", ", ".join(renditions.rungs))

    # 2. a compliant 720p source: remux() against transcode()
    compliant = root / "compliant720.mp4"
    generated = generate(ffmpeg, compliant, args.seconds, "1280x720", args.fps, video_kbps=2000)
    probe = await fx.probe(compliant, "mov")
    print(f"\n2. compliant source: {args.seconds:g} s 1280x720 {args.fps} fps H.264 2 Mb/s + AAC 128k 48 kHz stereo "
          f"(generated in {generated:.1f} s)")
    remuxed, _ = await timed(fx.remux(compliant, "mov", probe, root / "remux", profile))
    transcoded, _ = await timed(fx.transcode(compliant, "mov", probe, root / "transcode720", profile))
    line("remux() (stream copy + HLS + poster + thumbnails)", f"{remuxed:7.2f} s")
    line("transcode() (360p/720p ladder)", f"{transcoded:7.2f} s")
    line("ratio remux() / transcode()", f"{remuxed / transcoded:7.3f}   ({transcoded / remuxed:.0f}x faster)")

    lecture = root / "lecture15.mp4"
    copies = max(1, round(args.lecture_minutes * 60 / args.seconds))
    joined = join_copies(ffmpeg, compliant, copies, lecture)
    probe = await fx.probe(lecture, "mov")
    measured, _ = await timed(fx.remux(lecture, "mov", probe, root / "remux15", profile))
    extrapolated = remuxed * probe.duration / args.seconds
    print(f"\n   a {probe.duration / 60:.1f}-minute compliant lecture ({copies} copies of the clip joined by stream "
          f"copy in {joined:.1f} s, {probe.size_bytes / 1e6:.0f} MB):")
    line("remux() measured", f"{measured:7.1f} s")
    line(f"extrapolated from the {args.seconds:g} s clip", f"{extrapolated:7.1f} s")
    print(f"   => a compliant {probe.duration / 60:.0f}-minute lecture is ready in ~{measured:.1f} s "
          f"(transcoding it would take ~{transcoded * probe.duration / args.seconds:.0f} s)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.media_pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the generated sources (60)")
    parser.add_argument("--size", default="1920x1080", help="size of the source for part 1 (1920x1080)")
    parser.add_argument("--fps", type=int, default=25, help="frame rate of the generated sources (25)")
    parser.add_argument("--lecture-minutes", type=float, default=15.0, help="length of the remuxed lecture (15)")
    parser.add_argument("--rounds", type=int, default=2, help="plain/ours pairs in part 1, order alternating (2)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and print where")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.keep:
        root = Path(tempfile.mkdtemp(prefix="media-bench-"))
        asyncio.run(run(args, root))
        print(f"\nfiles kept in {root}")
    else:
        with tempfile.TemporaryDirectory(prefix="media-bench-") as directory:
            asyncio.run(run(args, Path(directory)))
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
