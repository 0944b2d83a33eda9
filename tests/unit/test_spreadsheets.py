"""Uploaded lists are read in bounded time and memory; exported cells are never live formulas."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time
import zipfile

import pytest
from openpyxl import load_workbook

from servicekit import spreadsheets
from servicekit.errors import InvalidArgument
from servicekit.spreadsheets import csv_rows, neutralise, parse_rows, read_rows, xlsx_rows
from tests.spreadsheet_files import bomb_xlsx, xlsx


def test_csv_and_xlsx_read_as_text_rows() -> None:
    assert parse_rows("a.csv", "学号,姓名\n1, 王 \n".encode("gb18030")) == [["学号", "姓名"], ["1", "王"]]
    assert parse_rows("a.xlsx", xlsx([["n", "v"], [1.0, None], ["x", 2]])) == [["n", "v"], ["1"], ["x", "2"]]


def test_a_file_one_row_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 3)
    assert len(parse_rows("a.csv", b"h\n1\n2\n3\n")) == 4
    with pytest.raises(InvalidArgument, match="at most 3 rows"):
        parse_rows("a.csv", b"h\n1\n2\n3\n4\n")
    with pytest.raises(InvalidArgument, match="at most 3 rows"):
        parse_rows("a.xlsx", xlsx([["h"], [1], [2], [3], [4]]))


def test_reading_stops_as_soon_as_the_limit_is_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows after the limit are never parsed: a long file is refused as fast as a short one."""
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 100)
    parsed = 0
    original = spreadsheets._cell_text

    def counting(value: object) -> str:
        nonlocal parsed
        parsed += 1
        return original(value)

    monkeypatch.setattr(spreadsheets, "_cell_text", counting)
    with pytest.raises(InvalidArgument, match="at most 100 rows"):
        parse_rows("a.xlsx", xlsx([[i] for i in range(5_000)]))
    assert parsed <= 102


def test_an_xlsx_archive_bomb_is_refused_before_any_xml_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    content = bomb_xlsx(1_500_000)
    assert len(content) < 1024 * 1024
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: pytest.fail("the XML was parsed"))
    started = time.perf_counter()
    with pytest.raises(InvalidArgument, match="archive bomb|inflates to"):
        parse_rows("students.xlsx", content)
    assert time.perf_counter() - started < 1.0


def test_an_xlsx_over_the_uncompressed_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_XLSX_UNCOMPRESSED_BYTES", 10_000)
    with pytest.raises(InvalidArgument, match="inflates to"):
        parse_rows("a.xlsx", xlsx([["x" * 50] for _ in range(500)]))


def _with_sheet(xml: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx([["h"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item))
    return out.getvalue()


def test_an_xlsx_with_entity_declarations_is_a_clear_refusal() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row>'
              b'<c t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    with pytest.raises(InvalidArgument, match="entities or a DTD"):
        parse_rows("a.xlsx", _with_sheet(laughs))


def test_an_xlsx_with_malformed_xml_is_a_clear_refusal() -> None:
    with pytest.raises(InvalidArgument, match="malformed"):
        parse_rows("a.xlsx", _with_sheet(b"<worksheet><sheetData><row><c>"))
    with pytest.raises(InvalidArgument, match="not a readable zip"):
        parse_rows("a.xlsx", b"PK\x03\x04 not really a zip")


def test_csv_that_is_not_text_or_too_wide_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="not text"):
        parse_rows("a.csv", b"a,b\n\x00\x00\n")
    with pytest.raises(InvalidArgument, match="neither UTF-8 nor GB18030"):
        parse_rows("a.csv", b"\xff\xfe\xfd\x80\x80")
    with pytest.raises(InvalidArgument, match="more than 64 columns"):
        parse_rows("a.csv", (",".join(["x"] * 65)).encode())


def rows_and_pid(rows: list[list[str]]) -> tuple[int, int]:
    return len(rows), os.getpid()


async def test_parsing_runs_in_another_process_and_the_loop_keeps_turning() -> None:
    assert await read_rows("a.csv", b"h\n1\n") == [["h"], ["1"]]
    count, pid = await read_rows("a.csv", b"h\n1\n", then=rows_and_pid)
    assert count == 2 and pid != os.getpid()
    largest_gap = 0.0

    async def tick() -> None:
        nonlocal largest_gap
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            largest_gap, last = max(largest_gap, now - last), now

    content = xlsx([[i, f"name {i}", f"139{i:08d}"] for i in range(25_000)])
    started = time.perf_counter()
    parse_rows("a.xlsx", content)
    on_the_loop = time.perf_counter() - started  # what a parse on the loop would hold it for
    ticker = asyncio.create_task(tick())
    assert len(await read_rows("a.xlsx", content)) == 25_000
    ticker.cancel()
    assert largest_gap < min(1.0, on_the_loop / 2), (largest_gap, on_the_loop)


async def test_a_refusal_in_the_parser_process_is_the_same_clear_error() -> None:
    with pytest.raises(InvalidArgument, match="archive bomb|inflates to"):
        await read_rows("students.xlsx", bomb_xlsx(1_500_000))


@pytest.fixture
def small_parsers(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Parser processes capped at 128 MB of address space (a fresh pool before and after)."""
    spreadsheets._parsers().shutdown()
    spreadsheets._parsers.cache_clear()
    monkeypatch.setattr(spreadsheets, "PARSER_MEMORY_BYTES", 128 * 1024 * 1024)
    yield
    spreadsheets._parsers().shutdown()
    spreadsheets._parsers.cache_clear()


async def test_a_file_needing_more_memory_than_a_parser_may_have_is_a_clear_refusal_and_parsing_goes_on(
    small_parsers: None,
) -> None:
    """Within every limit of rows, columns and cells (50,000 rows of 64 distinct cells, 31 MB), but its rows
    need about 280 MB of a parser: refused as the file's fault, in the parser's own words (it has the memory left
    to say so), and the next file is read."""
    wide = "\n".join(",".join(f"{row}{column:04d}" for column in range(64)) for row in range(50_001)).encode()
    with pytest.raises(InvalidArgument, match="the file needs more memory to read than the platform allows"):
        await read_rows("wide.csv", wide)
    count, pid = await read_rows("a.csv", b"h\n1\n", then=rows_and_pid)
    assert count == 2 and pid != os.getpid()


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_exported_text_that_looks_like_a_formula_is_inert(text: str) -> None:
    assert neutralise(text) == "'" + text
    sheet = load_workbook(io.BytesIO(xlsx_rows(["name"], [[text]]))).active
    # a cell is a string starting with the quote (XML turns CR into LF)
    assert sheet["A2"].data_type == "s" and sheet["A2"].value[:2] == "'" + text[0].replace("\r", "\n")
    rows = list(csv.reader(io.StringIO(csv_rows(["name"], [[text]]).decode("utf-8-sig"), newline="")))
    assert rows[1] == ["'" + text]


def test_ordinary_cells_are_exported_unchanged() -> None:
    assert [neutralise(v) for v in ("数据结构", "a=b", 5, -3, None)] == ["数据结构", "a=b", 5, -3, None]
    sheet = load_workbook(io.BytesIO(xlsx_rows(["n", "v"], [["王老师", -3]]))).active
    assert (sheet["A2"].value, sheet["B2"].value) == ("王老师", -3)
