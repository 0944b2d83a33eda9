"""The facts of assets the course service asks for a course's acceptance (height, subtitles, owner): read with
its own key only, since no user is behind the figures."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select

from contracts.media.v1 import media_pb2
from servicekit.auth import Caller
from servicekit.db import Database
from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.service_keys import SERVICE_ROLE
from services.media.adapters.orm import Asset
from services.media.domain.facts import ASSET_FACTS_READER, MAX_ASSET_FACTS, video_height
from services.media.domain.rules import State


class AssetFactsHandlers:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def asset_facts(self, caller: Caller, asset_ids: Sequence[str]) -> list[media_pb2.AssetFacts]:
        """Each asset found (deleted or unknown ones are left out), in id order."""
        if caller.role != SERVICE_ROLE or caller.user_id != f"service:{ASSET_FACTS_READER}":
            raise PermissionDenied("the facts of assets are read by the course service only",
                                   reason="ASSET_FACTS_COURSE_SERVICE_ONLY")
        wanted = sorted({asset_id for asset_id in asset_ids if asset_id})
        if len(wanted) > MAX_ASSET_FACTS:
            raise InvalidArgument(f"ask for at most {MAX_ASSET_FACTS} assets at a time; got {len(wanted)}",
                                  reason="TOO_MANY_ASSETS")
        if not wanted:
            return []
        async with self.db.read() as session:
            assets = list(await session.scalars(
                select(Asset).where(Asset.id.in_(wanted), Asset.state != State.DELETED).order_by(Asset.id)))
            return [media_pb2.AssetFacts(
                asset_id=asset.id, owner_id=asset.owner_id, has_subtitles=bool(asset.subtitles),
                height=video_height(json.loads(asset.renditions_json or "[]"),
                                    json.loads(asset.spec_report_json or "[]")))
                for asset in assets]
