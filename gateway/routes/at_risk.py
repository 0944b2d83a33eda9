"""Learning: At-risk learners (学习预警) and their follow-up (回访) (the learning service's AtRiskService)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes.deps import NoNulCharacters

router = APIRouter(tags=["at-risk"], dependencies=[NoNulCharacters])
