"""Moderating the course forum (seed 004 三(六)): anyone who reads it reports a post; the team hides or restores
posts and dismisses reports, each action with its reason in the audit trail; each province's center keeps a list
of blocked words that refuses a post containing one (the refusal is audited too)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from servicekit.pagination import fetch_page
from servicekit.text import check_text
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.forum_tables import (
    BlockedWordRow,
    ForumAuditRow,
    ForumPostRow,
    ForumReportRow,
    ForumThreadRow,
)
from services.learning.domain import forum as rules
from services.learning.service_layer.assessments import Access

HIDE, UNHIDE, DISMISS = "hide", "unhide", "dismiss"
ACTIONS = (HIDE, UNHIDE, DISMISS)


def audit(session: AsyncSession, run_id: str, actor: Caller, action: str, thread_id: str, post_id: str,
          reason: str, now: datetime) -> ForumAuditRow:
    entry = ForumAuditRow(id=new_id(), run_id=run_id, actor_id=actor.user_id, actor_name=actor.name, action=action,
                          thread_id=thread_id, post_id=post_id, reason=reason[:rules.MAX_REASON], at=now)
    session.add(entry)
    return entry


class ModerationHandlers:
    def __init__(self, db: Database, course: CoursePeer, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.clock = clock

    # ---- blocked words ----------------------------------------------------------------------------------------

    @staticmethod
    def _require_keeper(caller: Caller, province_code: str) -> None:
        if caller.role == "platform_admin":
            return
        if caller.role == "center_admin" and caller.province_code == province_code:
            return
        raise PermissionDenied("a province's blocked words are kept by its center's admins", reason="CENTER_ONLY")

    async def words(self, caller: Caller, province_code: str) -> list[str]:
        self._require_keeper(caller, province_code)
        async with self.db.read() as session:
            return await self._words(session, province_code)

    @staticmethod
    async def _words(session: AsyncSession, province_code: str) -> list[str]:
        return list(await session.scalars(select(BlockedWordRow.word).where(
            BlockedWordRow.province_code == province_code).order_by(BlockedWordRow.word)))

    async def change_words(self, caller: Caller, province_code: str, add: list[str], remove: list[str]
                           ) -> list[str]:
        self._require_keeper(caller, province_code)
        if len(add) + len(remove) > rules.MAX_WORDS:
            raise InvalidArgument(f"at most {rules.MAX_WORDS} words at once")
        adding = {rules.check_word(w) for w in add}
        removing = {rules.normalise(w) for w in remove}
        now = self.clock()
        async with self.db.transaction() as session:
            known = set(await self._words(session, province_code))
            if len(known | adding) > rules.MAX_WORDS * 5:
                raise InvalidArgument(f"a province keeps at most {rules.MAX_WORDS * 5} blocked words")
            session.add_all(BlockedWordRow(province_code=province_code, word=w, added_by=caller.user_id,
                                           added_at=now) for w in sorted(adding - known))
            if removing:
                await session.execute(delete(BlockedWordRow).where(BlockedWordRow.province_code == province_code,
                                                                   BlockedWordRow.word.in_(removing)))
            return await self._words(session, province_code)

    async def refuse_blocked(self, caller: Caller, province_code: str, run_id: str, *texts: str) -> None:
        """Refuses a post with a blocked word of the author's province, naming the words; the refusal is kept."""
        if not province_code:
            return
        async with self.db.read() as session:
            words = await self._words(session, province_code)
        found = sorted({w for text in texts for w in rules.blocked_in(text, words)})
        if not found:
            return
        async with self.db.transaction() as session:
            audit(session, run_id, caller, "refuse_blocked", "", "", "、".join(found), self.clock())
        raise InvalidArgument(f"the post contains blocked words: {'、'.join(found)}; change it and post again",
                              reason="BLOCKED_WORDS")

    # ---- reports and moderation -------------------------------------------------------------------------------

    async def _target(self, caller: Caller, thread_id: str, post_id: str
                      ) -> tuple[ForumThreadRow, ForumPostRow | None, Access]:
        async with self.db.read() as session:
            thread = await session.get(ForumThreadRow, thread_id)
            post = await session.get(ForumPostRow, post_id) if post_id else None
        if thread is None:
            raise NotFound("no such thread")
        if post_id and (post is None or post.thread_id != thread.id):
            raise NotFound("no such reply in this thread")
        access = Access(caller, await self.course.learner_context(thread.run_id))
        hidden = (post or thread).hidden_at is not None
        if access.student and (thread.hidden_at is not None or hidden):
            raise NotFound("no such post")
        return thread, post, access

    async def report(self, caller: Caller, thread_id: str, post_id: str, reason: str) -> ForumReportRow:
        thread, post, access = await self._target(caller, thread_id, post_id)
        if not (access.student or access.team or access.school_admin):
            raise PermissionDenied("only the forum's readers report its posts")
        reason = check_text(reason, "the reason", rules.MAX_REASON)
        now = self.clock()
        async with self.db.transaction() as session:
            existing = await session.scalar(select(ForumReportRow).where(
                ForumReportRow.thread_id == thread.id, ForumReportRow.post_id == post_id,
                ForumReportRow.reporter_id == caller.user_id, ForumReportRow.resolved_at.is_(None)))
            if existing is not None:  # reported twice is reported once
                return existing
            row = ForumReportRow(id=new_id(), run_id=thread.run_id, thread_id=thread.id, post_id=post_id,
                                 reporter_id=caller.user_id, reason=reason, created_at=now)
            session.add(row)
            audit(session, thread.run_id, caller, "report", thread.id, post_id, reason, now)
        return row

    async def reports(self, caller: Caller, run_id: str, open_only: bool
                      ) -> list[tuple[ForumReportRow, str]]:
        """(report, the reported text's beginning), newest first: the run's staff."""
        access = Access(caller, await self.course.learner_context(run_id))
        access.require_staff("read the forum's reports")
        statement = select(ForumReportRow).where(ForumReportRow.run_id == run_id)
        if open_only:
            statement = statement.where(ForumReportRow.resolved_at.is_(None))
        async with self.db.read() as session:
            rows = list(await session.scalars(statement.order_by(ForumReportRow.created_at.desc()).limit(500)))
            threads = {t.id: t.body for t in await session.scalars(select(ForumThreadRow).where(
                ForumThreadRow.id.in_({r.thread_id for r in rows})))} if rows else {}
            posts = {p.id: p.body for p in await session.scalars(select(ForumPostRow).where(
                ForumPostRow.id.in_({r.post_id for r in rows if r.post_id})))} if rows else {}
        return [(r, (posts.get(r.post_id, "") if r.post_id else threads.get(r.thread_id, ""))[:200]) for r in rows]

    async def moderate(self, caller: Caller, thread_id: str, post_id: str, action: str, reason: str,
                       report_id: str) -> ForumAuditRow:
        thread, post, access = await self._target(caller, thread_id, post_id)
        if not access.team:
            raise PermissionDenied("only the run's team moderates its forum", reason="TEAM_ONLY")
        if action not in ACTIONS:
            raise InvalidArgument(f"the action is one of {', '.join(ACTIONS)}", reason="BAD_ACTION")
        reason = check_text(reason, "the reason", rules.MAX_REASON, required=action != UNHIDE)
        now = self.clock()
        async with self.db.transaction() as session:
            report = await session.get(ForumReportRow, report_id) if report_id else None
            if report_id and (report is None or report.thread_id != thread.id or report.post_id != post_id):
                raise NotFound("no such report of this post")
            if action == DISMISS:
                if report is None:
                    raise InvalidArgument("dismiss names the report (report_id)")
                if report.resolved_at is not None:
                    raise FailedPrecondition("that report is settled already", reason="REPORT_SETTLED")
                report.resolved_at, report.resolution = now, "dismissed"
            else:
                target = await session.get(ForumPostRow if post_id else ForumThreadRow, post_id or thread.id,
                                           with_for_update=True)
                assert target is not None
                if (target.hidden_at is not None) == (action == HIDE):
                    raise FailedPrecondition(f"the post is {'hidden' if action == HIDE else 'shown'} already",
                                             reason="NOTHING_TO_CHANGE")
                target.hidden_at, target.hidden_reason = (now, reason) if action == HIDE else (None, "")
                if post_id:  # a thread's reply count is of the replies its readers see
                    parent = await session.get(ForumThreadRow, thread.id, with_for_update=True)
                    assert parent is not None
                    parent.replies += -1 if action == HIDE else 1
                if action == HIDE:  # every open report of it is settled by hiding it
                    for open_report in await session.scalars(select(ForumReportRow).where(
                            ForumReportRow.thread_id == thread.id, ForumReportRow.post_id == post_id,
                            ForumReportRow.resolved_at.is_(None))):
                        open_report.resolved_at, open_report.resolution = now, "hidden"
            return audit(session, thread.run_id, caller, action, thread.id, post_id, reason, now)

    async def audit_trail(self, caller: Caller, run_id: str, page_size: int, page_token: str
                          ) -> tuple[list[ForumAuditRow], str]:
        access = Access(caller, await self.course.learner_context(run_id))
        access.require_staff("read the forum's audit trail")
        async with self.db.read() as session:
            rows, token, _ = await fetch_page(session, select(ForumAuditRow).where(ForumAuditRow.run_id == run_id)
                                              .order_by(ForumAuditRow.at.desc(), ForumAuditRow.id),
                                              page_size, page_token)
        return rows, token
