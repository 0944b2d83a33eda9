"""Translates media.v1 requests into handler calls."""

from __future__ import annotations

import json

from contracts.media.v1 import media_pb2 as pb
from contracts.media.v1 import media_pb2_grpc
from servicekit.auth import require_caller
from servicekit.objects import StoredPart
from services.media.adapters.orm import Asset
from services.media.service_layer.asset_facts import AssetFactsHandlers
from services.media.service_layer.handlers import MediaHandlers, Ticket, referenceability

SERVICE = "media.v1.MediaService"


def asset_message(asset: Asset) -> pb.Asset:
    message = pb.Asset(
        id=asset.id, owner_id=asset.owner_id, school_id=asset.school_id, kind=asset.kind,
        filename=asset.filename, content_type=asset.content_type, format=asset.format,
        size_bytes=asset.size_bytes, sha256=asset.sha256, state=asset.state, progress=asset.progress,
        failure_reason=asset.failure_reason, review_state=asset.review_state, review_reason=asset.review_reason,
        spec_profile=asset.spec_profile, duration_seconds=asset.duration_seconds,
        renditions=json.loads(asset.renditions_json), remuxed=asset.remuxed, duplicate_of=asset.duplicate_of,
        referenceable=referenceability(asset).referenceable,
        spec_report=[pb.SpecRule(**rule) for rule in json.loads(asset.spec_report_json)],
    )
    for track in asset.subtitles:
        added = message.subtitles.add(language=track.language, cues=track.cues)
        added.attached_at.FromDatetime(track.attached_at)
    message.created_at.FromDatetime(asset.created_at)
    message.updated_at.FromDatetime(asset.updated_at)
    return message


def ticket_message(ticket: Ticket) -> pb.UploadTicket:
    message = pb.UploadTicket(
        asset_id=ticket.asset.id, part_size=ticket.asset.part_size, duplicate_of=ticket.duplicate_of,
        uploaded_parts=ticket.uploaded_parts,
        parts=[pb.UploadPart(number=n, url=url, size_bytes=size) for n, url, size in ticket.parts],
    )
    message.expires_at.FromDatetime(ticket.expires_at)
    return message


class MediaServicer(media_pb2_grpc.MediaServiceServicer):
    def __init__(self, handlers: MediaHandlers, facts: AssetFactsHandlers | None = None) -> None:
        self.handlers = handlers
        self.facts = facts or AssetFactsHandlers(handlers.db)

    async def RequestUpload(self, request, context):  # type: ignore[no-untyped-def]
        return ticket_message(await self.handlers.request_upload(require_caller(), request))

    async def ResumeUpload(self, request, context):  # type: ignore[no-untyped-def]
        return ticket_message(await self.handlers.resume_upload(require_caller(), request.asset_id))

    async def CompleteUpload(self, request, context):  # type: ignore[no-untyped-def]
        parts = [StoredPart(p.number, p.etag, 0) for p in request.parts]
        return asset_message(await self.handlers.complete_upload(require_caller(), request.asset_id, parts))

    async def ListAssets(self, request, context):  # type: ignore[no-untyped-def]
        page = await self.handlers.list_assets(require_caller(), request)
        return pb.ListAssetsResponse(
            assets=[asset_message(a) for a in page.items], next_page_token=page.next_page_token, total=page.total
        )

    async def GetAsset(self, request, context):  # type: ignore[no-untyped-def]
        return asset_message(await self.handlers.get_asset(require_caller(), request.id))

    async def GetPlayback(self, request, context):  # type: ignore[no-untyped-def]
        return await self.handlers.playback(require_caller(), request.id, request.grant)

    async def GetHlsPlaylist(self, request, context):  # type: ignore[no-untyped-def]
        text = await self.handlers.hls_playlist(require_caller(), request.id, request.name, request.grant)
        return pb.HlsPlaylist(text=text)

    async def AttachSubtitle(self, request, context):  # type: ignore[no-untyped-def]
        asset = await self.handlers.attach_subtitle(require_caller(), request.video_id, request.language,
                                                    request.content)
        return asset_message(asset)

    async def DeleteAsset(self, request, context):  # type: ignore[no-untyped-def]
        await self.handlers.delete_asset(require_caller(), request.id, request.reason)
        return pb.DeleteAssetResponse()

    async def RetryAsset(self, request, context):  # type: ignore[no-untyped-def]
        return asset_message(await self.handlers.retry_asset(require_caller(), request.id))

    async def GetReferenceability(self, request, context):  # type: ignore[no-untyped-def]
        return await self.handlers.referenceability(require_caller(), request.id)

    async def GetAssetFacts(self, request, context):  # type: ignore[no-untyped-def]
        return pb.GetAssetFactsResponse(facts=await self.facts.asset_facts(require_caller(), request.asset_ids))
