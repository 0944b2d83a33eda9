"""How many quizzes, unit tests, exams, assignments and discussion topics a course's runs have: the learning
service's part of a course's completion acceptance facts (seed 002 annex 2, 材料完整), read by the course service
with its own key (the facts are a course's, not a user's)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from contracts.learning.v1 import learning_pb2 as pb
from servicekit.auth import Caller
from servicekit.db import Database
from services.learning.adapters.assessment_tables import QuizRow
from services.learning.adapters.assignment_tables import AssignmentRow
from services.learning.adapters.forum_tables import ForumTopicRow
from services.learning.domain.assessments import EXAM, IN_VIDEO, UNIT_TEST
from services.learning.service_layer.progress import course_service_runs


async def activity_counts(db: Database, caller: Caller, run_ids: Sequence[str]) -> pb.RunActivityCounts:
    wanted = course_service_runs(caller, run_ids, "the activity counts of runs")
    if not wanted:
        return pb.RunActivityCounts()
    async with db.read() as session:
        quizzes = dict((await session.execute(select(QuizRow.kind, func.count(QuizRow.id)).where(
            QuizRow.run_id.in_(wanted)).group_by(QuizRow.kind))).all())
        assignments = await session.scalar(select(func.count(AssignmentRow.id)).where(
            AssignmentRow.run_id.in_(wanted))) or 0
        topics = await session.scalar(select(func.count(ForumTopicRow.id)).where(
            ForumTopicRow.run_id.in_(wanted))) or 0
    return pb.RunActivityCounts(in_video_quizzes=quizzes.get(IN_VIDEO, 0), unit_tests=quizzes.get(UNIT_TEST, 0),
                                exams=quizzes.get(EXAM, 0), assignments=assignments, discussion_topics=topics)
