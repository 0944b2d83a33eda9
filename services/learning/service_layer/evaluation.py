"""Student evaluation of teaching (网上评教): each school's questionnaire (versioned), a student's one anonymous
answer per run inside its window, the sweep that closes a run's evaluation when its window ends (its final score,
and a flag to the course's school admins when the course has been below good for the policy's terms in a row), and
the school admin's results per course, term and teacher.

Anonymity: a receipt says that a student rated a run and when; the answer says what was rated, with no student id
and no time; nothing joins them, so nobody (teachers, admins, operators reading the tables) can tell who said what.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import grpc
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import AlreadyExists, FailedPrecondition, PermissionDenied
from servicekit.text import check_text
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.evaluation_tables import (
    EvaluatedRunRow,
    EvaluationAnswerRow,
    EvaluationReceiptRow,
    QuestionnaireRow,
)
from services.learning.domain import evaluation as rules
from services.learning.service_layer.inbox import Message, deliver, school_admins

log = logging.getLogger(__name__)

RATEABLE_STATES = ("published", "running", "ended")  # approved runs (an ended run is rated after its term)
KIND = "evaluation"


@dataclass(frozen=True)
class Questionnaire:
    school_id: str
    version: int  # 0: the platform's default
    title: str
    items: list[str]
    id: str = ""
    created_at: datetime | None = None
    created_by: str = ""


def default_questionnaire(school_id: str) -> Questionnaire:
    return Questionnaire(school_id, 0, rules.DEFAULT_TITLE, list(rules.DEFAULT_ITEMS))


def questionnaire_of(row: QuestionnaireRow) -> Questionnaire:
    return Questionnaire(row.school_id, row.version, row.title, json.loads(row.items_json), row.id, row.created_at,
                         row.created_by)


@dataclass
class RunEvaluationView:
    run_id: str
    course_name: str
    term_code: str
    window: rules.Window
    open: bool
    submitted: bool
    questionnaire: Questionnaire


@dataclass
class RunScoreView:
    row: EvaluatedRunRow
    answers: int
    score: float | None
    good_score: float
    items: list[tuple[str, float, int]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    @property
    def grade(self) -> str:
        return "" if self.score is None else rules.grade(self.score, self.good_score)


@dataclass
class CourseResultView:
    course_id: str
    course_name: str
    runs: list[RunScoreView]
    flag_terms: list[str]
    stopped: bool = False
    stop_reason: str = ""


@dataclass
class TeacherResultView:
    user_id: str
    name: str
    role: str
    run: EvaluatedRunRow
    answers: int
    score: float | None
    good_score: float

    @property
    def grade(self) -> str:
        return "" if self.score is None else rules.grade(self.score, self.good_score)


def policy_good_score(policy: dict[str, float]) -> float:
    value = policy.get("evaluation_good_score", rules.DEFAULT_GOOD_SCORE)
    return rules.DEFAULT_GOOD_SCORE if value != value else float(value)  # nan: "not counted" keeps the default


def _terms_below(policy: dict[str, float]) -> int:
    value = policy.get("evaluation_terms_below", rules.DEFAULT_TERMS_BELOW)
    return rules.DEFAULT_TERMS_BELOW if value != value else int(value)


class EvaluationHandlers:
    def __init__(self, db: Database, course: CoursePeer, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.clock = clock

    # ---- the questionnaire -------------------------------------------------------------------------------

    async def questionnaire(self, caller: Caller) -> Questionnaire:
        caller.require_role("school_admin")
        async with self.db.read() as session:
            return await self._in_force(session, caller.school_id or "")

    async def put_questionnaire(self, caller: Caller, title: str, items: list[str]) -> Questionnaire:
        caller.require_role("school_admin")
        school_id = caller.school_id or ""
        checked = rules.check_items(items)
        title = check_text(title, "the title", rules.MAX_TITLE, required=False) or rules.DEFAULT_TITLE
        async with self.db.transaction() as session:
            current = await self._in_force(session, school_id)
            row = QuestionnaireRow(id=new_id(), school_id=school_id, version=current.version + 1, title=title,
                                   items_json=json.dumps(checked, ensure_ascii=False), created_by=caller.user_id,
                                   created_at=self.clock())
            session.add(row)
        return questionnaire_of(row)

    @staticmethod
    async def _in_force(session: AsyncSession, school_id: str) -> Questionnaire:
        row = await session.scalar(select(QuestionnaireRow).where(QuestionnaireRow.school_id == school_id)
                                   .order_by(QuestionnaireRow.version.desc()).limit(1)) if school_id else None
        return questionnaire_of(row) if row is not None else default_questionnaire(school_id)

    # ---- a student rates a run ---------------------------------------------------------------------------

    async def _student_context(self, caller: Caller, run_id: str) -> course_pb2.LearnerContext:
        context = await self.course.learner_context(run_id)
        if context.relation != "student":
            raise PermissionDenied("only the run's students rate it", reason="STUDENTS_ONLY")
        return context

    async def run_evaluation(self, caller: Caller, run_id: str) -> RunEvaluationView:
        context = await self._student_context(caller, run_id)
        window = rules.window(date.fromisoformat(context.term_ends_on))
        now = self.clock()
        async with self.db.read() as session:
            questionnaire = await self._in_force(session, context.student_school_id)
            submitted = await session.get(EvaluationReceiptRow, (run_id, caller.user_id)) is not None
        return RunEvaluationView(run_id, context.run.course_name, context.run.term_code, window,
                                 window.opens_at <= now < window.closes_at and context.run.state in RATEABLE_STATES,
                                 submitted, questionnaire)

    async def submit(self, caller: Caller, run_id: str, ratings: list[int], comment: str,
                     questionnaire_version: int) -> RunEvaluationView:
        context = await self._student_context(caller, run_id)
        if context.run.state not in RATEABLE_STATES:
            raise FailedPrecondition("this run is not open to students", reason="RUN_NOT_RATEABLE")
        ends_on = date.fromisoformat(context.term_ends_on)
        window = rules.window(ends_on)
        window.check_open(self.clock())
        comment = rules.check_comment(comment)
        for attempt in range(2):  # two first answers at once may both create the run's row: the second retries
            try:
                async with self.db.transaction() as session:
                    if await session.get(EvaluationReceiptRow, (run_id, caller.user_id)) is not None:
                        raise AlreadyExists("you have rated this run already (once per run)",
                                            reason="ALREADY_EVALUATED")
                    questionnaire = await self._in_force(session, context.student_school_id)
                    if questionnaire_version and questionnaire_version != questionnaire.version:
                        raise FailedPrecondition("your school changed its questionnaire since you opened it; "
                                                 "reload it and answer again", reason="QUESTIONNAIRE_CHANGED")
                    checked = rules.check_ratings(ratings, len(questionnaire.items))
                    if await session.get(EvaluatedRunRow, run_id) is None:
                        run = context.run
                        session.add(EvaluatedRunRow(
                            run_id=run_id, course_id=run.course_id, course_name=run.course_name,
                            course_school_id=run.school_id, run_number=run.number, term_code=run.term_code,
                            term_ends_on=ends_on, leader_id=context.leader_id, closes_at=window.closes_at))
                    now = self.clock()
                    session.add(EvaluationReceiptRow(run_id=run_id, student_id=caller.user_id, submitted_at=now))
                    session.add(EvaluationAnswerRow(
                        id=new_id(), run_id=run_id, questionnaire_id=questionnaire.id,
                        school_id=context.student_school_id, class_id=context.class_id,
                        ratings_json=json.dumps(checked), mean_rating=rules.mean(checked), comment=comment))
                break
            except IntegrityError:
                if attempt:
                    raise
        return RunEvaluationView(run_id, context.run.course_name, context.run.term_code, window, True, True,
                                 questionnaire)

    # ---- closing: the sweep ------------------------------------------------------------------------------

    async def close_due(self) -> int:
        """Closes every run whose window has ended: its final score and the policy's good score of its school
        and term; then flags its course to the school's admins when the course is below good for the policy's
        terms in a row. Idempotent (a closed run is not closed again; a flag is delivered once per course and
        last term)."""
        now = self.clock()
        async with self.db.read() as session:
            due = list(await session.scalars(select(EvaluatedRunRow).where(
                EvaluatedRunRow.closed_at.is_(None), EvaluatedRunRow.closes_at <= now)))
        closed = 0
        for row in due:
            policy = await self.course.policy(row.course_school_id, row.term_code)
            async with self.db.transaction() as session:
                run = await session.get(EvaluatedRunRow, row.run_id, with_for_update=True)
                if run is None or run.closed_at is not None:
                    continue
                means = list(await session.scalars(select(EvaluationAnswerRow.mean_rating).where(
                    EvaluationAnswerRow.run_id == run.run_id)))
                run.answers, run.score = len(means), rules.score(means)
                run.good_score, run.closed_at = policy_good_score(policy), now
                await session.flush()
                flag = rules.course_flagged(await self._term_results(session, run.course_id), _terms_below(policy))
                if flag:
                    await deliver(session, [self._flag_message(run, flag)], now)
                closed += 1
        return closed

    @staticmethod
    async def _term_results(session: AsyncSession, course_id: str) -> list[rules.TermResult]:
        """The course's closed, answered terms: the answers of its runs in a term together."""
        rows = list(await session.scalars(select(EvaluatedRunRow).where(
            EvaluatedRunRow.course_id == course_id, EvaluatedRunRow.closed_at.is_not(None),
            EvaluatedRunRow.answers > 0)))
        return term_results(rows)

    @staticmethod
    def _flag_message(run: EvaluatedRunRow, flag: list[rules.TermResult]) -> Message:
        terms = "、".join(f"{r.term_code}（{r.score:g} 分）" for r in flag)
        return Message(
            user_id=school_admins(run.course_school_id), kind=KIND,
            key=f"evaluation-below-good:{run.course_id}:{flag[-1].term_code}",
            title=f"课程《{run.course_name}》学生评教连续{len(flag)}个学期未达到良好",
            body=(f"{terms} 的学生网上评教均低于良好。按规定（学校可）中止该课程继续开课，并暂停课程负责人申报其他"
                  f"在线开放课程，待整改完毕后恢复。"),
            link=f"/admin/evaluation?course_id={run.course_id}")

    # ---- results: the school admin -----------------------------------------------------------------------

    async def results(self, caller: Caller, term_code: str = "", course_id: str = ""
                      ) -> tuple[list[CourseResultView], list[TeacherResultView]]:
        caller.require_role("school_admin")
        school_id = caller.school_id or ""
        statement = select(EvaluatedRunRow).where(EvaluatedRunRow.course_school_id == school_id)
        if course_id:
            statement = statement.where(EvaluatedRunRow.course_id == course_id)
        async with self.db.read() as session:
            rows = list(await session.scalars(statement.order_by(EvaluatedRunRow.term_ends_on.desc(),
                                                                 EvaluatedRunRow.run_number.desc())))
            flags = {}
            for cid in {r.course_id for r in rows}:
                closed = [r for r in rows if r.course_id == cid and r.closed_at is not None and r.answers > 0]
                terms = await self._terms_below_for(school_id, closed)
                flags[cid] = [t.term_code for t in rules.course_flagged(term_results(closed), terms)]
            shown = [r for r in rows if not term_code or r.term_code == term_code]
            answers: dict[str, list[EvaluationAnswerRow]] = defaultdict(list)
            versions: dict[str, list[str]] = {}
            if shown:
                for answer in await session.scalars(select(EvaluationAnswerRow).where(
                        EvaluationAnswerRow.run_id.in_([r.run_id for r in shown]))):
                    answers[answer.run_id].append(answer)
                versions = {q.id: json.loads(q.items_json) for q in await session.scalars(select(QuestionnaireRow)
                            .where(QuestionnaireRow.id.in_({a.questionnaire_id for v in answers.values()
                                                            for a in v})))}
        scores = []
        for row in shown:
            good = row.good_score if row.good_score is not None else policy_good_score(
                await self.course.policy(school_id, row.term_code))
            scores.append(run_score(row, answers[row.run_id], versions, good))
        courses: dict[str, CourseResultView] = {}
        for view in scores:
            courses.setdefault(view.row.course_id, CourseResultView(
                view.row.course_id, view.row.course_name, [], flags.get(view.row.course_id, []))).runs.append(view)
        for cid in set(flags) - set(courses):  # a flag shows even when the term filter hides the terms behind it
            if flags[cid]:
                name = next(r.course_name for r in rows if r.course_id == cid)
                courses[cid] = CourseResultView(cid, name, [], flags[cid])
        for view in courses.values():
            await self._stop_state(view)
        teachers = []
        for view in scores:
            teachers.extend(await self._teachers(view, answers[view.row.run_id]))
        return list(courses.values()), teachers

    async def _terms_below_for(self, school_id: str, closed: list[EvaluatedRunRow]) -> int:
        latest = max(closed, key=lambda r: r.term_ends_on, default=None)
        return _terms_below(await self.course.policy(school_id, latest.term_code if latest else ""))

    async def _stop_state(self, view: CourseResultView) -> None:
        try:
            course = await self.course.course(view.course_id)
        except grpc.aio.AioRpcError as error:  # a course gone or not seen: its results still show
            log.warning("course %s not read for its stop: %s", view.course_id, error.code().name)
            return
        view.stopped, view.stop_reason = course.stopped, course.stop_reason

    async def _teachers(self, view: RunScoreView, answers: list[EvaluationAnswerRow]) -> list[TeacherResultView]:
        """The run's team: the leader and members with the run's score; a class's teacher (a tutor teacher of an
        adopting school) with their classes' answers only."""
        row = view.row
        try:
            team = await self.course.stub.GetTeam(course_pb2.GetTeamRequest(run_id=row.run_id),
                                                  **CoursePeer._on_behalf())
            classes = await self.course.classes(row.run_id)
        except grpc.aio.AioRpcError as error:
            log.warning("team of run %s not read: %s", row.run_id, error.code().name)
            return []
        taught: dict[str, set[str]] = defaultdict(set)
        for course_class in classes:
            if course_class.teacher_id and not course_class.public:
                taught[course_class.teacher_id].add(course_class.id)
        result = []
        for member in team.members:
            mine = taught.get(member.user_id)
            if member.leader or not mine:
                result.append(TeacherResultView(member.user_id, member.name, "leader" if member.leader else "team",
                                                row, view.answers, view.score, view.good_score))
            else:
                means = [a.mean_rating for a in answers if a.class_id in mine]
                result.append(TeacherResultView(member.user_id, member.name, "tutor", row, len(means),
                                                rules.score(means), view.good_score))
        return result


def term_results(rows: list[EvaluatedRunRow]) -> list[rules.TermResult]:
    """Closed runs by term: the answer-weighted score of the term's runs, with the term's good score."""
    by_term: dict[str, list[EvaluatedRunRow]] = defaultdict(list)
    for row in rows:
        if row.score is not None and row.answers:
            by_term[row.term_code].append(row)
    results = []
    for term, runs in by_term.items():
        answers = sum(r.answers for r in runs)
        value = round(sum((r.score or 0.0) * r.answers for r in runs) / answers, 2)
        good = runs[0].good_score if runs[0].good_score is not None else rules.DEFAULT_GOOD_SCORE
        results.append(rules.TermResult(term, runs[0].term_ends_on, value, good))
    return results


def run_score(row: EvaluatedRunRow, answers: list[EvaluationAnswerRow], versions: dict[str, list[str]],
              good_score: float) -> RunScoreView:
    """A run's score so far (final once closed), its items' mean ratings and its comments (anonymous, sorted)."""
    item_ratings: dict[str, list[int]] = defaultdict(list)
    for answer in answers:
        texts = versions.get(answer.questionnaire_id) or list(rules.DEFAULT_ITEMS)
        for text, rating in zip(texts, json.loads(answer.ratings_json), strict=False):
            item_ratings[text].append(rating)
    items = [(text, round(rules.mean(r), 2), len(r)) for text, r in item_ratings.items()]
    comments = sorted(a.comment for a in answers if a.comment)
    score = row.score if row.closed_at is not None else rules.score(a.mean_rating for a in answers)
    return RunScoreView(row, len(answers), score, good_score, items, comments)
