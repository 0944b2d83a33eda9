"""Downloading one-time credential sheets as their creator would, and reading them."""

from __future__ import annotations

import io

import httpx
from openpyxl import load_workbook

from devmesh.client import Api


def fetch_sheet(api: Api, sheet: dict) -> httpx.Response:
    """GET the sheet's download_url (raw: the XLSX, or a problem)."""
    headers = {"Authorization": f"Bearer {api.token}"} if api.token else {}
    return api.http.get(sheet["download_url"], headers=headers)


def download_sheet(api: Api, sheet: dict) -> list[list[str]]:
    response = fetch_sheet(api, sheet)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert response.headers["cache-control"] == "no-store"
    return sheet_rows(response.content)


def sheet_rows(content: bytes) -> list[list[str]]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return [[str(c) if c is not None else "" for c in row] for row in workbook.active.iter_rows(values_only=True)]


def sheet_cells(content: bytes) -> set[str]:
    return {cell for row in sheet_rows(content) for cell in row}
