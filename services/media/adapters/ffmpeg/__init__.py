"""The hardened ffmpeg/ffprobe runner: probes uploads, turns them into HLS, a progressive MP4, a poster, thumbnails.

An upload is hostile until proven otherwise. Every run forces a whitelisted demuxer, allows the `file` protocol only,
caps the picture size, reads nothing on stdin, runs at lowered priority in its own process group and is killed with
that group when its time runs out, or at once when its worker dies (even by SIGKILL). Outputs are written only
inside the caller's workdir.

What lives where, by step:
  common       names of the outputs, limits and time factors, the errors, `Renditions`, `binaries()`, checks
  commands     building the ffmpeg/ffprobe argument lists (probe, remux, transcode, HLS, poster, thumbnails,
               frames, audio packets and levels, edges) and the input/output hardening options
  running      running one tool: `run_tool`, `Pausable`, progress, time limits, failure classification
  probing      reading an upload: `parse_probe`, `probe`, `scan_frames`, `measure_signals`
  hls          the HLS master playlist, from each encoded rung read back
  transcoding  the pipelines: `remux`, `transcode`, `package_encoded`

This package re-exports the names used elsewhere; the rest is imported from its module.
"""

from .commands import (
    input_options,
    input_url,
    output_options,
    rung_video_options,
    thread_options,
    transcode_command,
    transcode_outputs,
)
from .common import (
    PROGRESSIVE_NAME,
    REMUX_TIMEOUT_FACTOR,
    RUNGS_DIR_NAME,
    TRANSCODE_TIMEOUT_FACTOR,
    MediaRejected,
    MediaTimeout,
    MediaToolError,
    ProgressCallback,
    Renditions,
    binaries,
    encode_timeout,
)
from .probing import measure_signals, probe, scan_frames
from .running import Pausable, run_tool
from .transcoding import package_encoded, remux, transcode

__all__ = [
    "PROGRESSIVE_NAME", "REMUX_TIMEOUT_FACTOR", "RUNGS_DIR_NAME", "TRANSCODE_TIMEOUT_FACTOR",
    "MediaRejected", "MediaTimeout", "MediaToolError", "Pausable", "ProgressCallback", "Renditions",
    "binaries", "encode_timeout", "input_options", "input_url", "measure_signals", "output_options",
    "package_encoded", "probe", "remux", "rung_video_options", "run_tool", "scan_frames", "thread_options",
    "transcode", "transcode_command", "transcode_outputs",
]
