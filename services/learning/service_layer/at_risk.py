"""At-risk learners: the daily sweep that flags students of running runs and reminds them (at most once per the
policy's days), the team's list with the reasons, and teachers' follow-ups (回访). The rules are in
`domain/at_risk.py`; the runs, classes, releases and students come from the course service (the sweep asks with
the learning service's own key: no user is behind it)."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import PermissionDenied
from services.learning.adapters.assessment_tables import AttemptRow, QuizRow
from services.learning.adapters.assignment_tables import AssignmentRow, SubmissionRow
from services.learning.adapters.at_risk_tables import AtRiskFlagRow, AtRiskSweepRow, FollowUpRow
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.orm import PlaySession, UnitProgress
from services.learning.domain import at_risk as rules
from services.learning.domain.assessments import EXAM, OFFLINE
from services.learning.service_layer.assessments import Access
from services.learning.service_layer.inbox import Message, deliver

log = logging.getLogger(__name__)
KIND = "at_risk"


def _stamp(value: Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=UTC)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def reasons_of(row: AtRiskFlagRow) -> list[rules.Reason]:
    return [rules.Reason(**r) for r in json.loads(row.reasons_json or "[]")]


@dataclass(frozen=True)
class FlagView:
    row: AtRiskFlagRow
    reminded_at: datetime | None
    follow_ups: int
    last_follow_up_at: datetime | None


@dataclass(frozen=True)
class History:
    context: course_pb2.LearnerContext
    flags: list[AtRiskFlagRow]
    follow_ups: list[FollowUpRow]


@dataclass(frozen=True)
class FollowUpSpec:
    run_id: str
    student_id: str
    contacted_on: str
    channel: str
    notes: str
    outcome: str


@dataclass
class _RunFacts:
    """What the sweep reads of a run in the learning tables, per student."""

    completed: dict[str, list[tuple[str, datetime]]]   # student -> (unit, completed at)
    activity: dict[str, datetime]                      # student -> latest activity
    handed_in: set[tuple[str, str]]                    # (quiz or assignment, student)
    quizzes: list[QuizRow]
    assignments: list[AssignmentRow]
    last_reminded: dict[str, str]                      # student -> day of the latest reminder


class AtRiskHandlers:
    def __init__(self, db: Database, course: CoursePeer, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.clock = clock
        self._swept_day = ""  # the day this process swept every run running then (a run that starts later that
        # day is swept from the next day on)

    # ---- the daily sweep ----------------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Flags the students of every running run not swept today; returns how many were flagged. The period's
        other runs that day cost nothing (no call to the course service)."""
        now = self.clock()
        day = now.date().isoformat()
        if day == self._swept_day:
            return 0
        runs = await self.course.running_runs()
        async with self.db.read() as session:
            swept = set(await session.scalars(select(AtRiskSweepRow.run_id).where(AtRiskSweepRow.day == day)))
        flagged, failed = 0, 0
        for run in runs:
            if run.id in swept:
                continue
            try:
                flagged += await self.sweep_run(run.id, now)
            except Exception:  # one run's failure does not hold up the others; it is swept again next period
                failed += 1
                log.exception("the at-risk sweep of run %s failed", run.id)
        if failed:
            raise RuntimeError(f"the at-risk sweep failed for {failed} runs (retried next period)")
        self._swept_day = day
        return flagged

    async def sweep_run(self, run_id: str, now: datetime) -> int:
        """One run's flags for the day of `now` (once: a second sweep that day changes nothing)."""
        day = now.date().isoformat()
        learners = await self.course.run_learners(run_id)
        context = learners.context
        thresholds: dict[str, rules.Thresholds] = {}
        for school in {s.school_id or context.run.school_id for s in learners.students}:
            thresholds[school] = rules.Thresholds.from_policy(
                await self.course.policy(school, context.run.term_code))
        units = {n.node.id: (n.chapter_id, n.node.minutes * 60) for n in context.nodes
                 if n.node.kind == "unit" and n.node.resource_id}
        total = sum(seconds for _, seconds in units.values())
        released = {c.id: {r.chapter_id for r in c.releases if r.HasField("release_at") and _stamp(r.release_at) <= now}
                    for c in learners.classes}
        class_names = {c.id: c.name for c in learners.classes}
        term_start = _day_start(context.term_starts_on)
        async with self.db.read() as session:
            facts = await self._facts(session, run_id, [s.user_id for s in learners.students])
        exam_at = _exam_at(facts.quizzes, context.term_ends_on)
        flags: list[AtRiskFlagRow] = []
        messages: list[Message] = []
        for student in learners.students:
            limits = thresholds[student.school_id or context.run.school_id]
            open_chapters = released.get(student.class_id, set())
            joined = _stamp(student.joined_at) if student.HasField("joined_at") else now
            started = max(joined, term_start) if term_start else joined
            done = [(u, at) for u, at in facts.completed.get(student.user_id, []) if u in units]
            pace_from = now - timedelta(days=limits.pace_days or 0)
            learner = rules.Learner(
                started_at=started, last_activity_at=facts.activity.get(student.user_id),
                completed_seconds=sum(units[u][1] for u, _ in done), total_seconds=total,
                released_seconds=sum(s for chapter, s in units.values() if chapter in open_chapters),
                recent_seconds=sum(units[u][1] for u, at in done if at >= pace_from),
                missed_items=self._missed(facts, student.user_id, joined, open_chapters, units, now))
            reasons = rules.assess(learner, limits, now, exam_at)
            if not reasons:
                continue
            last = facts.last_reminded.get(student.user_id)
            remind = rules.reminder_due(date.fromisoformat(last) if last else None, now.date(), limits)
            flags.append(AtRiskFlagRow(
                run_id=run_id, student_id=student.user_id, day=day, class_id=student.class_id,
                class_name=class_names.get(student.class_id, ""), number=student.number, name=student.name,
                reasons_json=json.dumps([asdict(r) for r in reasons], ensure_ascii=False),
                completion=rules.completion_percent(learner) / 100, last_activity_at=learner.last_activity_at,
                reminded=remind, flagged_at=now))
            if remind:
                messages.append(Message(
                    student.user_id, KIND, f"at-risk:{run_id}:{day}",
                    f"学习预警：{context.run.course_name}", "\n".join(r.detail for r in reasons),
                    link=f"/student/runs/{run_id}", run_id=run_id))
        async with self.db.transaction() as session:
            if await session.get(AtRiskSweepRow, (run_id, day)) is not None:
                return 0  # another sweep got there first
            session.add(AtRiskSweepRow(run_id=run_id, day=day, swept_at=now, flagged=len(flags)))
            session.add_all(flags)
            await deliver(session, messages, now)
        return len(flags)

    @staticmethod
    async def _facts(session: AsyncSession, run_id: str, students: list[str]) -> _RunFacts:
        completed: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
        for user_id, unit_id, at in await session.execute(
                select(UnitProgress.user_id, UnitProgress.unit_id, UnitProgress.completed_at)
                .where(UnitProgress.run_id == run_id, UnitProgress.completed_at.is_not(None))):
            completed[user_id].append((unit_id, _aware(at)))  # type: ignore[arg-type]
        activity: dict[str, datetime] = {}

        def seen(user_id: str, *times: datetime | None) -> None:
            for at in times:
                at = _aware(at)
                if at is not None and (user_id not in activity or at > activity[user_id]):
                    activity[user_id] = at

        for statement in (
                select(UnitProgress.user_id, func.max(UnitProgress.updated_at))
                .where(UnitProgress.run_id == run_id).group_by(UnitProgress.user_id),
                select(PlaySession.user_id, func.max(PlaySession.started_at), func.max(PlaySession.last_report_at))
                .where(PlaySession.run_id == run_id, PlaySession.counts.is_(True)).group_by(PlaySession.user_id),
                select(AttemptRow.student_id, func.max(AttemptRow.started_at), func.max(AttemptRow.submitted_at))
                .where(AttemptRow.run_id == run_id, AttemptRow.offline.is_(False)).group_by(AttemptRow.student_id),
                select(SubmissionRow.student_id, func.max(SubmissionRow.submitted_at))
                .where(SubmissionRow.run_id == run_id).group_by(SubmissionRow.student_id)):
            for user_id, *times in await session.execute(statement):
                seen(user_id, *times)
        handed_in = {(q, s) for q, s in await session.execute(
            select(AttemptRow.quiz_id, AttemptRow.student_id).where(
                AttemptRow.run_id == run_id, or_(AttemptRow.submitted_at.is_not(None), AttemptRow.offline.is_(True))))}
        handed_in |= {(a, s) for a, s in await session.execute(
            select(SubmissionRow.assignment_id, SubmissionRow.student_id).where(SubmissionRow.run_id == run_id))}
        quizzes = list(await session.scalars(select(QuizRow).where(QuizRow.run_id == run_id)))
        assignments = list(await session.scalars(select(AssignmentRow).where(AssignmentRow.run_id == run_id)))
        last_reminded = {s: d for s, d in await session.execute(
            select(AtRiskFlagRow.student_id, func.max(AtRiskFlagRow.day)).where(
                AtRiskFlagRow.run_id == run_id, AtRiskFlagRow.reminded.is_(True)).group_by(AtRiskFlagRow.student_id))}
        return _RunFacts(completed, activity, handed_in, quizzes, assignments, last_reminded)

    @staticmethod
    def _missed(facts: _RunFacts, student_id: str, joined: datetime, open_chapters: set[str],
                units: dict[str, tuple[str, float]], now: datetime) -> int:
        """Graded items of the student's class (its chapter released) whose deadline passed, nothing handed in."""
        count = 0
        for quiz in facts.quizzes:
            chapter = quiz.chapter_id or units.get(quiz.unit_id, ("", 0.0))[0]
            if quiz.mode == OFFLINE or (chapter and chapter not in open_chapters):
                continue
            count += rules.missed(_aware(quiz.closes_at), (quiz.id, student_id) in facts.handed_in, joined, now)
        for assignment in facts.assignments:
            due = _aware(assignment.late_until or assignment.deadline)
            count += rules.missed(due, (assignment.id, student_id) in facts.handed_in, joined, now)
        return count

    # ---- the team's list and a student's history -----------------------------------------------------------

    async def _staff(self, caller: Caller, run_id: str, student_id: str = "") -> Access:
        access = Access(caller, await self.course.learner_context(run_id, student_id))
        access.require_staff("see the run's at-risk learners")
        return access

    async def list(self, caller: Caller, run_id: str, class_id: str) -> tuple[str, list[FlagView]]:
        """(the latest sweep's day, its flags) of a run, for its team and its school's admins."""
        await self._staff(caller, run_id)
        async with self.db.read() as session:
            day = await session.scalar(select(func.max(AtRiskSweepRow.day)).where(AtRiskSweepRow.run_id == run_id))
            if day is None:
                return "", []
            statement = select(AtRiskFlagRow).where(AtRiskFlagRow.run_id == run_id, AtRiskFlagRow.day == day)
            if class_id:
                statement = statement.where(AtRiskFlagRow.class_id == class_id)
            rows = list(await session.scalars(statement.order_by(AtRiskFlagRow.class_name, AtRiskFlagRow.number)))
            ids = [r.student_id for r in rows]
            reminded = {s: _aware(at) for s, at in await session.execute(
                select(AtRiskFlagRow.student_id, func.max(AtRiskFlagRow.flagged_at)).where(
                    AtRiskFlagRow.run_id == run_id, AtRiskFlagRow.reminded.is_(True),
                    AtRiskFlagRow.student_id.in_(ids)).group_by(AtRiskFlagRow.student_id))}
            follow_ups = {s: (n, _aware(at)) for s, n, at in await session.execute(
                select(FollowUpRow.student_id, func.count(), func.max(FollowUpRow.created_at)).where(
                    FollowUpRow.run_id == run_id, FollowUpRow.student_id.in_(ids)).group_by(FollowUpRow.student_id))}
        return day, [FlagView(r, reminded.get(r.student_id), *follow_ups.get(r.student_id, (0, None)))
                     for r in rows]

    async def history(self, caller: Caller, run_id: str, student_id: str) -> History:
        """A student's flags and follow-ups on a run, newest first."""
        access = await self._staff(caller, run_id, student_id)
        async with self.db.read() as session:
            flags = list(await session.scalars(select(AtRiskFlagRow).where(
                AtRiskFlagRow.run_id == run_id, AtRiskFlagRow.student_id == student_id)
                .order_by(AtRiskFlagRow.day.desc())))
            follow_ups = list(await session.scalars(select(FollowUpRow).where(
                FollowUpRow.run_id == run_id, FollowUpRow.student_id == student_id)
                .order_by(FollowUpRow.contacted_on.desc(), FollowUpRow.created_at.desc())))
        return History(access.context, flags, follow_ups)

    # ---- follow-ups (回访) -----------------------------------------------------------------------------------

    async def record_follow_up(self, caller: Caller, spec: FollowUpSpec) -> FollowUpRow:
        """By the teacher of the student's class or the course leader (any team teacher for the public class)."""
        context = await self.course.learner_context(spec.run_id, spec.student_id)
        if context.relation != "team":
            raise PermissionDenied("a follow-up is recorded by a teacher of the run's team", reason="TEAM_ONLY")
        course_class = next((c for c in await self.course.classes(spec.run_id) if c.id == context.class_id), None)
        teaches = course_class is not None and (course_class.public or course_class.teacher_id == caller.user_id)
        if caller.user_id != context.leader_id and not teaches:
            raise PermissionDenied(f"{context.student_name} is in the class {context.class_name}: the follow-up is "
                                   "recorded by that class's teacher or the course leader", reason="NOT_YOUR_CLASS")
        now = self.clock()
        when = rules.check_follow_up(spec.contacted_on, spec.channel, spec.outcome, spec.notes, now.date())
        row = FollowUpRow(id=new_id(), run_id=spec.run_id, student_id=spec.student_id, teacher_id=caller.user_id,
                          teacher_name=caller.name, contacted_on=when.isoformat(), channel=spec.channel,
                          notes=spec.notes.strip(), outcome=spec.outcome, created_at=now)
        async with self.db.transaction() as session:
            session.add(row)
        return row


def _day_start(text: str) -> datetime | None:
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC) if text else None


def _exam_at(quizzes: list[QuizRow], term_ends_on: str) -> datetime | None:
    """The run's exam (its earliest opening), else the end of the term."""
    exams = [_aware(q.opens_at or q.closes_at) for q in quizzes if q.kind == EXAM and (q.opens_at or q.closes_at)]
    if exams:
        return min(e for e in exams if e is not None)
    end = _day_start(term_ends_on)
    return end + timedelta(days=1) if end else None
