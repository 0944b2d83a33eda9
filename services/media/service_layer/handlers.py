"""Media use cases behind the gRPC API: uploads, listing, playback, subtitles, deletion, reviews."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.media.v1 import media_pb2
from contracts.review.v1 import review_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.consumer import EventMeta
from servicekit.db import Database, new_id
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.objects import BlobStore, StoredPart
from servicekit.outbox import emit
from servicekit.pagination import fetch_page
from servicekit.playback import verify_grant
from servicekit.reviews import ScopeType, request_review, withdraw_review
from services.media.adapters.orm import Asset, ChunkPlan, SubtitleTrack, outbox
from services.media.domain import filetypes, rules, spec, subtitles
from services.media.domain.rules import Review, State
from services.media.service_layer import stalled_chunks

OWNER = "media"
# The policy in force today for a school (the course service's): the video spec it follows and the durations.
SchoolPolicy = Callable[[str], Awaitable[spec.VideoPolicy]]
KIND_MEDIA_ASSET = "media_asset"
HEAD_BYTES = 8192
HLS_MAP_URI = re.compile(r'URI="([^"]+)"')
log = logging.getLogger(__name__)


def webvtt_key(srt_key: str) -> str:
    """Where a track's WebVTT form is stored: beside its SRT (subtitles/<asset>/<language>.vtt)."""
    return srt_key.rsplit(".", 1)[0] + ".vtt"


@dataclass(frozen=True)
class MediaConfig:
    max_upload_bytes: int = 200 * 1000 * 1000
    upload_url_expiry: timedelta = timedelta(hours=6)
    playback_url_expiry: timedelta = timedelta(hours=1)
    abandoned_after: timedelta = timedelta(days=1)
    # A worker writes progress every second; a job silent this long has no worker any more
    # (e.g. one killed on the job's last delivery), so the asset fails and can be retried.
    stalled_after: timedelta = timedelta(minutes=15)
    # A chunked transcode's step whose workers all stopped (its job's deliveries spent) is queued again this many
    # times before the asset fails: the worker's MEDIA_JOB_MAX_DELIVER, read by the service too.
    job_max_deliver: int = 5
    stalled_requeues: int = 2


@dataclass(frozen=True)
class Ticket:
    asset: Asset
    parts: list[tuple[int, str, int]]  # number, presigned URL, size
    uploaded_parts: list[int]
    expires_at: datetime
    duplicate_of: str = ""


@dataclass(frozen=True)
class Page:
    items: list[Asset]
    next_page_token: str
    total: int


def referenceability(asset: Asset) -> media_pb2.Referenceability:
    if asset.state == State.DELETED:
        reason = "the asset was deleted"
    elif asset.state != State.READY:
        reason = f"the asset is {asset.state}, not ready"
    elif asset.review_state != Review.APPROVED:
        reason = f"the school has not approved it ({asset.review_state})"
    else:
        reason = ""
    return media_pb2.Referenceability(
        asset_id=asset.id, referenceable=not reason, reason=reason, kind=asset.kind,
        school_id=asset.school_id, duration_seconds=asset.duration_seconds,
    )


async def announce_referenceability(session: AsyncSession, asset: Asset) -> None:
    await emit(session, outbox, "media.asset.referenceability_changed",
               media_pb2.ReferenceabilityChanged(referenceability=referenceability(asset)))


async def queue_for_processing(session: AsyncSession, asset: Asset) -> None:
    """The work queue: a worker picks the upload up from `media.asset.uploaded`."""
    job = media_pb2.AssetUploaded(asset_id=asset.id, attempt=asset.attempt)
    await emit(session, outbox, "media.asset.uploaded", job)


async def queue_for_review(session: AsyncSession, asset: Asset) -> None:
    report = json.loads(asset.spec_report_json)
    await request_review(
        session, outbox, owner=OWNER, kind=KIND_MEDIA_ASSET, subject_id=asset.id,
        scope_type=ScopeType.SCHOOL, scope_id=asset.school_id,
        title=f"资源审核 media review: {asset.filename}",
        snapshot={
            "filename": asset.filename, "kind": asset.kind, "category": asset.category,
            "format": asset.format, "size_bytes": asset.size_bytes, "owner_id": asset.owner_id,
            "duration_seconds": asset.duration_seconds, "spec_profile": asset.spec_profile,
            "spec_report": report, "remuxed": asset.remuxed,
        },
        requested_by=asset.owner_id,
    )


def _part_bytes(asset: Asset, number: int) -> int:
    """The size announced for part `number`: the part size, the last part the rest."""
    return min(asset.part_size, asset.size_bytes - (number - 1) * asset.part_size)


class MediaHandlers:
    def __init__(self, db: Database, store: BlobStore, config: MediaConfig, policies: SchoolPolicy,
                 clock: Callable[[], datetime] = utcnow, grant_key: str = "") -> None:
        self.db = db
        self.store = store
        self.config = config
        self.policies = policies
        self.clock = clock
        # The learning service's key, which playback grants are signed with (servicekit.playback); empty: no grant
        # is accepted.
        self.grant_key = grant_key
        self._webvtt_stored: set[str] = set()  # WebVTT objects known to exist, so playback asks storage once

    # ---- uploads ------------------------------------------------------------------------

    async def request_upload(self, caller: Caller, request: media_pb2.RequestUploadRequest) -> Ticket:
        rules.require_uploader(caller)
        filename = rules.clean_filename(request.filename)
        sha256 = request.sha256.strip().lower()
        rules.check_upload_request(request.kind, request.size_bytes, sha256, self.config.max_upload_bytes)
        part_size, part_count = rules.part_plan(request.size_bytes, request.part_size)
        if sha256:
            async with self.db.transaction() as session:
                existing = await self._owned_copy(session, caller.user_id, sha256)
            if existing is not None:
                return Ticket(existing, [], [], self.clock(), duplicate_of=existing.id)
        asset_id = new_id()
        key = f"sources/{caller.school_id}/{asset_id}"
        upload_id = await self.store.start_multipart(key)
        async with self.db.transaction() as session:
            asset = Asset(
                id=asset_id, owner_id=caller.user_id, school_id=caller.school_id or "",
                province_code=caller.province_code or "", kind=request.kind, filename=filename,
                size_bytes=request.size_bytes, claimed_sha256=sha256, source_key=key, upload_id=upload_id,
                part_size=part_size, state=State.UPLOADING, created_at=self.clock(),
            )
            session.add(asset)
        return self._ticket(asset, uploaded=[])

    def _ticket(self, asset: Asset, uploaded: list[int]) -> Ticket:
        expires = self.config.upload_url_expiry
        count = max(1, -(-asset.size_bytes // asset.part_size))
        parts = []
        for number in range(1, count + 1):
            if number in uploaded:
                continue
            size = _part_bytes(asset, number)
            parts.append((number, self.store.presign_part(asset.source_key, asset.upload_id, number, size, expires),
                          size))
        return Ticket(asset, parts, uploaded, self.clock() + expires)

    @staticmethod
    async def _owned_copy(session: AsyncSession, owner_id: str, sha256: str) -> Asset | None:
        return await session.scalar(
            select(Asset).where(Asset.owner_id == owner_id, Asset.sha256 == sha256,
                                Asset.state.not_in((State.DELETED, State.FAILED, State.UPLOADING)))
        )

    async def resume_upload(self, caller: Caller, asset_id: str) -> Ticket:
        asset = await self._uploading_asset(caller, asset_id)
        stored = await self.store.list_parts(asset.source_key, asset.upload_id)
        return self._ticket(asset, uploaded=sorted(p.number for p in stored))

    async def _uploading_asset(self, caller: Caller, asset_id: str) -> Asset:
        async with self.db.transaction() as session:
            asset = await self._asset(session, asset_id)
        rules.require_owner(caller, asset.owner_id, asset.school_id)
        if asset.state != State.UPLOADING:
            raise FailedPrecondition(f"the upload is finished (the asset is {asset.state})")
        return asset

    async def complete_upload(self, caller: Caller, asset_id: str, parts: list[StoredPart]) -> Asset:
        asset = await self._uploading_asset(caller, asset_id)
        stored = {p.number: p for p in await self.store.list_parts(asset.source_key, asset.upload_id)}
        expected = max(1, -(-asset.size_bytes // asset.part_size))
        oversized = [n for n, p in sorted(stored.items()) if n > expected or p.size != _part_bytes(asset, n)]
        if oversized:  # the signed URLs prevent it; a store that does not enforce them is caught here
            await self._refuse_upload(asset, f"part {oversized[0]} is not the size announced for it")
        missing = [n for n in range(1, expected + 1) if n not in stored]
        if missing:
            raise FailedPrecondition(f"parts {missing[:10]} are not uploaded yet; resume the upload")
        for part in parts:
            if part.number not in stored or stored[part.number].etag != part.etag.strip('"'):
                raise InvalidArgument(f"part {part.number} does not match what was stored; upload it again")
        await self.store.complete_multipart(asset.source_key, asset.upload_id, list(stored.values()))
        problem, detected, sha256 = await self._verify(asset)
        async with self.db.transaction() as session:
            asset = await self._asset(session, asset_id)
            asset.upload_id = ""
            if problem:  # refused: nothing of it is kept, the answer says why
                asset.state, asset.failure_reason = State.DELETED, problem
            else:
                asset.sha256 = sha256
                asset.category, asset.format, asset.content_type = detected.category, detected.format, detected.mime
                duplicate = await self._owned_copy(session, asset.owner_id, sha256)
                if duplicate is not None:
                    asset.state, asset.duplicate_of = State.DELETED, duplicate.id
                    asset.failure_reason = f"the same file as {duplicate.filename}, uploaded before"
                elif detected.category == "video":
                    asset.state = State.UPLOADED
                    await queue_for_processing(session, asset)
                else:  # documents, images, audio, subtitles: nothing to process
                    asset.state, asset.progress = State.READY, 1.0
                    await queue_for_review(session, asset)
        if asset.state == State.DELETED:
            await self.store.delete_prefix(asset.source_key)  # nothing refused is kept
        if problem:
            raise InvalidArgument(problem, reason="UPLOAD_REFUSED")
        return asset

    async def _refuse_upload(self, asset: Asset, problem: str) -> None:
        """Aborts the upload, frees what was stored and answers why."""
        await self.store.abort_multipart(asset.source_key, asset.upload_id)
        async with self.db.transaction() as session:
            current = await self._asset(session, asset.id)
            current.state, current.failure_reason, current.upload_id = State.DELETED, problem, ""
        raise InvalidArgument(problem, reason="UPLOAD_REFUSED")

    async def _verify(self, asset: Asset) -> tuple[str, filetypes.FileType | None, str]:
        """(problem or "", detected type, actual sha256): size, checksum and type from the content."""
        size = await self.store.size(asset.source_key)
        if size != asset.size_bytes:
            return f"the upload has {size} bytes, not the {asset.size_bytes} announced", None, ""
        detected = filetypes.detect(await self.store.get_bytes(asset.source_key, HEAD_BYTES), asset.filename)
        if detected is None:
            return "the content is not an allowed type (video, subtitles, documents, images, audio)", None, ""
        if asset.kind == "course_video" and detected.category != "video":
            return f"a course video must be a video; this is {detected.category} ({detected.format})", None, ""
        sha256 = await self.store.sha256(asset.source_key)
        if asset.claimed_sha256 and sha256 != asset.claimed_sha256:
            return "the checksum does not match: the file changed or broke on the way", None, ""
        return "", detected, sha256

    # ---- reading ------------------------------------------------------------------------

    async def list_assets(self, caller: Caller, request: media_pb2.ListAssetsRequest) -> Page:
        statement = select(Asset).where(Asset.state != State.DELETED)
        if caller.role == "teacher":
            if request.owner_id and request.owner_id != caller.user_id:
                raise PermissionDenied("teachers see their own assets")
            statement = statement.where(Asset.owner_id == caller.user_id)
        elif caller.role == "school_admin":
            statement = statement.where(Asset.school_id == caller.school_id)
            if request.owner_id:
                statement = statement.where(Asset.owner_id == request.owner_id)
        else:
            raise PermissionDenied("teachers and school admins list media")
        for column, value in ((Asset.kind, request.kind), (Asset.state, request.state),
                              (Asset.review_state, request.review_state)):
            if value:
                statement = statement.where(column == value)
        async with self.db.read() as session:
            return Page(*await fetch_page(session, statement.order_by(Asset.created_at.desc(), Asset.id),
                                          request.page_size, request.page_token))

    async def get_asset(self, caller: Caller, asset_id: str) -> Asset:
        async with self.db.transaction() as session:
            asset = await self._asset(session, asset_id)
        rules.require_viewer(caller, asset.owner_id, asset.school_id)
        return asset

    @staticmethod
    async def _asset(session: AsyncSession, asset_id: str) -> Asset:
        asset = await session.get(Asset, asset_id)
        if asset is None or asset.state == State.DELETED:
            raise NotFound("no such asset")
        return asset

    async def referenceability(self, caller: Caller, asset_id: str) -> media_pb2.Referenceability:
        async with self.db.read() as session:
            asset = await session.get(Asset, asset_id)
        if asset is None:
            raise NotFound("no such asset")
        rules.require_referencer(caller, asset.owner_id, asset.school_id)
        return referenceability(asset)

    async def _playable(self, caller: Caller, asset_id: str, grant: str) -> Asset:
        """The asset the caller may play: without a grant, by the viewer rules (owner, the school's admins); with
        one, when the grant is genuine, unexpired, for this asset and this caller, and the asset is ready and
        approved (a grant never opens an unfinished or rejected asset)."""
        if not grant:
            return await self.get_asset(caller, asset_id)
        verify_grant(self.grant_key, grant, asset_id, user_id=caller.user_id)
        async with self.db.read() as session:
            asset = await self._asset(session, asset_id)
        reason = referenceability(asset).reason
        if reason:
            raise PermissionDenied(f"a playback grant opens only ready, approved media: {reason}")
        return asset

    async def playback(self, caller: Caller, asset_id: str, grant: str = "") -> media_pb2.Playback:
        asset = await self._playable(caller, asset_id, grant)
        expiry = self.config.playback_url_expiry
        playback = media_pb2.Playback()
        if not (grant and asset.category == "video"):  # a learner plays the renditions, not the teacher's original
            playback.source_url = self.store.presign_get(asset.source_key, expiry, asset.filename)
        playback.expires_at.FromDatetime(self.clock() + expiry)
        if asset.category == "video":
            if asset.state != State.READY:
                raise FailedPrecondition(f"the video is {asset.state}; it plays once it is ready")
            prefix = asset.rendition_prefix
            playback.progressive_url = self.store.presign_get(f"{prefix}/progressive.mp4", expiry)
            playback.poster_url = self.store.presign_get(f"{prefix}/poster.jpg", expiry)
            playback.thumbnails_url = self.store.presign_get(f"{prefix}/thumbnails.jpg", expiry)
            playback.hls_playlists.append("master.m3u8")
            playback.hls_playlists.extend(f"{rung}/index.m3u8" for rung in json.loads(asset.renditions_json))
            for track in asset.subtitles:
                playback.subtitle_urls[track.language] = self.store.presign_get(track.object_key, expiry)
                vtt = await self._webvtt(track)
                if vtt:
                    playback.subtitle_vtt_urls[track.language] = self.store.presign_get(
                        vtt, expiry, content_type=subtitles.WEBVTT_CONTENT_TYPE)
        return playback

    async def _webvtt(self, track: SubtitleTrack) -> str:
        """The key of the track's WebVTT form. Tracks attached before WebVTT was stored get it now, once, from
        their stored SRT (no migration); "" when that fails, so playback still answers with the rest."""
        key = webvtt_key(track.object_key)
        if key in self._webvtt_stored:
            return key
        try:
            if not await self.store.exists(key):
                srt = await self.store.get_bytes(track.object_key)
                await self.store.put_bytes(key, subtitles.srt_to_webvtt(srt).encode(), subtitles.WEBVTT_CONTENT_TYPE)
        except Exception:  # storage down or the SRT gone: playback goes on without this track's WebVTT
            log.exception("could not store the WebVTT form of %s", track.object_key)
            return ""
        self._webvtt_stored.add(key)
        return key

    async def hls_playlist(self, caller: Caller, asset_id: str, name: str, grant: str = "") -> str:
        """A playlist with its segment and init URIs presigned. Variant URIs stay relative: the player asks for
        them at the same place as the master, which carries the grant in its path when played with one (the
        gateway's /media/play/{grant}/assets/{id}/hls/{name}), so variants are granted as the master was."""
        asset = await self._playable(caller, asset_id, grant)
        allowed = {"master.m3u8", *(f"{rung}/index.m3u8" for rung in json.loads(asset.renditions_json))}
        if asset.state != State.READY or name not in allowed:
            raise NotFound("no such playlist")
        folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        text = (await self.store.get_bytes(f"{asset.rendition_prefix}/hls/{name}")).decode()

        def signed(uri: str) -> str:
            key = f"{asset.rendition_prefix}/hls/{folder}{uri}"
            return self.store.presign_get(key, self.config.playback_url_expiry)

        lines = []
        for line in text.splitlines():
            # Segments and the fMP4 init segment come straight from storage, by URLs that expire;
            # variant playlists stay relative, so the player asks the gateway for them.
            if line.startswith("#EXT-X-MAP:"):
                line = HLS_MAP_URI.sub(lambda match: f'URI="{signed(match.group(1))}"', line)
            elif line and not line.startswith("#") and not line.endswith(".m3u8"):
                line = signed(line)
            lines.append(line)
        return "\n".join(lines) + "\n"

    # ---- subtitles ----------------------------------------------------------------------

    async def attach_subtitle(self, caller: Caller, video_id: str, language: str, content: bytes) -> Asset:
        if language not in subtitles.LANGUAGES:
            raise InvalidArgument(f"language is one of {', '.join(subtitles.LANGUAGES)} (one file per language)")
        async with self.db.transaction() as session:
            asset = await self._asset(session, video_id)
        rules.require_owner(caller, asset.owner_id, asset.school_id)
        if asset.category != "video":
            raise FailedPrecondition("subtitles attach to a video")
        try:
            cues, problems, normalized = subtitles.parse_srt(content, asset.duration_seconds or None)
        except ValueError as error:
            raise InvalidArgument(str(error)) from error
        if problems:
            listed = "; ".join(f"line {p.line}: {p.reason}" for p in problems[:20])
            raise InvalidArgument(f"the subtitles have {len(problems)} problem(s): {listed}", reason="BAD_SUBTITLES")
        characters = await self._subtitle_characters(asset, language, content)
        key = f"subtitles/{asset.id}/{language}.srt"
        await self.store.put_bytes(key, normalized.encode(), "application/x-subrip; charset=utf-8")
        vtt = webvtt_key(key)  # browsers' form, stored beside it
        await self.store.put_bytes(vtt, subtitles.to_webvtt(cues).encode(), subtitles.WEBVTT_CONTENT_TYPE)
        self._webvtt_stored.add(vtt)
        async with self.db.transaction() as session:
            asset = await self._asset(session, video_id)
            if characters is not None:
                report = [line for line in json.loads(asset.spec_report_json or "[]")
                          if line.get("rule") != characters.rule]
                asset.spec_report_json = json.dumps(report + [asdict(characters)], ensure_ascii=False)
            track = next((t for t in asset.subtitles if t.language == language), None)
            if track is None:
                asset.subtitles.append(SubtitleTrack(language=language, cues=len(cues), object_key=key))
            else:
                track.cues, track.attached_at = len(cues), self.clock()
        return await self.get_asset(caller, video_id)

    async def _subtitle_characters(self, asset: Asset, language: str, content: bytes) -> spec.RuleResult | None:
        """The spec line on the track's characters, or None where the school's standard does not ask; refused
        when the standard makes traditional characters a failure (the answer names each line and the policy)."""
        profile = spec.profile_for_policy(await self.policies(asset.school_id))
        if not profile.traditional_subtitles:
            return None
        found = subtitles.traditional_lines(content)
        rule, limit = f"{spec.SUBTITLE_RULE_PREFIX}simplified_{language}", "simplified characters only"
        if not found:
            return spec.RuleResult(rule, spec.PASS, "simplified only", limit)
        listed = subtitles.describe_traditional(found)
        if profile.traditional_subtitles == spec.FAIL:
            applied = f" (policy in force: {profile.policy.applied})" if profile.policy else ""
            raise InvalidArgument(f"the subtitles use traditional characters, and the {profile.label} standard"
                                  f"{applied} asks for simplified characters only: {listed}",
                                  reason="TRADITIONAL_CHARACTERS")
        return spec.RuleResult(rule, spec.WARN, f"traditional characters on {len(found)} line(s): {listed}", limit)

    # ---- deletion and retries ----------------------------------------------------------

    async def delete_asset(self, caller: Caller, asset_id: str, reason: str) -> None:
        """The owner, or the school's admin as reviewer, deletes; storage is freed at once."""
        async with self.db.transaction() as session:
            asset = await self._asset(session, asset_id)
            rules.require_viewer(caller, asset.owner_id, asset.school_id)
            upload_id, state = asset.upload_id, asset.state
            asset.state, asset.failure_reason, asset.upload_id = State.DELETED, reason or "deleted", ""
            if state == State.READY and asset.review_state == Review.UNREVIEWED:
                await withdraw_review(session, outbox, owner=OWNER, kind=KIND_MEDIA_ASSET, subject_id=asset.id,
                                      reason="the asset was deleted")
            if state == State.READY:  # courses that use it drop it (the course service follows this event)
                await announce_referenceability(session, asset)
        if upload_id:
            await self.store.abort_multipart(asset.source_key, upload_id)
        await self._delete_objects(asset)

    async def _delete_objects(self, asset: Asset) -> None:
        await self.store.delete_prefix(asset.source_key)
        await self.store.delete_prefix(f"renditions/{asset.id}/")
        await self.store.delete_prefix(f"subtitles/{asset.id}/")
        await self.store.delete_prefix(f"chunks/{asset.id}/")  # a long source's chunks, while it was processed

    async def retry_asset(self, caller: Caller, asset_id: str) -> Asset:
        async with self.db.transaction() as session:
            asset = await self._asset(session, asset_id)
            rules.require_owner(caller, asset.owner_id, asset.school_id)
            if asset.state != State.FAILED:
                raise FailedPrecondition(f"only a failed asset is retried; this one is {asset.state}")
            if not asset.sha256:
                raise FailedPrecondition("the upload itself was refused; upload the file again")
            asset.attempt += 1
            asset.state, asset.progress, asset.failure_reason = State.UPLOADED, 0.0, ""
            await queue_for_processing(session, asset)
            return asset

    async def fail_stalled_jobs(self) -> int:
        """Assets whose processing fell silent for `stalled_after`: a whole-file job fails (retry it); a chunked
        attempt's unfinished steps are queued again, or it fails naming the step that kept stopping its workers.
        The number of assets acted on."""
        now = self.clock()
        cutoff = now - self.config.stalled_after
        active = (State.PROBING, State.TRANSCODING, State.PACKAGING)
        async with self.db.transaction() as session:
            # A chunked attempt writes its progress on its chunks' rows: the stall check below reads those.
            chunked = select(ChunkPlan.asset_id).where(ChunkPlan.asset_id == Asset.id,
                                                       ChunkPlan.attempt == Asset.attempt)
            stalled = list(await session.scalars(
                select(Asset).where(Asset.state.in_(active), Asset.updated_at < cutoff, ~chunked.exists())))
            for asset in stalled:
                asset.state = State.FAILED
                asset.failure_reason = "processing stopped without an answer from the worker; retry it"
        revived, failed = await stalled_chunks.revive_or_fail(
            self.db, self.store, cutoff, now, self.config.job_max_deliver, self.config.stalled_requeues,
            queue_for_processing)
        return len(stalled) + len(revived) + len(failed)

    async def clean_abandoned_uploads(self) -> int:
        """Uploads left unfinished for longer than `abandoned_after` are aborted and forgotten."""
        cutoff = self.clock() - self.config.abandoned_after
        async with self.db.transaction() as session:
            stale = list(await session.scalars(
                select(Asset).where(Asset.state == State.UPLOADING, Asset.created_at < cutoff)))
        for asset in stale:
            await self.store.abort_multipart(asset.source_key, asset.upload_id)
            async with self.db.transaction() as session:
                current = await session.get(Asset, asset.id)
                if current is not None and current.state == State.UPLOADING:
                    current.state, current.upload_id = State.DELETED, ""
                    current.failure_reason = "the upload was abandoned and cleaned up"
        return len(stale)

    # ---- review decisions (event handler) ------------------------------------------------

    async def apply_review_decision(
        self, session: AsyncSession, decided: review_pb2.ReviewDecided, meta: EventMeta
    ) -> None:
        if decided.kind != KIND_MEDIA_ASSET:
            return
        asset = await session.get(Asset, decided.subject_id)
        if asset is None or asset.state != State.READY or asset.review_state != Review.UNREVIEWED:
            return
        approved = decided.decision == "approved"
        asset.review_state = Review.APPROVED if approved else Review.REJECTED
        asset.review_reason = "" if approved else decided.reason
        await announce_referenceability(session, asset)
