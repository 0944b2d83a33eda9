"""Workbooks for the tests and benchmarks: plain ones, and a bomb that inflates to millions of rows."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook


def xlsx(rows: list[list[object]]) -> bytes:
    """A workbook whose only sheet holds these rows (written in streaming mode: fast for 50,000 rows)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def bomb_xlsx(rows: int, header: list[object] | None = None) -> bytes:
    """A valid workbook whose only sheet inflates to `rows` two-cell rows from a few hundred KiB."""
    source = zipfile.ZipFile(io.BytesIO(xlsx([header or ["学号", "姓名", "手机号"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            if not item.filename.startswith("xl/worksheets/"):
                target.writestr(item, source.read(item))
                continue
            with target.open(item.filename, "w", force_zip64=True) as sheet:
                sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
                            b'.org/spreadsheetml/2006/main"><sheetData>')
                row = b'<row><c t="inlineStr"><is><t>1</t></is></c><c t="inlineStr"><is><t>x</t></is></c></row>'
                for _ in range(rows // 10_000):
                    sheet.write(row * 10_000)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()
