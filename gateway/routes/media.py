"""Media: uploads (presigned multipart, or streamed through the gateway), assets, playback, subtitles."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import grpc
import httpx
from fastapi import File, Form, Path, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from contracts.media.v1 import media_pb2 as pb
from gateway.openapi_types import Documented, extend, message_model, page_of, returns
from gateway.routes.deps import TIMEOUT, Backends, Paging, SignedIn, as_json, page_json
from gateway.routing import Router

router = Router(prefix="/media", tags=["media"])
Kind = Literal["course_video", "material", "extended_material"]
STREAM_PART_SIZE = 16 * 1024 * 1024  # parts pass through as they arrive, never whole in memory
INT64_MAX = 2**63 - 1  # what the media service's int64 fields hold; larger numbers are refused here (400)
MAX_PARTS = 10_000


class DuplicateUpload(Documented):
    duplicate_of: str = Field(description="the asset you uploaded this file as before")


class DeletedAsset(Documented):
    id: str
    state: Literal["deleted"]
    courses: Literal["removed"]
    detail: str


StreamedUploadAnswer = message_model(pb.Asset) | DuplicateUpload
PlaybackAnswer = extend(pb.Playback, "MediaPlaybackWithHlsUrl", hls_url=(str, None))


class UploadRequestBody(BaseModel):
    filename: str = Field(max_length=255)
    size_bytes: int = Field(ge=0, le=INT64_MAX,
                            description="the whole file's size; checked against the limit before anything is stored")
    sha256: str = Field("", max_length=64, description="hex SHA-256 of the file, verified on completion")
    kind: Kind = "course_video"
    part_size: int = Field(0, ge=0, le=INT64_MAX, description="5-100 MiB; default 16 MiB")


class CompletedPartBody(BaseModel):
    number: int = Field(ge=1, le=MAX_PARTS, description="1-10,000, as S3 numbers parts")
    etag: str = Field(max_length=200)


class CompleteBody(BaseModel):
    parts: list[CompletedPartBody] = Field(default_factory=list, max_length=10_000)


@router.post("/uploads", **returns(pb.UploadTicket, 201))
async def request_upload(body: UploadRequestBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Starts an upload: one presigned PUT URL per part. PUT each part's bytes to its URL,
    keep the ETag each answer carries, then complete. A broken upload resumes with
    GET /media/uploads/{asset_id}. If `duplicate_of` is set you uploaded this file before."""
    reply = await backends.media.RequestUpload(pb.RequestUploadRequest(**body.model_dump()), metadata=me.metadata,
                                               timeout=TIMEOUT)
    return as_json(reply)


@router.get("/uploads/{asset_id}", **returns(pb.UploadTicket))
async def resume_upload(asset_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The parts already stored, and fresh URLs for the rest."""
    reply = await backends.media.ResumeUpload(pb.ResumeUploadRequest(asset_id=asset_id), metadata=me.metadata,
                                              timeout=TIMEOUT)
    return as_json(reply)


@router.post("/uploads/{asset_id}/complete", **returns(pb.Asset))
async def complete_upload(asset_id: str, body: CompleteBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Verifies size, checksum and the real type from the content; a video then goes to a worker."""
    reply = await backends.media.CompleteUpload(
        pb.CompleteUploadRequest(asset_id=asset_id, parts=[pb.CompletedPart(**p.model_dump()) for p in body.parts]),
        metadata=me.metadata, timeout=300,
    )
    return as_json(reply)


@router.put("/stream", **returns(StreamedUploadAnswer, 201))
async def streamed_upload(
    request: Request,
    backends: Backends,
    me: SignedIn,
    filename: Annotated[str, Query(max_length=255)],
    kind: Kind = "course_video",
    sha256: Annotated[str, Query(max_length=64)] = "",
) -> dict[str, Any]:
    """For simple clients: send the file as the request body with a Content-Length. The gateway
    passes it on to storage part by part as it arrives, in constant memory."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise HTTPException(411, "a streamed upload needs a Content-Length header")
    ticket = await backends.media.RequestUpload(
        pb.RequestUploadRequest(filename=filename, size_bytes=int(declared), sha256=sha256, kind=kind,
                                part_size=STREAM_PART_SIZE),
        metadata=me.metadata, timeout=TIMEOUT,
    )
    if ticket.duplicate_of:
        return {"duplicate_of": ticket.duplicate_of}
    body = request.stream().__aiter__()
    leftover = b""  # the tail of a body chunk that belongs to the next part

    async def part_body(size: int):  # type: ignore[no-untyped-def]
        """Forwards exactly `size` bytes of the request body, as they arrive."""
        nonlocal leftover
        remaining = size
        while remaining:
            if not leftover:
                try:
                    leftover = await body.__anext__()
                except StopAsyncIteration:
                    raise HTTPException(400, "the body is shorter than its Content-Length") from None
            piece, leftover = leftover[:remaining], leftover[remaining:]
            remaining -= len(piece)
            yield piece

    completed = []
    try:
        async with httpx.AsyncClient(timeout=120) as storage:
            for part in ticket.parts:
                answer = await storage.put(part.url, content=part_body(part.size_bytes),
                                           headers={"Content-Length": str(part.size_bytes)})
                if answer.status_code != 200:
                    raise HTTPException(502, f"storage refused part {part.number}: {answer.status_code}")
                completed.append(pb.CompletedPart(number=part.number,
                                                  etag=answer.headers.get("etag", "").strip('"')))
        if leftover or any([chunk async for chunk in body]):
            raise HTTPException(400, "the body is longer than its Content-Length")
    except BaseException:
        # A stalled, short or refused body: the parts stored so far are freed now, not at the daily cleanup.
        await asyncio.shield(_abandon(backends, me, ticket.asset_id))
        raise
    reply = await backends.media.CompleteUpload(
        pb.CompleteUploadRequest(asset_id=ticket.asset_id, parts=completed), metadata=me.metadata, timeout=300
    )
    return as_json(reply)


async def _abandon(backends: Backends, me: SignedIn, asset_id: str) -> None:
    try:
        await backends.media.DeleteAsset(pb.DeleteAssetRequest(id=asset_id, reason="the streamed upload broke off"),
                                         metadata=me.metadata, timeout=TIMEOUT)
    except grpc.aio.AioRpcError:
        pass  # the daily cleanup takes it


@router.get("/assets", **returns(page_of(pb.Asset)))
async def list_assets(
    backends: Backends, me: SignedIn, paging: Paging, kind: str = "", state: str = "", review_state: str = "",
    owner_id: str = "",
) -> dict[str, Any]:
    """A teacher's own assets, or (school admins) the school's; newest first."""
    reply = await backends.media.ListAssets(
        pb.ListAssetsRequest(kind=kind, state=state, review_state=review_state, owner_id=owner_id,
                             page_size=paging.page_size, page_token=paging.page_token),
        metadata=me.metadata, timeout=TIMEOUT,
    )
    return page_json(list(reply.assets), reply.next_page_token, reply.total)


@router.get("/assets/{asset_id}", **returns(pb.Asset))
async def get_asset(asset_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Status, progress, spec report, review outcome, renditions and subtitles."""
    return as_json(await backends.media.GetAsset(pb.GetAssetRequest(id=asset_id), metadata=me.metadata,
                                                 timeout=TIMEOUT))


Grant = Annotated[str, Query(max_length=4096, description="a playback grant from the learning service (the grant "
                                                          "of POST /learning/runs/{run_id}/units/{unit_id}/plays)")]


@router.get("/assets/{asset_id}/playback", **returns(PlaybackAnswer))
async def playback(asset_id: str, request: Request, backends: Backends, me: SignedIn,
                   grant: Grant = "") -> dict[str, Any]:
    """URLs that expire: the progressive MP4, poster, thumbnails, subtitles (SRT, and WebVTT for browsers in
    `subtitle_vtt_urls`); `hls_url` is the master playlist, fetched with the same token.

    The asset's teacher and their school's admins play it as it is; a learner plays a ready, approved asset with the
    playback grant the learning service gave them for it (`?grant=`). With a grant, `hls_url` carries it in its path
    (/media/play/{grant}/assets/{asset_id}/hls/master.m3u8), so the variant playlists the master names relatively
    carry it too."""
    reply = await backends.media.GetPlayback(pb.GetPlaybackRequest(id=asset_id, grant=grant), metadata=me.metadata,
                                             timeout=TIMEOUT)
    answer = as_json(reply)
    if reply.hls_playlists:
        root = request.scope.get("root_path", "")
        if grant:
            answer["hls_url"] = root + request.app.url_path_for("granted_hls_playlist", grant=grant,
                                                                asset_id=asset_id, name="master.m3u8")
        else:
            answer["hls_url"] = root + request.app.url_path_for("hls_playlist", asset_id=asset_id,
                                                                name="master.m3u8")
    return answer


@router.get("/assets/{asset_id}/hls/{name:path}", response_class=PlainTextResponse)
async def hls_playlist(asset_id: str, name: str, backends: Backends, me: SignedIn) -> PlainTextResponse:
    """The teacher's and the school admins' HLS playlists: segments presigned, variants relative."""
    reply = await backends.media.GetHlsPlaylist(pb.GetHlsPlaylistRequest(id=asset_id, name=name),
                                                metadata=me.metadata, timeout=TIMEOUT)
    return PlainTextResponse(reply.text, media_type="application/vnd.apple.mpegurl")


@router.get("/play/{grant}/assets/{asset_id}/hls/{name:path}", response_class=PlainTextResponse)
async def granted_hls_playlist(grant: Annotated[str, Path(max_length=4096)], asset_id: str, name: str,
                               backends: Backends, me: SignedIn) -> PlainTextResponse:
    """HLS playlists played with a playback grant (hls.js: load the master from here, send the token as usual).
    The grant is in the path, not the query: the master names its variants relatively (`720p/index.m3u8`), and a
    relative URI keeps the path but drops the query, so every playlist the master leads to carries the grant."""
    reply = await backends.media.GetHlsPlaylist(pb.GetHlsPlaylistRequest(id=asset_id, name=name, grant=grant),
                                                metadata=me.metadata, timeout=TIMEOUT)
    return PlainTextResponse(reply.text, media_type="application/vnd.apple.mpegurl")


@router.post("/assets/{asset_id}/subtitles", **returns(pb.Asset))
async def attach_subtitle(
    asset_id: str,
    backends: Backends,
    me: SignedIn,
    language: Annotated[Literal["zh", "en"], Form()],
    file: Annotated[UploadFile, File(description="SRT, UTF-8 or GB18030; one file per language")],
) -> dict[str, Any]:
    content = await file.read()
    reply = await backends.media.AttachSubtitle(
        pb.AttachSubtitleRequest(video_id=asset_id, language=language, content=content),
        metadata=me.metadata, timeout=TIMEOUT,
    )
    return as_json(reply)


@router.delete("/assets/{asset_id}", **returns(DeletedAsset))
async def delete_asset(asset_id: str, backends: Backends, me: SignedIn, reason: str = "") -> dict[str, Any]:
    """The uploading teacher, or the school's admin (as reviewer), deletes an asset and its files. Deleting is
    not refused while courses use the file: it disappears from every course that listed it (materials, plan
    units, covers), as the answer says."""
    await backends.media.DeleteAsset(pb.DeleteAssetRequest(id=asset_id, reason=reason), metadata=me.metadata,
                                     timeout=TIMEOUT)
    return {"id": asset_id, "state": "deleted", "courses": "removed",
            "detail": "the file is removed from every course that used it (materials, plan units, covers)"}


@router.post("/assets/{asset_id}/retry", **returns(pb.Asset))
async def retry_asset(asset_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Processes a failed video again."""
    return as_json(await backends.media.RetryAsset(pb.RetryAssetRequest(id=asset_id), metadata=me.metadata,
                                                   timeout=TIMEOUT))


@router.get("/assets/{asset_id}/referenceability", **returns(pb.Referenceability))
async def get_referenceability(asset_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Whether a course may reference the asset: ready and approved by the school."""
    reply = await backends.media.GetReferenceability(pb.GetReferenceabilityRequest(id=asset_id),
                                                     metadata=me.metadata, timeout=TIMEOUT)
    return as_json(reply)
