"""Peer reviews of an assignment's submissions: handed out one at a time from a queue (the least reviewed submission
first, the oldest among equals, a lease that runs out returns to the queue), anonymous both ways, finished with a
score per rubric criterion and a comment. The rules are `domain/peer_review.py`'s."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import FailedPrecondition, NotFound
from services.learning.adapters.assignment_tables import AssignmentRow, PeerReviewRow, SubmissionRow
from services.learning.domain import peer_review as rules
from services.learning.domain.peer_review import Candidate
from services.learning.service_layer.assignments import AssignmentHandlers, policy_of, rubric_of


@dataclass
class ReviewTask:
    review: PeerReviewRow
    assignment: AssignmentRow
    submission: SubmissionRow
    owed: int
    done: int


class PeerReviewHandlers:
    def __init__(self, db: Database, assignments: AssignmentHandlers,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.assignments = assignments
        self.clock = clock

    async def _reviewer(self, caller: Caller, assignment_id: str) -> tuple[AssignmentRow, SubmissionRow]:
        """The assignment and the caller's own submission: only students who submitted review, after the
        deadline, on a peer-graded assignment."""
        assignment, access = await self.assignments.assignment(caller, assignment_id)
        access.require_student("review their peers' work")
        rules.check_reviewing_open(assignment.grading_mode, assignment.deadline, self.clock())
        async with self.db.read() as session:
            own = await session.scalar(select(SubmissionRow).where(SubmissionRow.assignment_id == assignment.id,
                                                                   SubmissionRow.student_id == caller.user_id))
        if own is None:
            raise FailedPrecondition("only students who submitted review their peers' work", reason="NOT_SUBMITTED")
        return assignment, own

    async def next_review(self, caller: Caller, assignment_id: str) -> ReviewTask:
        """The caller's review under way, else the next one from the queue; refused once the caller has done what
        they owe, or when nothing is left to review."""
        assignment, own = await self._reviewer(caller, assignment_id)
        policy = policy_of(assignment)
        now = self.clock()
        async with self.db.transaction() as session:
            # One hand-out at a time per assignment (SQLite serialises writers already; PostgreSQL locks the row).
            await session.get(AssignmentRow, assignment.id, with_for_update=True)
            # the pool's keys only: answers can be long, and only the chosen one is read
            pool = select(SubmissionRow.id, SubmissionRow.student_id, SubmissionRow.submitted_at).where(
                SubmissionRow.assignment_id == assignment.id)
            if assignment.pool == rules.CLASS:
                pool = pool.where(SubmissionRow.class_id == own.class_id)
            submissions = (await session.execute(pool)).all()
            mine = {r.submission_id: r for r in await session.scalars(select(PeerReviewRow).where(
                PeerReviewRow.assignment_id == assignment.id, PeerReviewRow.reviewer_id == caller.user_id))}
            owes = rules.owed(policy.reviews_each, len(submissions))
            done = sum(1 for r in mine.values() if r.finished_at is not None)
            current = next((r for r in mine.values() if r.finished_at is None and r.lease_expires_at > now), None)
            if current is not None:
                submission = await session.get(SubmissionRow, current.submission_id)
                assert submission is not None
                return ReviewTask(current, assignment, submission, owes, done)
            if done >= owes:
                raise FailedPrecondition(f"you have done the {owes} reviews you owe for this assignment",
                                         reason="REVIEWS_DONE")
            ids = [s.id for s in submissions]
            finished: Counter[str] = Counter()
            leased: Counter[str] = Counter()
            if ids:
                for submission_id, is_finished, count in await session.execute(
                        select(PeerReviewRow.submission_id, PeerReviewRow.finished_at.is_not(None), func.count())
                        .where(PeerReviewRow.assignment_id == assignment.id,
                               PeerReviewRow.finished_at.is_not(None) | (PeerReviewRow.lease_expires_at > now))
                        .group_by(PeerReviewRow.submission_id, PeerReviewRow.finished_at.is_not(None))):
                    (finished if is_finished else leased)[submission_id] += count
            already = {sid for sid, r in mine.items() if r.finished_at is not None or r.lease_expires_at > now}
            candidates = [Candidate(s.id, s.student_id, s.submitted_at, finished[s.id], leased[s.id])
                          for s in submissions]
            chosen = rules.pick(candidates, caller.user_id, already, policy.needed_at(assignment.deadline, now))
            if chosen is None:
                raise FailedPrecondition("there is nothing left for you to review now; try again later",
                                         reason="NOTHING_TO_REVIEW")
            expires = now + timedelta(hours=policy.lease_hours)
            review = mine.get(chosen.submission_id)  # a lease of the caller's own that ran out: renewed
            if review is None:
                review = PeerReviewRow(id=new_id(), assignment_id=assignment.id,
                                       submission_id=chosen.submission_id, reviewer_id=caller.user_id,
                                       leased_at=now, lease_expires_at=expires)
                session.add(review)
            else:
                review.leased_at, review.lease_expires_at = now, expires
            submission = await session.get(SubmissionRow, chosen.submission_id)
            assert submission is not None
            return ReviewTask(review, assignment, submission, owes, done)

    async def submit_review(self, caller: Caller, review_id: str, scores: list[float], comment: str) -> ReviewTask:
        async with self.db.read() as session:
            review = await session.get(PeerReviewRow, review_id)
        if review is None or review.reviewer_id != caller.user_id:
            raise NotFound("no such review of yours")
        assignment, own = await self._reviewer(caller, review.assignment_id)
        checked = rules.check_scores(rubric_of(assignment), scores)
        comment = rules.check_text(comment, "the comment", rules.MAX_COMMENT)
        now = self.clock()
        async with self.db.transaction() as session:
            review = await session.get(PeerReviewRow, review_id, with_for_update=True)
            assert review is not None
            if review.finished_at is not None:
                raise FailedPrecondition("this review is finished; it does not change", reason="REVIEW_FINISHED")
            if review.lease_expires_at <= now:
                raise FailedPrecondition("the time for this review ran out and it went back to the queue; ask "
                                         "for the next review", reason="LEASE_EXPIRED")
            review.scores_json, review.total = json.dumps(list(checked)), sum(checked)
            review.comment, review.finished_at = comment, now
            submission = await session.get(SubmissionRow, review.submission_id)
            assert submission is not None
            owes, done = await self._owed(session, assignment, own, caller.user_id)
        return ReviewTask(review, assignment, submission, owes, done)

    async def my_reviews(self, caller: Caller, assignment_id: str) -> list[ReviewTask]:
        assignment, own = await self._reviewer(caller, assignment_id)
        async with self.db.read() as session:
            reviews = list(await session.scalars(select(PeerReviewRow).where(
                PeerReviewRow.assignment_id == assignment.id, PeerReviewRow.reviewer_id == caller.user_id)
                .order_by(PeerReviewRow.leased_at)))
            owes, done = await self._owed(session, assignment, own, caller.user_id)
            submissions = {s.id: s for s in await session.scalars(select(SubmissionRow).where(
                SubmissionRow.id.in_([r.submission_id for r in reviews])))} if reviews else {}
        return [ReviewTask(r, assignment, submissions[r.submission_id], owes, done) for r in reviews]

    @staticmethod
    async def _owed(session, assignment: AssignmentRow, own: SubmissionRow, reviewer_id: str  # type: ignore[no-untyped-def]
                    ) -> tuple[int, int]:
        pool = select(func.count()).select_from(SubmissionRow).where(SubmissionRow.assignment_id == assignment.id)
        if assignment.pool == rules.CLASS:
            pool = pool.where(SubmissionRow.class_id == own.class_id)
        done = await session.scalar(select(func.count()).select_from(PeerReviewRow).where(
            PeerReviewRow.assignment_id == assignment.id, PeerReviewRow.reviewer_id == reviewer_id,
            PeerReviewRow.finished_at.is_not(None))) or 0
        return rules.owed(policy_of(assignment).reviews_each, await session.scalar(pool) or 0), done
