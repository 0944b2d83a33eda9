"""Question banks: the parent course's (its leader edits it) and each run's copy (the run's team with
edit_content), tagged by plan chapter; a new run copies its source's bank along the course service's node map."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.consumer import EventMeta
from servicekit.db import Database, new_id
from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from services.learning.adapters.assessment_tables import QuestionRow
from services.learning.adapters.course import CoursePeer
from services.learning.domain import assessments as rules
from services.learning.service_layer.assessments import EDIT_CONTENT, Access, key_to_json

MAX_BANK_QUESTIONS = 5_000


@dataclass(frozen=True)
class Bank:
    course_id: str
    run_id: str  # "" for the parent course's bank
    chapters: frozenset[str]


class BankHandlers:
    def __init__(self, db: Database, course: CoursePeer) -> None:
        self.db = db
        self.course = course

    async def _bank(self, caller: Caller, course_id: str, run_id: str, editing: bool) -> Bank:
        """The bank named, once the caller may use it: a run's (its team; editing needs edit_content) or a parent
        course's (its leader)."""
        if run_id:
            access = Access(caller, await self.course.learner_context(run_id))
            if editing:
                access.require_team(EDIT_CONTENT, "edit the run's question bank")
            elif not access.team:
                raise PermissionDenied("only the run's team sees its question bank", reason="TEAM_ONLY")
            if course_id and course_id != access.context.run.course_id:
                raise InvalidArgument("the run is not a run of that course")
            chapters = frozenset(n.node.id for n in access.context.nodes if n.node.kind == "chapter")
            return Bank(access.context.run.course_id, run_id, chapters)
        if not course_id:
            raise InvalidArgument("name the bank: a course_id (the parent course's) or a run_id (a run's)")
        course = await self.course.course(course_id)
        if course.leader_id != caller.user_id:
            raise PermissionDenied("only the course leader uses the parent course's question bank; a run's team "
                                   "uses the run's copy", reason="COURSE_LEADER_ONLY")
        plan = await self.course.plan(course_id)
        return Bank(course_id, "", frozenset(n.id for n in plan.nodes if n.kind == "chapter"))

    @staticmethod
    def _check_chapter(bank: Bank, chapter_id: str) -> None:
        if chapter_id and chapter_id not in bank.chapters:
            raise InvalidArgument("chapter_id is not a chapter of this bank's plan (a run's bank is tagged with the "
                                  "run's chapters)", reason="BAD_QUESTION")

    async def create_question(self, caller: Caller, course_id: str, run_id: str, chapter_id: str,
                              content: rules.QuestionContent) -> QuestionRow:
        bank = await self._bank(caller, course_id, run_id, editing=True)
        self._check_chapter(bank, chapter_id)
        content = rules.validate_question(content)
        async with self.db.transaction() as session:
            count = len(list(await session.scalars(select(QuestionRow.id).where(
                QuestionRow.course_id == bank.course_id, QuestionRow.run_id == bank.run_id))))
            if count >= MAX_BANK_QUESTIONS:
                raise InvalidArgument(f"a bank holds at most {MAX_BANK_QUESTIONS} questions")
            row = QuestionRow(id=new_id(), course_id=bank.course_id, run_id=bank.run_id, chapter_id=chapter_id,
                              created_by=caller.user_id, created_at=utcnow())
            _fill(row, content)
            session.add(row)
        return row

    async def _owned(self, caller: Caller, question_id: str, editing: bool) -> QuestionRow:
        async with self.db.read() as session:
            row = await session.get(QuestionRow, question_id)
        if row is None:
            raise NotFound("no such question")
        await self._bank(caller, row.course_id, row.run_id, editing)
        return row

    async def update_question(self, caller: Caller, question_id: str, chapter_id: str,
                              content: rules.QuestionContent) -> QuestionRow:
        """Quizzes already set keep the question as it was (they hold a snapshot)."""
        row = await self._owned(caller, question_id, editing=True)
        bank = await self._bank(caller, row.course_id, row.run_id, editing=True)
        self._check_chapter(bank, chapter_id)
        content = rules.validate_question(content)
        async with self.db.transaction() as session:
            row = await session.get(QuestionRow, question_id)
            if row is None:
                raise NotFound("no such question")
            row.chapter_id = chapter_id
            _fill(row, content)
        return row

    async def delete_question(self, caller: Caller, question_id: str) -> None:
        await self._owned(caller, question_id, editing=True)
        async with self.db.transaction() as session:
            row = await session.get(QuestionRow, question_id)
            if row is not None:
                await session.delete(row)

    async def list_questions(self, caller: Caller, course_id: str, run_id: str, chapter_id: str
                             ) -> list[QuestionRow]:
        bank = await self._bank(caller, course_id, run_id, editing=False)
        async with self.db.read() as session:
            query = select(QuestionRow).where(QuestionRow.course_id == bank.course_id,
                                              QuestionRow.run_id == bank.run_id)
            if chapter_id:
                query = query.where(QuestionRow.chapter_id == chapter_id)
            return list(await session.scalars(query.order_by(QuestionRow.created_at, QuestionRow.id)))

    async def copy_on_run_opened(self, session: AsyncSession, event: course_pb2.RunOpened, meta: EventMeta) -> None:
        """course.run.opened: the source's bank (the parent course's, or the previous run's on a re-run) becomes
        the run's, each chapter tag re-pointed to the run's own chapter (a tag the map does not know is dropped)."""
        nodes = {n.from_id: n.to_id for n in event.nodes}
        source_course = event.source_course_id or event.run.course_id
        sources = await session.scalars(select(QuestionRow).where(
            QuestionRow.course_id == source_course, QuestionRow.run_id == event.source_run_id)
            .order_by(QuestionRow.created_at, QuestionRow.id))
        now = utcnow()
        for source in sources:
            session.add(QuestionRow(
                id=new_id(), course_id=event.run.course_id, run_id=event.run.id,
                chapter_id=nodes.get(source.chapter_id, "") if source.chapter_id else "",
                kind=source.kind, stem=source.stem, options_json=source.options_json, key_json=source.key_json,
                source_question_id=source.id, created_by=source.created_by, created_at=now, updated_at=now))


def _fill(row: QuestionRow, content: rules.QuestionContent) -> None:
    row.kind, row.stem = content.kind, content.stem
    row.options_json = json.dumps(list(content.options), ensure_ascii=False)
    row.key_json = key_to_json(content.key)
    row.updated_at = utcnow()
