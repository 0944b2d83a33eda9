"""The media service, as the course service asks it for a course's acceptance facts: each video's height,
subtitles and uploader. No user is behind the figures, so the course service presents its own key (the media
service grants that key this one read)."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from contracts.media.v1 import media_pb2, media_pb2_grpc
from servicekit.errors import Unavailable
from servicekit.service_keys import service_metadata
from services.course.domain.acceptance import VideoFacts

SERVICE = "course"
TIMEOUT = 10.0
MAX_ASSETS_PER_CALL = 1000  # the media service's limit per call


class MediaPeer:
    def __init__(self, channel: grpc.aio.Channel, key: str) -> None:
        self.stub = media_pb2_grpc.MediaServiceStub(channel)
        self.metadata = service_metadata(SERVICE, key)

    async def video_facts(self, asset_ids: Sequence[str]) -> dict[str, VideoFacts]:
        """The facts of the assets the media service knows (deleted or unknown ones are left out), asked in batches
        of at most 1,000. Unavailable when the media service does not answer (or refuses)."""
        wanted = sorted(set(asset_ids))
        facts: dict[str, VideoFacts] = {}
        for start in range(0, len(wanted), MAX_ASSETS_PER_CALL):
            try:
                reply = await self.stub.GetAssetFacts(
                    media_pb2.GetAssetFactsRequest(asset_ids=wanted[start:start + MAX_ASSETS_PER_CALL]),
                    metadata=self.metadata, timeout=TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise Unavailable(f"the media service did not give its videos' facts ({error.code().name}: "
                                  f"{error.details()})", reason="ASSET_FACTS_UNAVAILABLE") from error
            facts.update({f.asset_id: VideoFacts(f.height, f.has_subtitles, f.owner_id) for f in reply.facts})
        return facts
