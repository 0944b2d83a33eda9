"""Hostile spreadsheets are refused through the gateway with a clear 400, quickly, by the services that parse
them (identity's account import, course's registry import); nothing is imported."""

from __future__ import annotations

import io
import time
import zipfile

from devmesh.client import Api
from tests.e2e.conftest import SchoolWorld
from tests.e2e.test_auth import expect_problem
from tests.spreadsheet_files import bomb_xlsx, xlsx


def _account_import(school: SchoolWorld, name: str, content: bytes) -> dict:
    return school.admin.post(f"/schools/{school.id}/imports", files={"file": (name, content)},
                             params={"role": "student"})


def test_an_xlsx_inflating_to_a_million_and_a_half_rows_is_refused_at_once(school: SchoolWorld) -> None:
    hostile = bomb_xlsx(1_500_000)
    assert len(hostile) < 1024 * 1024
    started = time.monotonic()
    problem = expect_problem(400, lambda: _account_import(school, "students.xlsx", hostile))
    assert "archive bomb" in problem["detail"] or "inflates to" in problem["detail"]
    problem = expect_problem(400, lambda: school.admin.post("/registry/imports",
                                                            files={"file": ("registry.xlsx", hostile)}))
    assert "archive bomb" in problem["detail"] or "inflates to" in problem["detail"]
    assert time.monotonic() - started < 10  # not the 49 s of parsing it once took
    assert school.admin.get("/users", params={"role": "student"})["total"] == 0


def test_a_list_one_row_over_the_limit_is_refused(school: SchoolWorld) -> None:
    rows = "\n".join(f"N{i},学生{i},139{i:08d},," for i in range(50_001))
    problem = expect_problem(400, lambda: _account_import(
        school, "big.csv", ("number,name,phone,email,class_name\n" + rows).encode()))
    assert "at most 50000 rows" in problem["detail"]
    assert school.admin.get("/users", params={"role": "student"})["total"] == 0


def test_an_xlsx_whose_xml_is_malformed_or_declares_entities_is_a_400(school: SchoolWorld) -> None:
    def with_sheet(xml: bytes) -> bytes:
        source = zipfile.ZipFile(io.BytesIO(xlsx([["学号", "姓名", "手机号"]])))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for item in source.infolist():
                target.writestr(item, xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item))
        return out.getvalue()

    malformed = with_sheet(b"<worksheet><sheetData><row><c>")
    problem = expect_problem(400, lambda: _account_import(school, "a.xlsx", malformed))
    assert "malformed" in problem["detail"]
    entities = with_sheet(b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                          b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                          b'<sheetData><row><c t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>')
    problem = expect_problem(400, lambda: school.admin.post("/registry/imports",
                                                            files={"file": ("registry.xlsx", entities)}))
    assert "entities or a DTD" in problem["detail"]
    problem = expect_problem(400, lambda: _account_import(school, "a.xlsx", b"PK\x03\x04 not a zip"))
    assert "zip" in problem["detail"]


def test_a_normal_xlsx_still_imports(school: SchoolWorld, api: Api) -> None:
    content = xlsx([["学号", "姓名", "手机号", "邮箱", "班级"],
                    *([f"L{i}", f"学生{i}", f"137{i:08d}", "", "一班"] for i in range(300))])
    report = _account_import(school, "ok.xlsx", content)
    assert (report["imported"], report["created"]) == (True, 300)
