"""The HLS master playlist: each rung's codecs, size and frame rate read back from its encoded MP4, its bandwidth
measured over its segments."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .commands import stream_tags_command
from .common import MASTER_NAME, MEDIA_PLAYLIST_NAME, PROBE_TIMEOUT_SECONDS, MediaToolError
from .probing import _int_or_none, _rate
from .running import _failure, run_tool

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
