"""The learning service, as the course service asks it: the minutes of video credited to students per run, for the
school report, and the quizzes and discussion topics of a course's runs and their students' evaluation, for its
acceptance facts. The figures have no user behind them, so the course service presents its own key (the learning
service grants that key these reads)."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from contracts.learning.v1 import evaluation_pb2, evaluation_pb2_grpc, learning_pb2, learning_pb2_grpc
from servicekit.errors import Unavailable
from servicekit.service_keys import service_metadata
from services.course.domain.acceptance import RunEvaluation

SERVICE = "course"
TIMEOUT = 10.0
MAX_RUNS_PER_CALL = 1000  # the learning service's limit per call


class LearningPeer:
    def __init__(self, channel: grpc.aio.Channel, key: str) -> None:
        self.stub = learning_pb2_grpc.LearningServiceStub(channel)
        self.evaluation = evaluation_pb2_grpc.EvaluationServiceStub(channel)
        self.metadata = service_metadata(SERVICE, key)

    async def watched_minutes(self, run_ids: Sequence[str]) -> dict[str, float]:
        """Minutes watched per run (runs nobody watched are left out), asked in batches of at most 1,000 runs.
        Unavailable when the learning service does not answer (or refuses)."""
        wanted = sorted(set(run_ids))
        minutes: dict[str, float] = {}
        for start in range(0, len(wanted), MAX_RUNS_PER_CALL):
            try:
                reply = await self.stub.GetWatchedMinutes(
                    learning_pb2.GetWatchedMinutesRequest(run_ids=wanted[start:start + MAX_RUNS_PER_CALL]),
                    metadata=self.metadata, timeout=TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise Unavailable(f"the learning service did not give the minutes watched ({error.code().name}: "
                                  f"{error.details()})", reason="MINUTES_WATCHED_UNAVAILABLE") from error
            minutes.update(reply.minutes_by_run)
        return minutes

    async def activity_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """Quizzes (in-video), unit tests, exams, assignments and discussion topics of the runs together.
        Unavailable when the learning service does not answer (or refuses)."""
        wanted = sorted(set(run_ids))
        counts: dict[str, int] = {}
        for start in range(0, len(wanted), MAX_RUNS_PER_CALL):
            try:
                reply = await self.stub.GetRunActivityCounts(
                    learning_pb2.GetRunActivityCountsRequest(run_ids=wanted[start:start + MAX_RUNS_PER_CALL]),
                    metadata=self.metadata, timeout=TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise Unavailable(f"the learning service did not give the runs' quizzes and topics "
                                  f"({error.code().name}: {error.details()})",
                                  reason="ACTIVITY_COUNTS_UNAVAILABLE") from error
            for field in ("in_video_quizzes", "unit_tests", "exams", "assignments", "discussion_topics"):
                counts[field] = counts.get(field, 0) + getattr(reply, field)
        return counts

    async def run_evaluations(self, run_ids: Sequence[str]) -> list[RunEvaluation]:
        """The students' evaluation of the runs anybody rated, in term order, asked in batches of at most 1,000
        runs. Unavailable when the learning service does not answer (or refuses)."""
        wanted = sorted(set(run_ids))
        evaluations: list[RunEvaluation] = []
        for start in range(0, len(wanted), MAX_RUNS_PER_CALL):
            try:
                reply = await self.evaluation.GetRunEvaluationScores(
                    evaluation_pb2.GetRunEvaluationScoresRequest(run_ids=wanted[start:start + MAX_RUNS_PER_CALL]),
                    metadata=self.metadata, timeout=TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise Unavailable(f"the learning service did not give the runs' evaluation ({error.code().name}: "
                                  f"{error.details()})", reason="EVALUATION_UNAVAILABLE") from error
            evaluations.extend(RunEvaluation(r.term_code, r.run_number, r.answers, r.score if r.scored else None,
                                             r.grade_name, r.closed) for r in reply.runs)
        return evaluations
