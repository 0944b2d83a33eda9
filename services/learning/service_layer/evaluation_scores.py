"""The students' evaluation of a course's runs as its completion acceptance facts show it (seed 002 annex 2,
课程效果): each rated run's score so far, its grade and its items' mean ratings, without the comments. Read by the
course service with its own key (the facts are a course's, not a user's)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from servicekit.auth import Caller
from servicekit.db import Database
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.evaluation_tables import EvaluatedRunRow, EvaluationAnswerRow, QuestionnaireRow
from services.learning.service_layer.evaluation import RunScoreView, policy_good_score, run_score
from services.learning.service_layer.progress import course_service_runs


async def run_evaluation_scores(db: Database, course: CoursePeer, caller: Caller,
                                run_ids: Sequence[str]) -> list[RunScoreView]:
    wanted = course_service_runs(caller, run_ids, "the evaluation scores of runs")
    if not wanted:
        return []
    async with db.read() as session:
        rows = list(await session.scalars(select(EvaluatedRunRow).where(EvaluatedRunRow.run_id.in_(wanted))
                                          .order_by(EvaluatedRunRow.term_ends_on, EvaluatedRunRow.run_number)))
        answers: dict[str, list[EvaluationAnswerRow]] = defaultdict(list)
        for answer in await session.scalars(select(EvaluationAnswerRow).where(
                EvaluationAnswerRow.run_id.in_([r.run_id for r in rows]))):
            answers[answer.run_id].append(answer)
        versions = {q.id: json.loads(q.items_json) for q in await session.scalars(select(QuestionnaireRow).where(
            QuestionnaireRow.id.in_({a.questionnaire_id for v in answers.values() for a in v})))}
    scores = []
    for row in rows:
        good = row.good_score if row.good_score is not None else policy_good_score(
            await course.policy(row.course_school_id, row.term_code))
        view = run_score(row, answers[row.run_id], versions, good)
        view.comments = []  # the experts read the scores; the comments stay the school's
        scores.append(view)
    return scores
