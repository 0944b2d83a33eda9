"""Reading uploaded lists from CSV (UTF-8 or GB18030, as Excel in China saves them) and XLSX, and
writing CSV/XLSX exports whose cells are never live formulas.

An uploaded file is hostile until read: parsing streams row by row off the event loop (`read_rows` runs it in
a parser process of bounded memory), stops as soon as the row limit is passed, and an XLSX archive is measured
(entries, uncompressed size, compression ratio) before any XML is parsed.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import functools
import io
import multiprocessing
import os
import resource
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException

from servicekit.errors import InvalidArgument

MAX_ROWS = 50_000             # data rows; the header comes on top
MAX_COLUMNS = 64              # non-empty cells a row may reach
MAX_CELL_CHARS = 4_000
# An XLSX is a zip of XML. A 50,000-row list of a few columns inflates to ~30 MB; a file that
# claims much more, or compresses far better than real sheets do, is a bomb and is refused unread.
MAX_XLSX_ENTRIES = 1_000
MAX_XLSX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_XLSX_RATIO = 100          # uncompressed / compressed, for entries above RATIO_FLOOR_BYTES
RATIO_FLOOR_BYTES = 1024 * 1024
CSV_DECODE_CHUNK = 64 * 1024

PARSER_PROCESSES = 2
PARSER_MEMORY_BYTES = 1024 * 1024 * 1024  # address space of a parser process
T = TypeVar("T")

# OWASP CSV injection: a cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _rows(rows: list[list[str]]) -> list[list[str]]:
    return rows


async def read_rows(filename: str, content: bytes, then: Callable[[list[list[str]]], T] = _rows) -> T:
    """All rows as text cells, the header first, or what `then` (a module-level function, run beside the parser)
    makes of them. Parsing runs in a separate process so the service's event loop keeps serving: in a thread,
    openpyxl's pure-Python parsing competes for the GIL the loop needs (bench/imports.py measures sign-ins).
    Refuses what is not a CSV or XLSX file, a file over the row limit and archive bombs."""
    loop = asyncio.get_running_loop()
    for attempt in (1, 2):
        try:
            return await loop.run_in_executor(_parsers(), _parse_then, filename, content, then)
        except BrokenProcessPool:
            _parsers.cache_clear()  # a parser died (killed, out of memory): the next file gets fresh ones
            if attempt == 2:
                break
    raise InvalidArgument("the file could not be read within the platform's limits (its parser stopped); "
                          "check it, or split it into smaller files")


def _parse_then(filename: str, content: bytes, then: Callable[[list[list[str]]], T]) -> T:
    return then(parse_rows(filename, content))


@functools.cache
def _parsers() -> ProcessPoolExecutor:
    """Parser processes, started on first use: spawned (never forked from a process running an event loop and
    threads), at most PARSER_PROCESSES files at a time per service."""
    return ProcessPoolExecutor(max_workers=PARSER_PROCESSES, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_lower_priority, initargs=(PARSER_MEMORY_BYTES,))


def _lower_priority(memory_bytes: int) -> None:  # pragma: no cover - runs in the parser process
    os.nice(10)  # the service's own requests come first on a busy machine
    # Bounded memory: past it the parser gets a MemoryError (a 400 for the file), not the machine's memory. The
    # cap comes from the service's process (a spawned parser imports this module afresh).
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard))


def parse_rows(filename: str, content: bytes) -> list[list[str]]:
    """`read_rows` on the calling thread: for code already off the event loop, and tests."""
    if not content:
        raise InvalidArgument("the file is empty")
    name = filename.lower()
    if name.endswith(".csv"):
        rows = _read_csv(content)
    elif name.endswith(".xlsx"):
        rows = _read_xlsx(content)
    else:
        raise InvalidArgument("send a .csv or .xlsx file")
    try:
        return _bounded(rows)
    except MemoryError:
        # Raised outside this block: the rows read so far go with the MemoryError's traceback, so the parser
        # has the memory to send its refusal back (else it dies doing so, and the file is parsed again).
        pass
    raise InvalidArgument("the file needs more memory to read than the platform allows; split it")


def _too_many_rows() -> InvalidArgument:
    return InvalidArgument(f"a file has at most {MAX_ROWS} rows; split it")


def _bounded(rows: Iterable[list[str]]) -> list[list[str]]:
    """Collects rows until the limit is passed, then stops reading: the rest of the file is never parsed."""
    collected: list[list[str]] = []
    for line, row in enumerate(rows, start=1):
        if line > MAX_ROWS + 1:
            raise _too_many_rows()
        while row and not row[-1]:
            row.pop()  # spreadsheet programs save trailing empty cells
        if len(row) > MAX_COLUMNS:
            raise InvalidArgument(f"line {line} has more than {MAX_COLUMNS} columns")
        if any(len(cell) > MAX_CELL_CHARS for cell in row):
            raise InvalidArgument(f"line {line} has a cell longer than {MAX_CELL_CHARS} characters")
        collected.append(row)
    return collected


# ---- CSV --------------------------------------------------------------------------------


def _read_csv(content: bytes) -> Iterator[list[str]]:
    encoding = _csv_encoding(content)
    reader = csv.reader(_decoded_lines(content, encoding))
    try:
        for row in reader:
            yield [cell.strip() for cell in row]
    except csv.Error as error:
        raise InvalidArgument(f"the CSV file cannot be read: line {reader.line_num}: {error}") from error


def _csv_encoding(content: bytes) -> str:
    """UTF-8 if the whole file decodes as UTF-8, else GB18030; checked incrementally, never copied whole."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(content), CSV_DECODE_CHUNK):
                if "\x00" in decoder.decode(content[start:start + CSV_DECODE_CHUNK]):
                    raise InvalidArgument("the CSV file is not text")
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise InvalidArgument("the CSV file is neither UTF-8 nor GB18030 text")


def _decoded_lines(content: bytes, encoding: str) -> Iterator[str]:
    with io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="") as text:
        yield from text


# ---- XLSX -------------------------------------------------------------------------------


def check_xlsx_archive(content: bytes) -> None:
    """Refuses an XLSX whose zip would inflate too far, before any XML is parsed.

    zipfile never inflates an entry past the size its directory declares, so the declared sizes
    checked here bound what the parser can read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        raise InvalidArgument(f"the XLSX file is not a readable zip archive: {error}") from error
    if len(entries) > MAX_XLSX_ENTRIES:
        raise InvalidArgument(f"the XLSX file holds {len(entries)} parts, more than {MAX_XLSX_ENTRIES}")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise InvalidArgument(f"the XLSX file inflates to {total} bytes, more than the "
                              f"{MAX_XLSX_UNCOMPRESSED_BYTES} allowed; split it")
    for entry in entries:
        if entry.file_size > RATIO_FLOOR_BYTES and entry.file_size > MAX_XLSX_RATIO * max(entry.compress_size, 1):
            raise InvalidArgument(f"the XLSX file's {entry.filename} is compressed "
                                  f"{entry.file_size // max(entry.compress_size, 1)}:1, far more than real "
                                  "spreadsheets are; it is refused as an archive bomb")


def _read_xlsx(content: bytes) -> Iterator[list[str]]:
    check_xlsx_archive(content)
    from openpyxl import load_workbook

    # openpyxl parses with defusedxml when it is installed (pinned): entity and DTD tricks are refused.
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - any failure to read an uploaded file is the file's fault
        raise _unreadable(error) from error
    try:
        if not workbook.worksheets:
            raise InvalidArgument("the XLSX file has no worksheet")
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as error:  # noqa: BLE001
                raise _unreadable(error) from error
            yield [_cell_text(value) for value in row]
    finally:
        workbook.close()


def _unreadable(error: BaseException) -> InvalidArgument:
    cause: BaseException | None = error
    while cause is not None:  # openpyxl wraps the parser's error in its own ValueError
        if isinstance(cause, DefusedXmlException):
            return InvalidArgument("the XLSX file's XML declares entities or a DTD, which the platform refuses; "
                                   "save it again from a spreadsheet program")
        if isinstance(cause, SyntaxError | ExpatError):  # xml.etree's ParseError is a SyntaxError
            return InvalidArgument(f"the XLSX file's XML is malformed ({cause}); save it again from a spreadsheet "
                                   "program")
        cause = cause.__cause__ or cause.__context__
    return InvalidArgument(f"the XLSX file cannot be read ({type(error).__name__}: {error})"[:300])


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # numbers typed into Excel come back as floats
    return str(value).strip()


# ---- writing ----------------------------------------------------------------------------


def neutralise(value: object) -> object:
    """A user's text as an inert cell: text starting like a formula gets a leading `'` (OWASP CSV injection).
    Numbers, dates and empty cells are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _safe(rows: Iterable[Iterable[object]]) -> Iterator[list[object]]:
    for row in rows:
        yield [neutralise(value) for value in row]


def xlsx_rows(headers: list[str], rows: list[list]) -> bytes:
    """A one-sheet workbook: the header row, then the rows; no cell is a formula."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in _safe([headers, *rows]):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_rows(headers: list[str], rows: list[list]) -> bytes:
    """UTF-8 CSV with a BOM (so Excel reads it as UTF-8): the header row, then the rows; no cell is a formula."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(_safe([headers, *rows]))
    return ("\ufeff" + buffer.getvalue()).encode()


def xlsx_template(headers: list[str], example: list[str]) -> bytes:
    """A template to fill in: the header row and one example row."""
    return xlsx_rows(headers, [example])


def table_file(stem: str, headers: list[str], rows: list[list], fmt: str) -> tuple[str, str, bytes]:
    """(filename, content type, bytes) of an export as CSV or XLSX; any other format is refused."""
    if fmt == "xlsx":
        return (f"{stem}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                xlsx_rows(headers, rows))
    if fmt != "csv":
        raise InvalidArgument("format is csv or xlsx", reason="BAD_FORMAT")
    return f"{stem}.csv", "text/csv; charset=utf-8", csv_rows(headers, rows)
