"""Reading uploaded lists from CSV (UTF-8 or GB18030, as Excel in China saves them) and XLSX,
and writing XLSX templates."""

from __future__ import annotations

import csv
import io
import zipfile

from openpyxl import load_workbook

from servicekit.errors import InvalidArgument

MAX_ROWS = 50_000


def read_rows(filename: str, content: bytes) -> list[list[str]]:
    """All rows as text cells, the header first. Refuses what is not a CSV or XLSX file."""
    if not content:
        raise InvalidArgument("the file is empty")
    name = filename.lower()
    if name.endswith(".csv"):
        rows = _read_csv(content)
    elif name.endswith(".xlsx"):
        rows = _read_xlsx(content)
    else:
        raise InvalidArgument("send a .csv or .xlsx file")
    if len(rows) > MAX_ROWS + 1:
        raise InvalidArgument(f"a file has at most {MAX_ROWS} rows; split it")
    return rows


def _read_csv(content: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidArgument("the CSV file is neither UTF-8 nor GB18030 text")
    if "\x00" in text:
        raise InvalidArgument("the CSV file is not text")
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def _read_xlsx(content: bytes) -> list[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise InvalidArgument(f"the XLSX file cannot be read: {error}") from error
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # numbers typed into Excel come back as floats
    return str(value).strip()


def xlsx_rows(headers: list[str], rows: list[list]) -> bytes:
    """A one-sheet workbook: the header row, then the rows."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_template(headers: list[str], example: list[str]) -> bytes:
    """A template to fill in: the header row and one example row."""
    return xlsx_rows(headers, [example])
