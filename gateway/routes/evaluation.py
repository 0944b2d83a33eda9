"""Learning: Student evaluation of teaching (网上评教) (the learning service's EvaluationService)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes.deps import NoNulCharacters

router = APIRouter(tags=["evaluation"], dependencies=[NoNulCharacters])
