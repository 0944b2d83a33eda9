"""Running the tools: started through `_launcher` (dies with the worker, lowered priority), in its own process
group, killed with it when its time runs out or its caller is cancelled; pausable by a more urgent job; progress
read from `-progress`; a failed run classified as the input's fault (MediaRejected) or a passing one
(MediaToolError)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import re
import resource
import shutil
import signal
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .common import (
    MAX_HEIGHT,
    MAX_STDOUT_BYTES,
    MAX_WIDTH,
    PROGRESS_INTERVAL_SECONDS,
    STDERR_TAIL_LINES,
    MediaRejected,
    MediaTimeout,
    MediaToolError,
    ProgressCallback,
)

# ---------------------------------------------------------------------------------------------- the runner


@functools.cache
def _launcher() -> tuple[str, ...]:
    """What every tool is started through: the tool dies with the worker (even a SIGKILLed one, whose process
    group the tool has left: `setpriv --pdeathsig`), at lowered priority (`nice`).

    Not a `preexec_fn`: Python code between fork and exec in a process with gRPC's threads lets gRPC's fork
    handlers run in the child, which then wrote epoll errors into the tool's stderr and failed the probe now
    and then. Without it, subprocess starts the tool with vfork and nothing of ours runs in the child. Core
    dumps are off for this process and so for its tools, from the first tool on."""
    _no_core_dumps()
    prefix: list[str] = []
    setpriv = shutil.which("setpriv")  # util-linux: on every Debian-based machine and image
    if setpriv:
        prefix += [setpriv, "--pdeathsig", "KILL", "--"]
    else:  # pragma: no cover - not Linux/util-linux
        warnings.warn("setpriv not found: a killed worker's ffmpeg would outlive it", stacklevel=1)
    nice = shutil.which("nice")
    if nice:
        prefix += [nice, "-n", "10"]
    return tuple(prefix)


@functools.cache
def _executable(tool: str) -> bool:
    return shutil.which(tool) is not None


def _no_core_dumps() -> None:
    """A crashing tool (a hostile file) leaves no core file in scratch; its children inherit the limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))


def _kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # start_new_session made the child its group's leader
    except (ProcessLookupError, PermissionError):
        pass


class _Progress:
    """Reports one monotonic 0..1 fraction for a whole operation, at most every PROGRESS_INTERVAL_SECONDS."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.last = 0.0
        self.last_at = 0.0

    async def report(self, fraction: float, *, force: bool = False) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if self.callback is None or fraction <= self.last:
            return
        now = time.monotonic()
        if not force and now - self.last_at < PROGRESS_INTERVAL_SECONDS:
            return
        self.last, self.last_at = fraction, now
        result = self.callback(fraction)
        if inspect.isawaitable(result):
            await result

    def phase(self, start: float, end: float) -> Callable[[float], Awaitable[None]]:
        async def report(fraction: float) -> None:
            await self.report(start + (end - start) * fraction)
        return report


_OUT_TIME = re.compile(rb"^out_time_(us|ms)=(\d+)$")


@dataclass
class _Completed:
    returncode: int
    stdout: bytes
    stderr_tail: str


class Pausable:
    """The running tool of a job that may wait: a more urgent job stops it (SIGSTOP to its process group) and lets it
    go on after (SIGCONT); the time stopped does not count against the tool's time limit. One job at a time."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._paused_at: float | None = None
        self._paused_total = 0.0

    def attach(self, process: asyncio.subprocess.Process) -> None:
        self._process, self._paused_total = process, 0.0
        if self._paused_at is not None:
            self._paused_at = time.monotonic()
            self._signal(signal.SIGSTOP)

    def detach(self) -> None:
        self._process = None

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.monotonic()
            self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_total += time.monotonic() - self._paused_at
            self._paused_at = None
            self._signal(signal.SIGCONT)

    def paused_seconds(self) -> float:
        now = time.monotonic()
        return self._paused_total + (now - self._paused_at if self._paused_at is not None else 0.0)

    def _signal(self, number: int) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, number)


async def _within(work: Awaitable[int], time_limit: float, pausable: Pausable | None) -> int:
    """`work`'s result, or TimeoutError after `time_limit` seconds not counting the time the tool was paused."""
    if pausable is None:
        return await asyncio.wait_for(work, time_limit)
    started = time.monotonic()
    task = asyncio.ensure_future(work)
    try:
        while True:
            remaining = time_limit + pausable.paused_seconds() - (time.monotonic() - started)
            if remaining <= 0:
                raise TimeoutError
            done, _ = await asyncio.wait({task}, timeout=min(remaining, 1.0))
            if done:
                return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def run_tool(args: Sequence[str], *, time_limit: float, duration: float | None = None,
                   on_progress: Callable[[float], Awaitable[None]] | None = None,
                   on_line: Callable[[bytes], None] | None = None, pausable: Pausable | None = None) -> _Completed:
    """Run one ffmpeg/ffprobe as an argument list; kill its process group after `time_limit` seconds.

    With `on_progress` and `duration`, stdout is read as `-progress` lines and turned into fractions of `duration`;
    With `on_line`, each stdout line goes to it as it comes (it may raise to stop the tool); otherwise stdout
    is collected (up to MAX_STDOUT_BYTES). Raises MediaTimeout (process group killed) or
    MediaToolError when the binary cannot start; a nonzero exit is returned for the caller to classify.
    """
    name = Path(args[0]).name
    if not _executable(args[0]):  # the launcher would report it only as the tool's exit code
        raise MediaToolError(f"cannot start {name}: not found or not executable")
    try:
        process = await asyncio.create_subprocess_exec(
            *_launcher(), *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
    except OSError as error:
        raise MediaToolError(f"cannot start {name}: {error}") from error
    assert process.stdout is not None and process.stderr is not None
    stdout = bytearray()
    stderr = bytearray()

    async def read_stdout() -> None:
        pending = b""
        while chunk := await process.stdout.read(65536):
            if on_line is not None:
                *lines, pending = (pending + chunk).split(b"\n")
                if len(pending) > 4096:
                    raise MediaRejected(f"{name} printed a line longer than 4096 bytes")
                for line in lines:
                    on_line(line)
                continue
            if on_progress is None or not duration:
                if len(stdout) + len(chunk) > MAX_STDOUT_BYTES:
                    raise MediaRejected(f"{name} produced more than {MAX_STDOUT_BYTES} bytes of output")
                stdout.extend(chunk)
                continue
            *lines, pending = (pending + chunk).split(b"\n")
            pending = pending[-4096:]
            for line in lines:
                line = line.strip()
                if match := _OUT_TIME.match(line):
                    await on_progress(int(match.group(2)) / 1_000_000 / duration)
        if on_line is not None and pending.strip():
            on_line(pending)

    async def read_stderr() -> None:
        while chunk := await process.stderr.read(65536):
            stderr.extend(chunk)
            del stderr[:-16384]

    async def complete() -> int:
        await asyncio.gather(read_stdout(), read_stderr())
        return await process.wait()

    if pausable is not None:
        pausable.attach(process)
    try:
        returncode = await _within(complete(), time_limit, pausable)
    except TimeoutError:
        _kill_group(process)
        await process.wait()
        raise MediaTimeout(f"{name} did not finish within {time_limit:g} s and was killed; last output: "
                           f"{_tail(stderr) or '(none)'}", time_limit) from None
    finally:
        if pausable is not None:
            pausable.detach()
        if process.returncode is None:  # cancelled, or a progress callback failed: never leave ffmpeg running
            _kill_group(process)
            await process.wait()
    return _Completed(returncode, bytes(stdout), _tail(stderr))


_LOG_PREFIX = re.compile(r"^(\[[^\]]* @ 0x[0-9a-f]+\] ?)+")


def _tail(stderr: bytes | bytearray) -> str:
    """The last distinct lines of stderr, without ffmpeg's `[h264 @ 0x...]` prefixes."""
    lines: list[str] = []
    for raw in bytes(stderr).decode("utf-8", "replace").splitlines():
        line = _LOG_PREFIX.sub("", raw.strip())
        if line and line not in lines[-STDERR_TAIL_LINES:]:
            lines.append(line)
    return " | ".join(lines[-STDERR_TAIL_LINES:])


_MACHINE_FAILURES = ("No space left on device", "Disk quota exceeded", "Cannot allocate memory",
                     "Read-only file system")
_INPUT_FAILURES = ("Invalid data found", "moov atom not found", "exceeds specified max pixel count",
                   "not on whitelist", "EBML header parsing failed", "could not find codec parameters",
                   "Error while decoding", "Decoding error", "error while decoding", "Invalid NAL",
                   "Could not find codec", "Error opening input", "no frame!", "Unknown format")


def _failure(label: str, completed: _Completed, *, input_is_suspect: bool) -> Exception:
    tail = completed.stderr_tail or f"exit status {completed.returncode}"
    if any(marker in tail for marker in _MACHINE_FAILURES):
        return MediaToolError(f"{label} failed: {tail}")
    if "exceeds specified max pixel count" in tail:
        return MediaRejected(f"the picture is larger than the limit of {MAX_WIDTH}×{MAX_HEIGHT} pixels ({tail})")
    if input_is_suspect or any(marker in tail for marker in _INPUT_FAILURES):
        return MediaRejected(f"{label}: {tail}")
    return MediaToolError(f"{label} failed: {tail}")


async def _run_ffmpeg(label: str, args: list[str], *, time_limit: float, duration: float | None = None,
                      on_progress: Callable[[float], Awaitable[None]] | None = None,
                      pausable: Pausable | None = None) -> None:
    completed = await run_tool(args, time_limit=time_limit, duration=duration, on_progress=on_progress,
                               pausable=pausable)
    if completed.returncode != 0:
        raise _failure(label, completed, input_is_suspect=False)


async def _together(*steps: Awaitable) -> list:
    """Like gather, but when one step fails the others are cancelled, which kills their ffmpeg."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
