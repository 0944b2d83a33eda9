"""run_scores, the contract the gradebook reads: every quiz and exam of a run per student who took any, by each
quiz's grading method, an attempt past its deadline counted with what was saved."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from servicekit.clock import utcnow
from servicekit.db import Database
from services.learning.adapters.assessment_tables import AttemptRow, QuizQuestionRow, QuizRow
from services.learning.adapters.orm import Base
from services.learning.domain.assessments import ScoredItem
from services.learning.service_layer.assessments import run_scores


async def test_run_scores_cover_every_quiz_for_each_student_who_took_any(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'scores.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    now = utcnow()
    key = json.dumps({"correct": [1]})
    async with db.transaction() as session:
        session.add_all([
            QuizRow(id="q1", run_id="r", kind="in_video", title="随堂", grading_method="average",
                    created_at=now - timedelta(minutes=3)),
            QuizRow(id="q2", run_id="r", kind="unit_test", title="单元", weight=2.0,
                    created_at=now - timedelta(minutes=2)),
            QuizRow(id="ex", run_id="r", kind="exam", title="期末", created_at=now - timedelta(minutes=1)),
            QuizQuestionRow(quiz_id="ex", question_id="s", position=1, points=10, kind="single_choice", stem="?",
                            options_json='["a", "b"]', key_json=key),
            AttemptRow(id="a1", quiz_id="q1", run_id="r", student_id="u1", number=1, submitted_at=now, score=40),
            AttemptRow(id="a2", quiz_id="q1", run_id="r", student_id="u1", number=2, submitted_at=now, score=80),
            AttemptRow(id="a3", quiz_id="q1", run_id="r", student_id="u2", number=1, score=None),  # in progress
            # past its deadline, never submitted: counted with what was saved
            AttemptRow(id="a4", quiz_id="ex", run_id="r", student_id="u2", number=1, deadline_at=now,
                       answers_json=json.dumps({"s": {"choices": [1]}})),
            AttemptRow(id="o1", quiz_id="q1", run_id="other", student_id="u3", number=1, submitted_at=now, score=9),
        ])
    async with db.read() as session:
        scores = await run_scores(session, "r")
    await db.engine.dispose()
    assert set(scores) == {"u1", "u2"}
    assert scores["u1"] == [ScoredItem("q1", "随堂", "quizzes", 1.0, pytest.approx(60)),
                            ScoredItem("q2", "单元", "quizzes", 2.0, None),
                            ScoredItem("ex", "期末", "final_exam", 1.0, None)]
    assert [(i.item_id, i.score) for i in scores["u2"]] == [("q1", None), ("q2", None), ("ex", 100.0)]
