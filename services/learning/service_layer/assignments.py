"""Assignments of a run: setting them (the team), answering them with text and files (students), the grade of each
submission as it stands (the team's, or the peers' median with escalation and the penalty for missed reviews),
the team's grading and overrides, links to attached files, and the scores the gradebook reads.

The peer-review queue itself is in `peer_reviews.py`."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.pagination import fetch_page
from services.learning.adapters.assignment_tables import AssignmentRow, PeerReviewRow, SubmissionRow
from services.learning.adapters.attachments import AttachmentStore, StoredFile
from services.learning.adapters.course import CoursePeer
from services.learning.domain import grading
from services.learning.domain import peer_review as rules
from services.learning.domain.assessments import ScoredItem
from services.learning.domain.peer_review import Criterion, PeerPolicy
from services.learning.service_layer.assessments import EDIT_CONTENT, GRADE, Access

LINK_LIFETIME = timedelta(minutes=10)
SUBMITTED = "submitted"  # before the grade: team mode not graded yet, peer mode before the deadline


@dataclass(frozen=True)
class AssignmentSpec:
    run_id: str
    title: str
    brief: str
    grading_mode: str
    pool: str
    rubric: list[Criterion]
    opens_at: datetime | None
    deadline: datetime
    late_until: datetime | None
    weight: float


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


# ---- rows as the domain's values -----------------------------------------------------------------------------

def rubric_of(row: AssignmentRow) -> tuple[Criterion, ...]:
    return tuple(Criterion(c["title"], c["points"], c.get("description", "")) for c in json.loads(row.rubric_json))


def policy_of(row: AssignmentRow) -> PeerPolicy:
    return PeerPolicy(**json.loads(row.peer_json or "{}"))


def files_of(row: SubmissionRow) -> list[StoredFile]:
    return [StoredFile(**f) for f in json.loads(row.files_json or "[]")]


@dataclass
class Standing:
    """A submission's grade as it stands now."""

    state: str                      # submitted, pending, escalated, graded
    points: float | None            # the grade in points, after the penalty (None: not graded)
    peer_points: float | None       # the peers' median (peer mode)
    reviews_finished: int = 0
    reviews_needed: int = 0
    owed: int = 0                   # reviews the author owes others
    done: int = 0                   # reviews the author finished
    penalty_percent: float = 0.0
    reviews: list[PeerReviewRow] = field(default_factory=list)

    def score(self, max_points: float) -> float | None:
        return rules.score_of(self.points, max_points)


async def standings(session: AsyncSession, assignment: AssignmentRow, submissions: Sequence[SubmissionRow],
                    now: datetime) -> dict[str, Standing]:
    """The standing of each of `submissions` (one assignment's), by submission id."""
    if assignment.grading_mode != rules.PEER:
        return {s.id: Standing(rules.GRADED if s.team_points is not None else SUBMITTED, s.team_points, None)
                for s in submissions}
    policy = policy_of(assignment)
    if now < assignment.deadline:
        return {s.id: Standing(SUBMITTED, None, None) for s in submissions}
    finished = list(await session.scalars(select(PeerReviewRow).where(
        PeerReviewRow.assignment_id == assignment.id, PeerReviewRow.finished_at.is_not(None))
        .order_by(PeerReviewRow.finished_at)))
    received: dict[str, list[PeerReviewRow]] = defaultdict(list)
    done: Counter[str] = Counter()
    for review in finished:
        received[review.submission_id].append(review)
        done[review.reviewer_id] += 1
    pools: Counter[str] = Counter()
    for class_id, count in await session.execute(
            select(SubmissionRow.class_id, func.count()).where(SubmissionRow.assignment_id == assignment.id)
            .group_by(SubmissionRow.class_id)):
        pools[class_id] = count
    needed = policy.needed_at(assignment.deadline, now)
    reviews_closed = now >= assignment.deadline + timedelta(hours=policy.relax_after_hours)
    result = {}
    for s in submissions:
        reviews = received.get(s.id, [])
        outcome = rules.peer_outcome([r.total for r in reviews], assignment.total_points, needed,
                                     policy.spread_percent)
        pool = pools[s.class_id] if assignment.pool == rules.CLASS else sum(pools.values())
        owes = rules.owed(policy.reviews_each, pool)
        missed = rules.missed_reviews(owes, done[s.student_id]) if reviews_closed else 0
        penalty = min(100.0, missed * policy.missed_review_percent)
        base = s.team_points if s.team_points is not None else outcome.points
        state = rules.GRADED if s.team_points is not None else outcome.state
        points = rules.with_penalty(base, missed, policy.missed_review_percent) \
            if base is not None and state == rules.GRADED else None
        result[s.id] = Standing(state, points, outcome.points, len(reviews), needed, owes, done[s.student_id],
                                penalty, reviews)
    return result


async def run_scores(session: AsyncSession, run_id: str) -> dict[str, list[ScoredItem]]:
    """Every assignment of a run as the gradebook counts it, per student who submitted any (same contract as the
    assessments' run_scores: each student's list holds every assignment, score None where not graded)."""
    assignments = list(await session.scalars(select(AssignmentRow).where(  # exam questions count in the exam
        AssignmentRow.run_id == run_id, AssignmentRow.quiz_id == "").order_by(AssignmentRow.created_at,
                                                                               AssignmentRow.id)))
    if not assignments:
        return {}
    now = utcnow()
    scores: dict[tuple[str, str], float | None] = {}
    for assignment in assignments:
        rows = {r.id: r for r in await session.scalars(
            select(SubmissionRow).where(SubmissionRow.assignment_id == assignment.id))}
        for row_id, standing in (await standings(session, assignment, list(rows.values()), now)).items():
            scores[(rows[row_id].student_id, assignment.id)] = standing.score(assignment.total_points)
    students = sorted({student for student, _ in scores})
    return {student: [ScoredItem(item_id=a.id, title=a.title, category=grading.ASSIGNMENTS, weight=a.weight,
                                 score=scores.get((student, a.id))) for a in assignments]
            for student in students}


@dataclass
class AssignmentView:
    row: AssignmentRow
    submissions: int = 0     # the team's view
    escalated: int = 0


@dataclass
class SubmissionView:
    row: SubmissionRow
    assignment: AssignmentRow
    standing: Standing
    named: bool = True       # the team and the author see who wrote it


class AssignmentHandlers:
    def __init__(self, db: Database, course: CoursePeer, store: AttachmentStore,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.store = store
        self.clock = clock

    async def access(self, caller: Caller, run_id: str) -> Access:
        return Access(caller, await self.course.learner_context(run_id))

    async def assignment(self, caller: Caller, assignment_id: str) -> tuple[AssignmentRow, Access]:
        async with self.db.read() as session:
            row = await session.get(AssignmentRow, assignment_id)
        if row is None:
            raise NotFound("no such assignment")
        return row, await self.access(caller, row.run_id)  # the course service refuses strangers to the run

    # ---- the team sets them ---------------------------------------------------------------------------------

    async def create(self, caller: Caller, spec: AssignmentSpec) -> AssignmentView:
        access = await self.access(caller, spec.run_id)
        access.require_team(EDIT_CONTENT, "set assignments")
        rubric = rules.check_rubric(spec.rubric)
        rules.check_setup(spec.grading_mode, spec.pool, spec.opens_at, spec.deadline, spec.late_until)
        if spec.deadline <= self.clock():
            raise InvalidArgument("the deadline is in the past")
        weight = grading.check_item_weight(spec.weight)
        policy = PeerPolicy.from_policy(await self.course.policy(access.context.run.school_id,
                                                                 access.context.run.term_code))
        row = AssignmentRow(
            id=new_id(), run_id=spec.run_id, title=rules.check_text(spec.title, "the title", rules.MAX_TITLE),
            brief=rules.check_text(spec.brief, "the brief", rules.MAX_BRIEF), grading_mode=spec.grading_mode,
            pool=spec.pool, rubric_json=json.dumps([asdict(c) for c in rubric], ensure_ascii=False),
            total_points=rules.total_points(rubric), opens_at=spec.opens_at, deadline=spec.deadline,
            late_until=spec.late_until, weight=weight,
            peer_json=json.dumps(asdict(policy)) if spec.grading_mode == rules.PEER else "{}",
            created_by=caller.user_id, created_at=self.clock())
        async with self.db.transaction() as session:
            session.add(row)
        return AssignmentView(row)

    async def list(self, caller: Caller, run_id: str) -> list[AssignmentView]:
        access = await self.access(caller, run_id)
        async with self.db.read() as session:
            rows = list(await session.scalars(select(AssignmentRow).where(AssignmentRow.run_id == run_id)
                                              .order_by(AssignmentRow.deadline, AssignmentRow.id)))
            if not (access.team or access.school_admin):
                return [AssignmentView(r) for r in rows]
            return [await self._counted(session, r) for r in rows]

    async def get(self, caller: Caller, assignment_id: str) -> AssignmentView:
        row, access = await self.assignment(caller, assignment_id)
        if not (access.team or access.school_admin):
            return AssignmentView(row)
        async with self.db.read() as session:
            return await self._counted(session, row)

    async def _counted(self, session: AsyncSession, row: AssignmentRow) -> AssignmentView:
        submissions = list(await session.scalars(select(SubmissionRow).where(SubmissionRow.assignment_id == row.id)))
        states = await standings(session, row, submissions, self.clock())
        return AssignmentView(row, len(submissions), sum(1 for s in states.values() if s.state == rules.ESCALATED))

    # ---- students answer ------------------------------------------------------------------------------------

    async def submit(self, caller: Caller, assignment_id: str, text: str, uploads: list[Upload],
                     keep: list[str]) -> SubmissionView:
        assignment, access = await self.assignment(caller, assignment_id)
        access.require_student("answer assignments")
        if assignment.quiz_id:
            raise FailedPrecondition("this is an exam question's peer review: the answers are the exam's",
                                     reason="EXAM_ANSWERS")
        late = rules.check_submission_open(assignment.opens_at, assignment.deadline, assignment.late_until,
                                           self.clock())
        text = rules.check_text(text, "the answer", rules.MAX_ANSWER, required=False)
        async with self.db.read() as session:
            earlier = await self._own(session, assignment.id, caller.user_id)
        kept = [f for f in (files_of(earlier) if earlier else []) if f.id in set(keep)]
        unknown = set(keep) - {f.id for f in kept}
        if unknown:
            raise InvalidArgument("keep only files of your earlier submission", reason="UNKNOWN_ATTACHMENT")
        if len(kept) + len(uploads) > rules.MAX_FILES:
            raise InvalidArgument(f"a submission has at most {rules.MAX_FILES} files", reason="TOO_MANY_FILES")
        checked = [self.store.check(u.filename, u.content) for u in uploads]  # every file before any is stored
        if not text and not kept and not checked:
            raise InvalidArgument("write an answer or attach a file", reason="EMPTY_SUBMISSION")
        submission_id = earlier.id if earlier else new_id()
        stored = [await self.store.put(assignment.id, submission_id, file) for file in checked]
        files = kept + stored
        async with self.db.transaction() as session:
            row = await self._own(session, assignment.id, caller.user_id)
            if row is None:
                row = SubmissionRow(id=submission_id, assignment_id=assignment.id, run_id=assignment.run_id,
                                    student_id=caller.user_id)
                session.add(row)
            dropped = [f for f in files_of(row) if f.id not in {k.id for k in files}]
            row.student_name = access.context.student_name
            row.student_number = access.context.student_number
            row.class_id = access.context.class_id
            row.text, row.files_json = text, json.dumps([asdict(f) for f in files], ensure_ascii=False)
            row.submitted_at, row.late = self.clock(), late
        for file in dropped:
            await self.store.delete(file)
        return SubmissionView(row, assignment, Standing(SUBMITTED, None, None))

    @staticmethod
    async def _own(session: AsyncSession, assignment_id: str, student_id: str) -> SubmissionRow | None:
        return await session.scalar(select(SubmissionRow).where(SubmissionRow.assignment_id == assignment_id,
                                                                SubmissionRow.student_id == student_id))

    async def my_submission(self, caller: Caller, assignment_id: str) -> SubmissionView:
        assignment, access = await self.assignment(caller, assignment_id)
        access.require_student("have submissions")
        async with self.db.read() as session:
            row = await self._own(session, assignment.id, caller.user_id)
            if row is None:
                raise NotFound("you have not submitted this assignment yet", reason="NOT_SUBMITTED")
            standing = (await standings(session, assignment, [row], self.clock()))[row.id]
        return SubmissionView(row, assignment, standing)

    # ---- the team reads and grades ----------------------------------------------------------------------------

    async def submissions(self, caller: Caller, assignment_id: str, class_id: str, state: str, page_size: int,
                          page_token: str) -> tuple[list[SubmissionView], str, int]:
        """The team sees every class; a class's tutor or an adopting school's admin names the class (the course
        service decides who sees which class). Escalated peer grades first."""
        assignment, access = await self.assignment(caller, assignment_id)
        if class_id:
            roster = await self.course.roster(class_id)  # refuses whoever may not see that class
            if getattr(roster, "class").run_id != assignment.run_id:
                raise NotFound("that class is not one of this run's")
        elif not access.team:
            raise PermissionDenied("name the class whose submissions you read; the whole run's are the team's",
                                   reason="CLASS_REQUIRED")
        statement = select(SubmissionRow).where(SubmissionRow.assignment_id == assignment.id)
        if class_id:
            statement = statement.where(SubmissionRow.class_id == class_id)
        async with self.db.read() as session:
            if state:  # the state is computed, not stored: filter the assignment's (bounded by the run's size)
                rows = list(await session.scalars(statement.order_by(SubmissionRow.submitted_at)))
                states = await standings(session, assignment, rows, self.clock())
                rows = [r for r in rows if states[r.id].state == state]
                total = len(rows)
                start = int(page_token or 0)
                size = max(1, min(page_size or 50, 200))
                page = rows[start:start + size]
                token = str(start + size) if start + size < total else ""
            else:
                page, token, total = await fetch_page(session, statement.order_by(SubmissionRow.submitted_at),
                                                      page_size, page_token)
                states = await standings(session, assignment, page, self.clock())
        return [SubmissionView(r, assignment, states[r.id]) for r in page], token, total

    async def grade(self, caller: Caller, submission_id: str, scores: list[float], comment: str,
                    reason: str) -> SubmissionView:
        """The team (grade permission) grades on the rubric: the grade of a team-graded assignment, or in peer mode
        an escalated grade settled or any peer grade overridden — with the reason kept."""
        async with self.db.read() as session:
            row = await session.get(SubmissionRow, submission_id)
            assignment = await session.get(AssignmentRow, row.assignment_id) if row else None
        if row is None or assignment is None:
            raise NotFound("no such submission")
        access = await self.access(caller, assignment.run_id)
        access.require_team(GRADE, "grade assignments")
        checked = rules.check_scores(rubric_of(assignment), scores)
        comment = rules.check_text(comment, "the comment", rules.MAX_COMMENT, required=False)
        peer = assignment.grading_mode == rules.PEER
        reason = rules.check_text(reason, "the reason (kept with the grade)", rules.MAX_REASON, required=peer)
        if peer and self.clock() < assignment.deadline:
            raise FailedPrecondition("peer grades start after the deadline", reason="REVIEWS_NOT_OPEN")
        async with self.db.transaction() as session:
            row = await session.get(SubmissionRow, submission_id, with_for_update=True)
            assert row is not None
            row.team_scores_json = json.dumps(list(checked))
            row.team_points = sum(checked)
            row.team_comment, row.override_reason = comment, reason
            row.graded_by, row.graded_at = caller.user_id, self.clock()
            standing = (await standings(session, assignment, [row], self.clock()))[row.id]
        return SubmissionView(row, assignment, standing)

    # ---- files ------------------------------------------------------------------------------------------------

    async def attachment_link(self, caller: Caller, submission_id: str, attachment_id: str) -> tuple[str, datetime]:
        """The author, the run's team and school admins, a class's staff, and a peer holding (or who finished) a
        review of the submission read its files."""
        async with self.db.read() as session:
            row = await session.get(SubmissionRow, submission_id)
            review = await session.scalar(select(PeerReviewRow).where(
                PeerReviewRow.submission_id == submission_id, PeerReviewRow.reviewer_id == caller.user_id)) \
                if row else None
        if row is None:
            raise NotFound("no such submission")
        file = next((f for f in files_of(row) if f.id == attachment_id), None)
        if file is None:
            raise NotFound("no such file in this submission")
        now = self.clock()
        if row.student_id != caller.user_id and not (
                review is not None and (review.finished_at is not None or review.lease_expires_at > now)):
            access = await self.access(caller, row.run_id)
            if not (access.team or access.school_admin):
                if not row.class_id:
                    raise PermissionDenied("the files of a submission are read by its author, its reviewers and "
                                           "the run's staff")
                await self.course.roster(row.class_id)  # a class's tutor; the course service refuses the rest
        return self.store.link(file, LINK_LIFETIME), now + LINK_LIFETIME
