"""Credential sheets: real XLSX, text that is never a formula, readable only with its key."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from services.identity.adapters.sheets import SheetRow, build_xlsx, seal, unseal


def read(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content), read_only=True).active.iter_rows(values_only=True))


def test_a_sheet_lists_username_name_number_and_one_time_password_as_plain_text() -> None:
    rows = read(build_xlsx([SheetRow("ZJU-2026001", '=HYPERLINK("http://x")', "2026001", "abcDEF234"),
                            SheetRow("ZJU-2026002", "王<&>\x07五", "2026002", "ghjKMN567")]))
    assert rows == [("username", "name", "number", "one-time password"),
                    ("ZJU-2026001", '=HYPERLINK("http://x")', "2026001", "abcDEF234"),
                    ("ZJU-2026002", "王<&>五", "2026002", "ghjKMN567")]


def test_a_sealed_sheet_opens_with_its_key_only() -> None:
    content = build_xlsx([SheetRow("u", "n", "1", "secret-password-1")])
    key, sealed = seal(content)
    assert b"secret-password-1" not in sealed
    assert unseal(key, sealed) == content
    other_key, _ = seal(content)
    assert unseal(other_key, sealed) is None
    assert unseal("not base64 !!", sealed) is None
