"""Learning: The course forum (课程论坛) (the learning service's ForumService)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes.deps import NoNulCharacters

router = APIRouter(tags=["forum"], dependencies=[NoNulCharacters])
