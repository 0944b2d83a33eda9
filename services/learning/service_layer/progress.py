"""Playing units and crediting what was watched: play sessions, heartbeats, unit and run completion.

Starting a play asks the course service who the caller is to the run (enrolled student of a class whose chapter is
released, or the run's team); every heartbeat after that reads and writes the learning tables only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.course.v1 import course_pb2
from contracts.learning.v1 import learning_pb2 as pb
from servicekit.auth import Caller
from servicekit.clock import timestamp, utcnow
from servicekit.db import Database
from servicekit.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.grpc_server import status_for
from servicekit.metrics import progress_report
from servicekit.outbox import emit
from servicekit.playback import issue_grant
from servicekit.service_keys import SERVICE_ROLE
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.orm import PlaySession, RunProgress, UnitProgress, outbox
from services.learning.domain import progress as rules

UNIT_COMPLETED = "learning.unit.completed"
RUN_COMPLETED = "learning.run.completed"
DEFAULT_SLACK_SECONDS = 5.0
WATCHED_MINUTES_READER = "course"  # the one service whose key may read the minutes watched per run
MAX_WATCHED_RUNS = 1000


def course_service_runs(caller: Caller, run_ids: Sequence[str], what: str) -> list[str]:
    """The runs the course service asks about with its own key (figures of runs, no user behind them): refused to
    anyone else, at most MAX_WATCHED_RUNS at a time."""
    if caller.role != SERVICE_ROLE or caller.user_id != f"service:{WATCHED_MINUTES_READER}":
        raise PermissionDenied(f"{what} are read by the course service only")
    wanted = sorted({run_id for run_id in run_ids if run_id})
    if len(wanted) > MAX_WATCHED_RUNS:
        raise InvalidArgument(f"ask for at most {MAX_WATCHED_RUNS} runs at a time; got {len(wanted)}",
                              reason="TOO_MANY_RUNS")
    return wanted


@dataclass(frozen=True)
class StartedPlay:
    play: PlaySession
    credited_seconds: float
    grant: str
    grant_expires_at: datetime


@dataclass(frozen=True)
class Receipt:
    play_id: str
    outcomes: list[rules.Outcome]
    credited_seconds: float
    duration_seconds: float
    unit_completed: bool
    run_completion: float


def unit_nodes(context: course_pb2.LearnerContext) -> dict[str, course_pb2.LearnerNode]:
    """The run's units that play a video, by id."""
    return {n.node.id: n for n in context.nodes if n.node.kind == "unit" and n.node.resource_id}


def run_seconds(context: course_pb2.LearnerContext) -> float:
    return sum(n.node.minutes * 60 for n in unit_nodes(context).values())


def completion(completed_unit_ids: set[str], context: course_pb2.LearnerContext) -> tuple[float, float]:
    """(completed video seconds, the run's total video seconds) over the run's current plan."""
    units = unit_nodes(context)
    total = sum(n.node.minutes * 60 for n in units.values())
    done = sum(n.node.minutes * 60 for unit_id, n in units.items() if unit_id in completed_unit_ids)
    return done, total


def chapter_titles(context: course_pb2.LearnerContext) -> dict[str, str]:
    return {n.node.id: n.node.title for n in context.nodes if n.node.kind == "chapter"}


def refuse_unreleased(node: course_pb2.LearnerNode, context: course_pb2.LearnerContext) -> None:
    """An unreleased chapter's units are neither played nor answered: the server refuses, not only the page."""
    if node.released:
        return
    title = chapter_titles(context).get(node.chapter_id, "")
    when = (f"; it opens at {node.release_at.ToDatetime().strftime('%Y-%m-%d %H:%M')} UTC"
            if node.HasField("release_at") else "; no release date yet")
    raise FailedPrecondition(f"the chapter {title} is not released to your class{when}",
                             reason="CHAPTER_NOT_RELEASED")


@dataclass
class _Pending:
    user_id: str
    play_id: str
    reports: Sequence[rules.Report]
    done: asyncio.Future


class ReportQueue:
    """Heartbeats that arrive together share one transaction: the hottest path of the platform pays one commit per
    batch, not per heartbeat. One batch is written at a time; what arrives meanwhile forms the next. A refusal
    (an unknown play session) answers its own request only: it is found before anything is written."""

    def __init__(self, db: Database,
                 apply: Callable[[AsyncSession, str, str, Sequence[rules.Report]], Awaitable[Receipt]],
                 preload: Callable[[AsyncSession, list[tuple[str, str]]], Awaitable[list]] | None = None,
                 max_batch: int = 500) -> None:
        self.db = db
        self.apply = apply
        self.preload = preload
        self.max_batch = max_batch
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task | None = None

    async def submit(self, user_id: str, play_id: str, reports: Sequence[rules.Report]) -> Receipt:
        pending = _Pending(user_id, play_id, reports, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await asyncio.shield(pending.done)

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            results: list[Receipt | DomainError] = []
            try:
                async with self.db.transaction() as session:
                    # held until the commit: the session's identity map keeps loaded rows only while referenced
                    loaded = await self.preload(session, [(p.user_id, p.play_id) for p in batch]) \
                        if self.preload is not None else []
                    for pending in batch:
                        try:
                            results.append(await self.apply(session, pending.user_id, pending.play_id,
                                                            pending.reports))
                        except DomainError as refusal:
                            results.append(refusal)
                del loaded
            except BaseException as error:  # the batch is not written: every request in it fails (and is retried)
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(error if isinstance(error, Exception) else
                                                   RuntimeError("the progress writer stopped"))
                if not isinstance(error, Exception):
                    raise
                continue
            for pending, result in zip(batch, results, strict=True):
                if isinstance(result, DomainError):
                    pending.done.set_exception(result)
                else:
                    pending.done.set_result(result)


class ProgressHandlers:
    def __init__(self, db: Database, course: CoursePeer, grant_key: str,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.grant_key = grant_key
        self.clock = clock
        self.reports = ReportQueue(db, self._report_in, self._preload)

    # ---- playing ------------------------------------------------------------------------------

    async def start_play(self, caller: Caller, run_id: str, unit_id: str) -> StartedPlay:
        context = await self.course.learner_context(run_id)
        node = unit_nodes(context).get(unit_id)
        if node is None:
            raise NotFound("no such video unit in this run's plan")
        student = context.relation == "student"
        if student:
            refuse_unreleased(node, context)
        policy = await self.course.policy(context.run.school_id, context.run.term_code)
        slack = policy.get("video_complete_slack_seconds", DEFAULT_SLACK_SECONDS)
        now = self.clock()
        async with self.db.transaction() as session:
            play = PlaySession(user_id=caller.user_id, run_id=run_id, unit_id=unit_id, asset_id=node.node.resource_id,
                               class_id=context.class_id, school_id=context.student_school_id if student else "",
                               duration_seconds=node.node.minutes * 60, run_total_seconds=run_seconds(context),
                               counts=student, max_speed=rules.MAX_SPEED,
                               complete_slack_seconds=slack if slack == slack else DEFAULT_SLACK_SECONDS,
                               started_at=now, last_seq=0, claimed_seconds=0.0)
            session.add(play)
            unit = await session.get(UnitProgress, (caller.user_id, run_id, unit_id))
            credited = unit.credited_seconds if unit else 0.0
        token, grant = issue_grant(self.grant_key, play.asset_id, caller.user_id, run_id, now=now)
        return StartedPlay(play, credited, token, grant.expires_at)

    async def report(self, caller: Caller, play_id: str, reports: Sequence[rules.Report]) -> Receipt:
        try:
            receipt = await self._report(caller, play_id, reports)
        except DomainError as refusal:  # counted by its reason code, else its status (NOT_FOUND: an unknown play)
            progress_report(refusal.reason or status_for(refusal).name)
            raise
        progress_report(None)
        return receipt

    async def _report(self, caller: Caller, play_id: str, reports: Sequence[rules.Report]) -> Receipt:
        if not reports:
            raise InvalidArgument("report at least one watched segment")
        if len(reports) > rules.MAX_SEGMENTS_PER_REPORT:
            raise InvalidArgument(f"at most {rules.MAX_SEGMENTS_PER_REPORT} segments per report")
        for report in reports:
            if report.seq < 1 or report.start < 0 or report.end < 0 or report.end - report.start > 24 * 3600:
                raise InvalidArgument("a segment has seq >= 1 and 0 <= from < to seconds")
        return await self.reports.submit(caller.user_id, play_id, reports)

    @staticmethod
    async def _preload(session: AsyncSession, items: list[tuple[str, str]]) -> list:
        """A batch's rows in three queries; the per-heartbeat lookups then find them in the session."""
        plays = list(await session.scalars(select(PlaySession).where(
            PlaySession.id.in_({play_id for _, play_id in items}))))
        if not plays:
            return []
        units = {(p.user_id, p.run_id, p.unit_id) for p in plays}
        return [*plays, *await session.scalars(select(UnitProgress).where(
            tuple_(UnitProgress.user_id, UnitProgress.run_id, UnitProgress.unit_id).in_(units))),
            *await session.scalars(select(RunProgress).where(
                tuple_(RunProgress.user_id, RunProgress.run_id).in_({(u, r) for u, r, _ in units})))]

    async def _report_in(self, session: AsyncSession, user_id: str, play_id: str,
                         reports: Sequence[rules.Report]) -> Receipt:
        play = await session.get(PlaySession, play_id)
        if play is None or play.user_id != user_id:
            raise NotFound("no such play session (start playing the unit again)")
        return await self._apply(session, play, reports)

    async def _apply(self, session: AsyncSession, play: PlaySession, reports: Sequence[rules.Report]) -> Receipt:
        now = self.clock()
        unit = await session.get(UnitProgress, (play.user_id, play.run_id, play.unit_id))
        if unit is None:
            unit = UnitProgress(user_id=play.user_id, run_id=play.run_id, unit_id=play.unit_id,
                                duration_seconds=play.duration_seconds, intervals_json="[]", credited_seconds=0.0)
            if play.counts:
                session.add(unit)
        state = rules.UnitState(duration=play.duration_seconds, intervals=rules.load(unit.intervals_json),
                                last_seq=play.last_seq, claimed_seconds=play.claimed_seconds,
                                elapsed_seconds=max(0.0, (now - play.started_at).total_seconds()),
                                max_speed=play.max_speed)
        outcomes = [state.apply(report) for report in sorted(reports, key=lambda r: r.seq)]
        play.last_seq, play.claimed_seconds, play.last_report_at = state.last_seq, state.claimed_seconds, now
        if not play.counts:
            return Receipt(play.id, [rules.Outcome(o.seq, False, 0.0, "the team's plays are not progress")
                                     for o in outcomes], state.credited, play.duration_seconds, False, 0.0)
        unit.intervals_json, unit.credited_seconds, unit.updated_at = rules.dump(state.intervals), state.credited, now
        newly_complete = unit.completed_at is None and rules.is_complete(
            state.credited, play.duration_seconds, play.complete_slack_seconds)
        run = await session.get(RunProgress, (play.user_id, play.run_id))
        if run is None:
            run = RunProgress(user_id=play.user_id, run_id=play.run_id, class_id=play.class_id,
                              school_id=play.school_id, completed_seconds=0.0, total_seconds=play.run_total_seconds,
                              completed_units=0)
            session.add(run)
        run.total_seconds = play.run_total_seconds
        if newly_complete:
            unit.completed_at = now
            run.completed_seconds += play.duration_seconds
            run.completed_units += 1
            run.updated_at = now
            await emit(session, outbox, UNIT_COMPLETED, pb.UnitCompleted(
                run_id=play.run_id, unit_id=play.unit_id, student_id=play.user_id, completed_at=timestamp(now)))
            if run.completed_at is None and run.completed_seconds >= run.total_seconds - 0.001:
                run.completed_at = now
                await emit(session, outbox, RUN_COMPLETED, pb.RunCompleted(
                    run_id=play.run_id, student_id=play.user_id, school_id=play.school_id,
                    total_minutes=run.total_seconds / 60, completed_at=timestamp(now)))
        completion_now = min(1.0, run.completed_seconds / run.total_seconds) if run.total_seconds else 0.0
        return Receipt(play.id, outcomes, state.credited, play.duration_seconds, unit.completed_at is not None,
                       completion_now)

    # ---- reading progress --------------------------------------------------------------------------

    async def completed_units(self, user_id: str, run_id: str) -> dict[str, UnitProgress]:
        async with self.db.read() as session:
            rows = await session.scalars(select(UnitProgress).where(
                UnitProgress.user_id == user_id, UnitProgress.run_id == run_id))
            return {row.unit_id: row for row in rows}

    async def run_progress(self, caller: Caller, run_id: str, student_id: str
                           ) -> tuple[course_pb2.LearnerContext, dict[str, UnitProgress], datetime | None]:
        context = await self.course.learner_context(run_id, student_id if student_id != caller.user_id else "")
        if context.relation != "student" and not context.student_id:
            raise InvalidArgument("name the student (student_id) whose progress to read")
        user_id = context.student_id or caller.user_id
        units = await self.completed_units(user_id, run_id)
        async with self.db.read() as session:
            run = await session.get(RunProgress, (user_id, run_id))
            completed_at = run.completed_at if run else None
        return context, units, completed_at

    async def completion_of(self, user_id: str, context: course_pb2.LearnerContext) -> tuple[float, float]:
        """(completed, total) video seconds of a student in the run as planned now (the exam's gate reads it)."""
        units = await self.completed_units(user_id, context.run.id)
        return completion({u for u, row in units.items() if row.completed_at is not None}, context)

    async def watched_minutes(self, caller: Caller, run_ids: Sequence[str]) -> dict[str, float]:
        """Minutes of video credited to students per run (runs nobody watched are left out), for the course
        service's school report: no user is behind the figure, so only its service key reads it."""
        wanted = course_service_runs(caller, run_ids, "the minutes watched per run")
        if not wanted:
            return {}
        async with self.db.read() as session:
            rows = await session.execute(
                select(UnitProgress.run_id, func.sum(UnitProgress.credited_seconds))
                .where(UnitProgress.run_id.in_(wanted)).group_by(UnitProgress.run_id))
            return {run_id: (seconds or 0.0) / 60 for run_id, seconds in rows}

    async def class_progress(self, caller: Caller, class_id: str
                             ) -> tuple[course_pb2.ClassRoster, float, dict[str, float]]:
        """The class's students with their completed video seconds, over the run as planned now."""
        roster = await self.course.roster(class_id)
        run_id = getattr(roster, "class").run_id
        context = await self.course.learner_context(run_id)
        units = unit_nodes(context)
        done: dict[str, float] = {}
        async with self.db.read() as session:
            rows = await session.execute(select(UnitProgress.user_id, UnitProgress.unit_id).where(
                UnitProgress.run_id == run_id, UnitProgress.completed_at.is_not(None),
                UnitProgress.user_id.in_([s.user_id for s in roster.students])))
            for user_id, unit_id in rows:
                if unit_id in units:
                    done[user_id] = done.get(user_id, 0.0) + units[unit_id].node.minutes * 60
        return roster, run_seconds(context), done

