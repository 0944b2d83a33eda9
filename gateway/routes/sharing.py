"""Sharing: semester sharing lists (学期课程共享清单) and cross-school adoption (共享选课)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi.responses import Response
from pydantic import BaseModel, Field

from contracts.sharing.v1 import sharing_pb2 as pb
from gateway.openapi_types import CSV, XLSX, downloads, page_of, returns
from gateway.routes.deps import (
    TIMEOUT,
    Backends,
    NoNulCharacters,
    Paging,
    SignedIn,
    as_json,
    download,
    page_json,
)
from gateway.routing import Router

router = Router(prefix="/sharing", tags=["sharing"], dependencies=[NoNulCharacters])
Permission = Literal["edit_content", "manage_classes", "grade", "view_analytics"]


class ListBody(BaseModel):
    term_code: str = Field(max_length=20)
    title: str = Field(max_length=200)
    notice_on: str = Field(max_length=10, description="YYYY-MM-DD; the seeds' cycle: April or October")
    publish_by: str = Field(max_length=10, description="YYYY-MM-DD; before June or December")


class PublishBody(BaseModel):
    late_reason: str = Field("", max_length=500, description="required when publishing after publish_by; recorded")


class EntryBody(BaseModel):
    run_id: str = Field(max_length=36)


class AdoptionBody(BaseModel):
    tutor_id: str = Field("", max_length=36, description="a teacher of the adopting school; empty (admins): "
                          "the providing leader makes a class and teaches the school's students")
    expected_students: int = Field(ge=1, le=10000)
    note: str = Field("", max_length=500)


class AcceptBody(BaseModel):
    permissions: list[Permission] = Field(default_factory=lambda: ["manage_classes"])


class DeclineBody(BaseModel):
    reason: str = Field(max_length=2000)


async def _call(backends, method: str, request, me) -> Any:  # type: ignore[no-untyped-def]
    return await getattr(backends.sharing, method)(request, metadata=me.metadata, timeout=TIMEOUT)


def _download(reply) -> Response:  # type: ignore[no-untyped-def]
    return download(reply.content, reply.content_type, reply.filename)


@router.post("/lists", **returns(pb.SharingList, 201))
async def open_list(body: ListBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The provincial center opens a term's list."""
    return as_json(await _call(backends, "OpenList", pb.OpenListRequest(**body.model_dump()), me))


@router.get("/lists", **returns(page_of(pb.SharingList)))
async def list_lists(backends: Backends, me: SignedIn, state: str = "") -> dict[str, Any]:
    reply = await _call(backends, "ListLists", pb.ListListsRequest(state=state), me)
    return {"items": [as_json(x) for x in reply.lists], "next_page_token": "", "total": len(reply.lists)}


@router.post("/lists/{list_id}/close", **returns(pb.SharingList))
async def close_list(list_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await _call(backends, "CloseList", pb.ListRequest(list_id=list_id), me))


@router.post("/lists/{list_id}/publish", **returns(pb.SharingList))
async def publish_list(list_id: str, backends: Backends, me: SignedIn,
                       body: PublishBody | None = None) -> dict[str, Any]:
    """Every signed-in user of every school sees a published list's approved entries. After publish_by the
    center gives a `late_reason`, recorded; the list then shows `late`."""
    late_reason = body.late_reason if body else ""
    return as_json(await _call(backends, "PublishList", pb.PublishListRequest(list_id=list_id,
                                                                              late_reason=late_reason), me))


@router.post("/lists/{list_id}/entries", **returns(pb.Entry, 201))
async def add_entry(list_id: str, body: EntryBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A school admin nominates one of the school's MOOC runs approved for the list's term."""
    return as_json(await _call(backends, "AddEntry", pb.AddEntryRequest(list_id=list_id, run_id=body.run_id), me))


@router.post("/lists/{list_id}/submit", **returns(pb.SubmitEntriesResponse))
async def submit(list_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Sends the school's new entries to the center, which reviews them one by one."""
    return as_json(await _call(backends, "SubmitEntries", pb.ListRequest(list_id=list_id), me))


@router.get("/lists/{list_id}/entries", **returns(page_of(pb.Entry)))
async def search_entries(
    list_id: str, backends: Backends, me: SignedIn, paging: Paging, query: str = "", school_id: str = "",
    category: str = "", min_credits: float = 0, max_credits: float = 0, term_code: str = "", state: str = "",
) -> dict[str, Any]:
    """Browse and search (course, leader or school; a substring, Chinese too), filter, page."""
    reply = await _call(backends, "SearchEntries", pb.SearchEntriesRequest(
        list_id=list_id, query=query, school_id=school_id, category=category, min_credits=min_credits,
        max_credits=max_credits, term_code=term_code, state=state, page_size=paging.page_size,
        page_token=paging.page_token), me)
    return page_json(list(reply.entries), reply.next_page_token, reply.total)


@router.get("/lists/{list_id}/export", **downloads(XLSX, CSV))
async def export_entries(list_id: str, backends: Backends, me: SignedIn,
                         format: Literal["csv", "xlsx"] = "xlsx") -> Response:
    """Admins only: it carries the leaders' phone numbers."""
    return _download(await _call(backends, "ExportEntries", pb.ExportEntriesRequest(list_id=list_id, format=format),
                                 me))


@router.get("/entries/{entry_id}", **returns(pb.Entry))
async def get_entry(entry_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The course's info and teaching plan; the leader's contact details for teachers and admins only."""
    return as_json(await _call(backends, "GetEntry", pb.EntryRequest(entry_id=entry_id), me))


@router.delete("/entries/{entry_id}", status_code=204)
async def remove_entry(entry_id: str, backends: Backends, me: SignedIn) -> None:
    await _call(backends, "RemoveEntry", pb.EntryRequest(entry_id=entry_id), me)


@router.post("/entries/{entry_id}/resubmit", **returns(pb.Entry))
async def resubmit_entry(entry_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A rejected entry, fixed, goes back to the center while the list is open."""
    return as_json(await _call(backends, "ResubmitEntry", pb.EntryRequest(entry_id=entry_id), me))


@router.post("/entries/{entry_id}/adoptions", **returns(pb.Adoption, 201))
async def request_adoption(entry_id: str, body: AdoptionBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The adopting school's admin, or its tutor teacher, asks the course leader."""
    request = pb.RequestAdoptionRequest(entry_id=entry_id, **body.model_dump())
    return as_json(await _call(backends, "RequestAdoption", request, me))


@router.get("/adoptions", **returns(page_of(pb.Adoption)))
async def list_adoptions(backends: Backends, me: SignedIn, side: Literal["adopting", "providing"] = "adopting",
                         term_code: str = "") -> dict[str, Any]:
    """A school's adoptions per term with classes and students, or who adopted its courses."""
    reply = await _call(backends, "ListAdoptions", pb.ListAdoptionsRequest(side=side, term_code=term_code), me)
    return {"items": [as_json(x) for x in reply.adoptions], "next_page_token": "", "total": len(reply.adoptions)}


@router.get("/adoptions/export", **downloads(XLSX, CSV))
async def export_adoptions(backends: Backends, me: SignedIn, side: Literal["adopting", "providing"] = "adopting",
                           term_code: str = "", format: Literal["csv", "xlsx"] = "xlsx") -> Response:
    """The records credit recognition between schools rests on."""
    return _download(await _call(backends, "ExportAdoptions", pb.ListAdoptionsRequest(
        side=side, term_code=term_code, format=format), me))


@router.post("/adoptions/{adoption_id}/accept", **returns(pb.Adoption))
async def accept_adoption(adoption_id: str, body: AcceptBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The course leader accepts: the tutor joins the run's team with these permissions."""
    request = pb.AcceptAdoptionRequest(adoption_id=adoption_id, permissions=body.permissions)
    return as_json(await _call(backends, "AcceptAdoption", request, me))


@router.post("/adoptions/{adoption_id}/decline", **returns(pb.Adoption))
async def decline_adoption(adoption_id: str, body: DeclineBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await _call(backends, "DeclineAdoption",
                               pb.DeclineAdoptionRequest(adoption_id=adoption_id, reason=body.reason), me))
