"""Short generated media for tests and benchmarks: ffmpeg lavfi sources, made once per run."""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.media.adapters.ffmpeg import binaries


def make_clip(path: Path, *, seconds: float, size: str = "1280x720", rate: int = 25, vcodec: str = "libx264",
              video_bitrate: str = "1500k", acodec: str = "aac", audio_bitrate: str = "160k", fmt: str = "mp4",
              extra: tuple[str, ...] = ()) -> Path:
    if path.exists():
        return path
    ffmpeg, _ = binaries()
    command = [
        ffmpeg, "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", vcodec, "-b:v", video_bitrate, "-pix_fmt", "yuv420p",
        "-c:a", acodec, "-b:a", audio_bitrate, "-ac", "2", "-ar", "48000",
        *extra, "-f", fmt, str(path),
    ]
    if vcodec == "libx264":
        command[command.index("-pix_fmt"):command.index("-pix_fmt")] = ["-preset", "ultrafast", "-g", "50"]
    subprocess.run(command, check=True, timeout=300)
    return path


def compliant_720p(folder: Path, seconds: float = 6) -> Path:
    """H.264 ≥ 1024 kbps, 1280×720, 25 fps, AAC 160 kbps 48 kHz stereo: only remuxed."""
    return make_clip(folder / f"compliant-{seconds}.mp4", seconds=seconds)


def low_resolution_mpeg4(folder: Path, seconds: float = 4) -> Path:
    """MPEG-4 Part 2 at 640×360 in a MOV: transcoded, and never upscaled."""
    return make_clip(folder / f"lowres-{seconds}.mov", seconds=seconds, size="640x360", vcodec="mpeg4",
                     video_bitrate="800k", fmt="mov")


def long_mpeg4_720p(folder: Path, seconds: float = 20) -> Path:
    """A 720p source that needs transcoding and takes a worker several seconds."""
    return make_clip(folder / f"long-{seconds}.mov", seconds=seconds, size="1280x720", vcodec="mpeg4",
                     video_bitrate="2000k", fmt="mov")


def sparse_mkv(folder: Path, second_frame_at: float = 300) -> Path:
    """Two 720p frames in an MKV, the second stamped `second_frame_at` seconds in: a few hundred KB that an
    encoder would stretch into minutes of repeated pictures."""
    path = folder / f"sparse-{second_frame_at:g}.mkv"
    if path.exists():
        return path
    ffmpeg, _ = binaries()
    subprocess.run([
        ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
        "-frames:v", "2", "-vf", f"setpts='if(eq(N,1),{second_frame_at}/TB,PTS)'", "-fps_mode", "passthrough",
        "-c:v", "libx264", "-preset", "ultrafast", "-f", "matroska", str(path),
    ], check=True, timeout=120)
    return path


def long_slideshow_mkv(folder: Path, seconds: int = 1260, interval: int = 5) -> Path:
    """A real video longer than the 20-minute maximum, kept tiny: one frame every `interval` seconds."""
    path = folder / f"slides-{seconds}.mkv"
    if path.exists():
        return path
    ffmpeg, _ = binaries()
    subprocess.run([
        ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "lavfi",
        "-i", f"testsrc2=size=320x180:rate=1/{interval}:duration={seconds}",
        "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "ultrafast", "-f", "matroska", str(path),
    ], check=True, timeout=120)
    return path


def _make(path: Path, *args: str) -> Path:
    if path.exists():
        return path
    ffmpeg, _ = binaries()
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", *args, str(path)], check=True, timeout=120)
    return path


# Speech-like sound: a tone for half of every second, then a pause holding only a noise floor of `noise`
# (peak amplitude, 1.0 = full scale). 0.001 is about 58 dB below the tone, 0.02 about 33 dB.
def _speech_like(noise: float) -> str:
    return (f"aevalsrc='if(lt(mod(t,1),0.5),0.3*sin(2*PI*440*t),0)+{noise}*(random(0)-0.5)'"
            ":s=48000:c=stereo")


def speech_like(folder: Path, *, noise: float, seconds: float = 6, audio_bitrate: str = "128k") -> Path:
    """A small 25 fps H.264 picture with speech-like AAC sound at a constant rate and the given noise floor."""
    return _make(folder / f"speech-{noise:g}-{seconds:g}-{audio_bitrate}.mp4",
                 "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}",
                 "-f", "lavfi", "-i", f"{_speech_like(noise)}:d={seconds}",
                 "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-b:a", audio_bitrate, "-ar", "48000", "-shortest")


def switching_audio_rate(folder: Path, seconds: float = 3) -> Path:
    """`seconds` at 64 kbps, then `seconds` at 192 kbps, in one AAC stream: an audio rate that is not constant."""
    path = folder / f"switching-{seconds:g}.mp4"
    if path.exists():
        return path
    low, high = speech_like(folder, noise=0.001, seconds=seconds, audio_bitrate="64k"), \
        speech_like(folder, noise=0.001, seconds=seconds, audio_bitrate="192k")
    listing = folder / f"switching-{seconds:g}.txt"
    listing.write_text(f"file '{low}'\nfile '{high}'\n")
    return _make(path, "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy")


def intro_and_outro(folder: Path, *, black: float, moving: float, still: float) -> Path:
    """`black` seconds of black, `moving` seconds of moving test picture, `still` seconds of one still colour."""
    return _make(folder / f"intro-{black:g}-{moving:g}-{still:g}.mp4",
                 "-f", "lavfi", "-i", f"color=black:s=320x240:r=25:d={black}",
                 "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=25:d={moving}",
                 "-f", "lavfi", "-i", f"color=0x2050a0:s=320x240:r=25:d={still}",
                 "-f", "lavfi", "-i", f"{_speech_like(0.001)}:d={black + moving + still}",
                 "-filter_complex", "[0][1][2]concat=n=3:v=1:a=0[v]", "-map", "[v]", "-map", "3:a",
                 "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k")


def sd_576(folder: Path, *, vcodec: str = "mpeg4", fmt: str = "mov", seconds: float = 4) -> Path:
    """A 720×576 (PAL SD) source: MPEG-4 Part 2 in a MOV needs transcoding; H.264 at 800 kbps in FLV meets
    Changsha's SD grade."""
    name = f"sd576-{vcodec}-{seconds:g}.{fmt}"
    return make_clip(folder / name, seconds=seconds, size="720x576", vcodec=vcodec, video_bitrate="800k",
                     audio_bitrate="128k", fmt=fmt)
