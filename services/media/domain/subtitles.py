"""SRT subtitles: decoding, parsing, the checks a subtitle file must pass, its canonical UTF-8 form, and the WebVTT
form browsers play (<track> and hls.js read WebVTT, not SRT)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from servicekit.text import to_simplified

# Chinese and English are separate tracks, one SRT file each.
LANGUAGES = {"zh": "中文", "en": "English"}

# A cue may end a little after the video does: encoders and players round the last frame differently.
END_AFTER_VIDEO_SLACK = 0.5

UTF8_BOM = b"\xef\xbb\xbf"

_TIME = r"(\d{1,3}):(\d{2}):(\d{2})[,.](\d{3})"
# Some editors append position hints ("X1:40 X2:600 ...") after the end time; they are accepted and dropped.
TIMING_LINE = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?\s*$")
_CUE_NUMBER = re.compile(r"^\s*\d+\s*$")


@dataclass(frozen=True)
class Cue:
    index: int  # the number the file gave the cue
    start: float  # seconds
    end: float  # seconds
    text: str  # lines joined with "\n"


@dataclass(frozen=True)
class SubtitleProblem:
    line: int  # 1-based line in the file
    reason: str


@dataclass(frozen=True)
class TraditionalLine:
    line: int                         # 1-based line in the file
    characters: tuple[tuple[str, str], ...]  # (traditional as written, its simplified form), in order, no repeats


def traditional_lines(data: bytes) -> list[TraditionalLine]:
    """The lines holding traditional characters, each with what they are in simplified characters.

    Each line is converted to simplified characters; the characters the conversion changes are the traditional
    ones. Cue numbers and timings are digits and punctuation, which the conversion leaves alone. Raises
    ValueError when the bytes are neither UTF-8 nor GB18030."""
    convert = to_simplified
    found = []
    text = decode_text(data).lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    for number, line in enumerate(text.split("\n"), 1):
        simplified = convert(line)
        if simplified == line:
            continue
        changed: list[tuple[str, str]] = []
        if len(simplified) == len(line):
            pairs = [(a, b) for a, b in zip(line, simplified, strict=True) if a != b]
        else:  # a phrase converted to one of another length: name the whole line's difference
            pairs = [(line.strip(), simplified.strip())]
        for pair in pairs:
            if pair not in changed:
                changed.append(pair)
        found.append(TraditionalLine(number, tuple(changed)))
    return found


def describe_traditional(lines: list[TraditionalLine], most: int = 10) -> str:
    """"line 3: 這→这, 裡→里; line 7: 們→们" (the first `most` lines, then how many more)."""
    shown = "; ".join(f"line {found.line}: " + ", ".join(f"{old}→{new}" for old, new in found.characters)
                      for found in lines[:most])
    more = len(lines) - most
    return shown + (f"; and {more} more line(s)" if more > 0 else "")


def decode_text(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GB18030; anything else is refused."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise ValueError("subtitle text is neither UTF-8 nor GB18030")


def looks_like_srt(text: str) -> bool:
    """The first non-empty line is a cue number and the line after it a timing line."""
    lines = text.lstrip("\ufeff").splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or first + 1 >= len(lines):
        return False
    return bool(_CUE_NUMBER.match(lines[first]) and TIMING_LINE.match(lines[first + 1]))


def parse_srt(data: bytes, video_duration: float | None = None) -> tuple[list[Cue], list[SubtitleProblem], str]:
    """Parse SRT bytes into cues, the problems found (with their line numbers) and canonical UTF-8 SRT text.

    The canonical text numbers the cues 1, 2, 3 ..., uses "," before milliseconds and "\\n" line endings.
    Raises ValueError when the bytes are neither UTF-8 nor GB18030.
    """
    lines = decode_text(data).lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues: list[Cue] = []
    problems: list[SubtitleProblem] = []

    for first_line, block in _blocks(lines):
        cue = _parse_block(first_line, block, problems)
        if cue is None:
            continue
        timing_line = first_line + 1
        if cue.end <= cue.start:
            problems.append(SubtitleProblem(timing_line, f"cue {cue.index} ends at or before its start"))
        if cues and cue.start < cues[-1].start:
            problems.append(
                SubtitleProblem(timing_line, f"cue {cue.index} starts before the cue before it (timings not in order)")
            )
        elif cues and cue.start < cues[-1].end:
            problems.append(SubtitleProblem(timing_line, f"cue {cue.index} overlaps the cue before it"))
        if video_duration is not None and cue.end > video_duration + END_AFTER_VIDEO_SLACK:
            problems.append(
                SubtitleProblem(
                    timing_line,
                    f"cue {cue.index} ends at {format_time(cue.end)}, after the video ({format_time(video_duration)})",
                )
            )
        cues.append(cue)

    if not any(line.strip() for line in lines):
        problems.append(SubtitleProblem(1, "the file is empty"))
    elif not cues:
        problems.append(SubtitleProblem(1, "no cues found"))
    return cues, problems, serialize_srt(cues)


def serialize_srt(cues: list[Cue]) -> str:
    blocks = (f"{n}\n{format_time(c.start)} --> {format_time(c.end)}\n{c.text}" for n, c in enumerate(cues, 1))
    return "".join(block.rstrip("\n") + "\n\n" for block in blocks)


def format_time(seconds: float, separator: str = ",") -> str:
    """Seconds as SRT's HH:MM:SS,mmm (WebVTT's HH:MM:SS.mmm with separator "."); hours take more digits past 99."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


WEBVTT_CONTENT_TYPE = "text/vtt; charset=utf-8"
# SRT's styling tags WebVTT shares; others (<font color=...>, <span ...>) are dropped, their text kept.
_KEPT_TAG = re.compile(r"</?(?:i|b|u)>", re.IGNORECASE)
_ANY_TAG = re.compile(r"(</?[A-Za-z][^<>]*>)")
_ENTITY = re.compile(r"&(?:amp|lt|gt|nbsp|lrm|rlm|#\d+|#x[0-9A-Fa-f]+);")


def to_webvtt(cues: list[Cue]) -> str:
    """Cues as a WebVTT file: the WEBVTT header, cues numbered 1, 2, 3 ... as identifiers, "." before milliseconds,
    "\n" line endings, cue text escaped so it reads as text (a "-->" or a stray "<" or "&" in it cannot end or
    break the cue)."""
    blocks = (f"{n}\n{format_time(c.start, '.')} --> {format_time(c.end, '.')}\n{_webvtt_text(c.text)}"
              for n, c in enumerate(cues, 1))
    return "WEBVTT\n\n" + "".join(block.rstrip("\n") + "\n\n" for block in blocks)


def srt_to_webvtt(data: bytes) -> str:
    """An SRT file (UTF-8 with or without a BOM, or GB18030; CRLF, CR or LF) as WebVTT. Cues the checks would refuse
    are dropped, never guessed at: the stored SRT passed them when it was attached."""
    cues, _, _ = parse_srt(data)
    return to_webvtt(cues)


def _webvtt_text(text: str) -> str:
    return "\n".join(_webvtt_line(line) for line in text.split("\n"))


def _webvtt_line(line: str) -> str:
    """Tags WebVTT shares kept, others dropped, the text between escaped."""
    pieces = _ANY_TAG.split(line)  # text, tag, text, tag, ..., text
    out = []
    for position, piece in enumerate(pieces):
        if position % 2:
            out.append(piece.lower() if _KEPT_TAG.fullmatch(piece) else "")
        else:
            out.append(_escape_ampersands(piece).replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


def _escape_ampersands(line: str) -> str:
    out, position = [], 0
    for match in re.finditer("&", line):
        out.append(line[position:match.start()])
        out.append("&" if _ENTITY.match(line, match.start()) else "&amp;")
        position = match.end()
    out.append(line[position:])
    return "".join(out)


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines, each with the 1-based line number it starts on."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            if not current:
                blocks.append((number, current))
            current.append(line.rstrip())
        else:
            current = []
    return blocks


def _parse_block(first_line: int, block: list[str], problems: list[SubtitleProblem]) -> Cue | None:
    if not _CUE_NUMBER.match(block[0]):
        problems.append(SubtitleProblem(first_line, f"expected a cue number, found {block[0].strip()[:40]!r}"))
        return None
    index = int(block[0])
    if len(block) < 2:
        problems.append(SubtitleProblem(first_line, f"cue {index} has no timing line"))
        return None
    timing = TIMING_LINE.match(block[1])
    if timing is None:
        problems.append(
            SubtitleProblem(
                first_line + 1,
                f"cue {index}: expected 'HH:MM:SS,mmm --> HH:MM:SS,mmm', found {block[1].strip()[:60]!r}",
            )
        )
        return None
    start, end = _seconds(timing.groups()[:4]), _seconds(timing.groups()[4:])
    if start is None or end is None:
        problems.append(SubtitleProblem(first_line + 1, f"cue {index}: minutes and seconds must be below 60"))
        return None
    return Cue(index=index, start=start, end=end, text="\n".join(block[2:]))


def _seconds(parts: tuple[str | None, ...]) -> float | None:
    hours, minutes, secs, millis = (int(p or 0) for p in parts)
    if minutes >= 60 or secs >= 60:
        return None
    return (hours * 3_600_000 + minutes * 60_000 + secs * 1000 + millis) / 1000
