"""The course forum: topics the team sets per unit, threads (questions or discussions) and replies from the run's
students and team, the team's endorsed answers, unread marks and search; questions answered late remind the team
and then the school's admins through their inboxes; the forum's share of the grade by the leader's rule. Reports,
hiding and blocked words are `forum_moderation`'s. The rules are `domain/forum.py`'s."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from servicekit.auth import Caller
from servicekit.clock import utcnow
from servicekit.db import Database, new_id
from servicekit.errors import FailedPrecondition, NotFound, PermissionDenied
from servicekit.pagination import fetch_page
from servicekit.search import contains
from servicekit.text import check_text
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.forum_tables import (
    ForumPostRow,
    ForumReadRow,
    ForumRuleRow,
    ForumThreadRow,
    ForumTopicRow,
)
from services.learning.domain import forum as rules
from services.learning.domain import grading
from services.learning.domain.assessments import ScoredItem
from services.learning.service_layer.assessments import Access
from services.learning.service_layer.forum_moderation import ModerationHandlers, audit
from services.learning.service_layer.inbox import Message, deliver, school_admins

SWEEP_BATCH = 200


@dataclass
class ThreadView:
    row: ForumThreadRow
    unread: bool = False
    now: datetime | None = None

    @property
    def overdue(self) -> bool:
        r = self.row
        return (r.answer_due_at is not None and r.first_response_at is None and self.now is not None
                and r.answer_due_at <= self.now)


@dataclass
class Stats:
    rule: ForumRuleRow | None
    questions: int
    answered: int
    on_time: int
    overdue: int
    median_hours: float
    working_days: int


def thread_link(row: ForumThreadRow) -> str:
    return f"/runs/{row.run_id}/forum/{row.id}"  # the console's forum page


class ForumHandlers:
    def __init__(self, db: Database, course: CoursePeer, moderation: ModerationHandlers,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.course = course
        self.moderation = moderation
        self.clock = clock

    async def _access(self, caller: Caller, run_id: str) -> Access:
        """The run's students, team and school admins read the forum (the course service refuses anyone else)."""
        return Access(caller, await self.course.learner_context(run_id))

    @staticmethod
    def _require_poster(access: Access) -> None:
        if not (access.student or access.team):
            raise PermissionDenied("only the run's students and team post in its forum", reason="PARTICIPANTS_ONLY")

    async def _working_days(self, access: Access) -> int:
        policy = await self.course.policy(access.context.run.school_id, access.context.run.term_code)
        return int(policy.get("forum_answer_working_days") or 2)

    # ---- topics -----------------------------------------------------------------------------------------------

    async def create_topic(self, caller: Caller, run_id: str, node_id: str, title: str,
                           description: str) -> tuple[ForumTopicRow, int, int]:
        access = await self._access(caller, run_id)
        access.require_team("edit_content", "set the forum's topics")
        if node_id and access.node(node_id) is None:
            raise NotFound("that unit is not in this run's plan")
        async with self.db.transaction() as session:
            position = await session.scalar(select(func.count()).select_from(ForumTopicRow).where(
                ForumTopicRow.run_id == run_id)) or 0
            row = ForumTopicRow(id=new_id(), run_id=run_id, node_id=node_id,
                                title=check_text(title, "the title", rules.MAX_TITLE),
                                description=check_text(description, "the description", rules.MAX_BODY,
                                                       required=False),
                                position=position, created_by=caller.user_id, created_at=self.clock())
            session.add(row)
        return row, 0, 0

    async def list_topics(self, caller: Caller, run_id: str) -> list[tuple[ForumTopicRow, int, int]]:
        """(topic, threads, threads unread by the caller), in the team's order."""
        access = await self._access(caller, run_id)
        visible = self._visible(access)
        async with self.db.read() as session:
            topics = list(await session.scalars(select(ForumTopicRow).where(ForumTopicRow.run_id == run_id)
                                                .order_by(ForumTopicRow.position, ForumTopicRow.created_at)))
            counts = dict((await session.execute(
                select(ForumThreadRow.topic_id, func.count()).where(ForumThreadRow.run_id == run_id, visible)
                .group_by(ForumThreadRow.topic_id))).all())
            unread = dict((await session.execute(
                select(ForumThreadRow.topic_id, func.count()).where(
                    ForumThreadRow.run_id == run_id, visible, self._unread(caller.user_id))
                .group_by(ForumThreadRow.topic_id))).all())
        return [(t, counts.get(t.id, 0), unread.get(t.id, 0)) for t in topics]

    # ---- threads and replies ----------------------------------------------------------------------------------

    @staticmethod
    def _visible(access: Access):  # type: ignore[no-untyped-def]
        """Students do not see hidden threads; the staff do, marked."""
        return ForumThreadRow.hidden_at.is_(None) if access.student else ForumThreadRow.id.is_not(None)

    @staticmethod
    def _unread(user_id: str):  # type: ignore[no-untyped-def]
        return ~exists().where(ForumReadRow.thread_id == ForumThreadRow.id, ForumReadRow.user_id == user_id,
                               ForumReadRow.read_at >= ForumThreadRow.last_activity_at)

    async def _check_words(self, caller: Caller, access: Access, run_id: str, *texts: str) -> None:
        province = access.context.province_code or caller.province_code or ""
        await self.moderation.refuse_blocked(caller, province, run_id, *texts)

    async def start_thread(self, caller: Caller, topic_id: str, kind: str, title: str, body: str) -> ThreadView:
        async with self.db.read() as session:
            topic = await session.get(ForumTopicRow, topic_id)
        if topic is None:
            raise NotFound("no such topic")
        access = await self._access(caller, topic.run_id)
        self._require_poster(access)
        kind = rules.check_kind(kind)
        title = check_text(title, "the title", rules.MAX_TITLE)
        body = check_text(body, "the post", rules.MAX_BODY)
        await self._check_words(caller, access, topic.run_id, title, body)
        now = self.clock()
        row = ForumThreadRow(id=new_id(), run_id=topic.run_id, topic_id=topic.id,
                             run_school_id=access.context.run.school_id, kind=kind, title=title, body=body,
                             author_id=caller.user_id, author_name=caller.name, author_is_team=access.team,
                             created_at=now, last_activity_at=now, replies=0)
        if kind == rules.QUESTION and access.student:  # the team's own questions wait for no one
            row.answer_working_days = await self._working_days(access)
            row.answer_due_at = rules.answer_due(now, row.answer_working_days)
        async with self.db.transaction() as session:
            session.add(row)
            session.add(ForumReadRow(thread_id=row.id, user_id=caller.user_id, read_at=now))
        return ThreadView(row, now=now)

    async def list_threads(self, caller: Caller, run_id: str, topic_id: str, kind: str, query: str,
                           unanswered_only: bool, page_size: int, page_token: str
                           ) -> tuple[list[ThreadView], str, int]:
        access = await self._access(caller, run_id)
        statement = select(ForumThreadRow).where(ForumThreadRow.run_id == run_id, self._visible(access))
        if topic_id:
            statement = statement.where(ForumThreadRow.topic_id == topic_id)
        if kind:
            statement = statement.where(ForumThreadRow.kind == rules.check_kind(kind))
        if unanswered_only:
            statement = statement.where(ForumThreadRow.answer_due_at.is_not(None),
                                        ForumThreadRow.first_response_at.is_(None))
        text = query.strip()
        if text:
            check_text(text, "the search", rules.MAX_TITLE)
            in_posts = exists().where(ForumPostRow.thread_id == ForumThreadRow.id, contains(ForumPostRow.body, text),
                                      ForumPostRow.hidden_at.is_(None) if access.student else True)
            statement = statement.where(or_(contains(ForumThreadRow.title, text, case_insensitive=True),
                                            contains(ForumThreadRow.body, text, case_insensitive=True), in_posts))
        order = (ForumThreadRow.answer_due_at, ForumThreadRow.id) if unanswered_only else (
            ForumThreadRow.last_activity_at.desc(), ForumThreadRow.id)
        async with self.db.read() as session:
            rows, token, total = await fetch_page(session, statement.order_by(*order), page_size, page_token)
            read = await self._read_marks(session, caller.user_id, [r.id for r in rows])
        now = self.clock()
        return [ThreadView(r, unread=r.id not in read or read[r.id] < r.last_activity_at, now=now)
                for r in rows], token, total

    @staticmethod
    async def _read_marks(session: AsyncSession, user_id: str, thread_ids: list[str]) -> dict[str, datetime]:
        if not thread_ids:
            return {}
        return dict((await session.execute(select(ForumReadRow.thread_id, ForumReadRow.read_at).where(
            ForumReadRow.user_id == user_id, ForumReadRow.thread_id.in_(thread_ids)))).all())

    async def _thread(self, caller: Caller, thread_id: str) -> tuple[ForumThreadRow, Access]:
        async with self.db.read() as session:
            row = await session.get(ForumThreadRow, thread_id)
        if row is None:
            raise NotFound("no such thread")
        access = await self._access(caller, row.run_id)
        if row.hidden_at is not None and access.student:
            raise NotFound("no such thread")
        return row, access

    async def get_thread(self, caller: Caller, thread_id: str, page_size: int, page_token: str
                         ) -> tuple[ThreadView, list[ForumPostRow], str]:
        """The thread and a page of its replies, oldest first; marks it read for the caller."""
        row, access = await self._thread(caller, thread_id)
        statement = select(ForumPostRow).where(ForumPostRow.thread_id == row.id)
        if access.student:
            statement = statement.where(ForumPostRow.hidden_at.is_(None))
        now = self.clock()
        async with self.db.transaction() as session:
            posts, token, _ = await fetch_page(session, statement.order_by(ForumPostRow.created_at, ForumPostRow.id),
                                               page_size, page_token)
            mark = await session.get(ForumReadRow, (row.id, caller.user_id))
            if mark is None:
                session.add(ForumReadRow(thread_id=row.id, user_id=caller.user_id, read_at=now))
            else:
                mark.read_at = now
        return ThreadView(row, now=now), posts, token

    async def reply(self, caller: Caller, thread_id: str, body: str) -> tuple[ForumPostRow, ForumThreadRow]:
        row, access = await self._thread(caller, thread_id)
        self._require_poster(access)
        if row.hidden_at is not None:
            raise FailedPrecondition("the team hid this thread; it takes no replies", reason="THREAD_HIDDEN")
        body = check_text(body, "the reply", rules.MAX_BODY)
        await self._check_words(caller, access, row.run_id, body)
        now = self.clock()
        post = ForumPostRow(id=new_id(), thread_id=row.id, run_id=row.run_id, body=body, author_id=caller.user_id,
                            author_name=caller.name, author_is_team=access.team, created_at=now)
        async with self.db.transaction() as session:
            thread = await session.get(ForumThreadRow, row.id, with_for_update=True)
            assert thread is not None
            session.add(post)
            thread.replies += 1
            thread.last_activity_at = now
            if access.team:
                await self._answered(session, thread, caller.user_id, now)
            mark = await session.get(ForumReadRow, (row.id, caller.user_id))
            if mark is None:
                session.add(ForumReadRow(thread_id=row.id, user_id=caller.user_id, read_at=now))
            else:
                mark.read_at = now
        return post, thread

    @staticmethod
    async def _answered(session: AsyncSession, thread: ForumThreadRow, by: str, now: datetime) -> None:
        """The team's first answer to a question: the response time is kept and the asker hears of it."""
        if thread.answer_due_at is None or thread.first_response_at is not None:
            return
        thread.first_response_at, thread.first_response_by = now, by
        await deliver(session, [Message(thread.author_id, "forum_answer", f"forum-answer:{thread.id}",
                                        f"你的问题有了老师的回答：{thread.title}", link=thread_link(thread),
                                        run_id=thread.run_id)], now)

    async def endorse(self, caller: Caller, thread_id: str, post_id: str) -> ThreadView:
        row, access = await self._thread(caller, thread_id)
        if not access.team:
            raise PermissionDenied("only the run's team endorses answers", reason="TEAM_ONLY")
        now = self.clock()
        async with self.db.transaction() as session:
            thread = await session.get(ForumThreadRow, row.id, with_for_update=True)
            assert thread is not None
            if post_id:
                post = await session.get(ForumPostRow, post_id)
                if post is None or post.thread_id != thread.id:
                    raise NotFound("no such reply in this thread")
                if post.hidden_at is not None:
                    raise FailedPrecondition("a hidden reply cannot be the answer", reason="POST_HIDDEN")
                await self._answered(session, thread, caller.user_id, now)
            thread.endorsed_post_id = post_id
            thread.last_activity_at = now
            audit(session, thread.run_id, caller, "endorse" if post_id else "unendorse", thread.id, post_id, "", now)
        return ThreadView(thread, now=now)

    # ---- overdue questions ------------------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Questions past their deadline without the team's answer: the team is reminded, and a working day later
        the school's admins are alerted (each once: the inbox keys them)."""
        now = self.clock()
        async with self.db.read() as session:
            due = list(await session.scalars(select(ForumThreadRow).where(
                ForumThreadRow.answer_due_at.is_not(None), ForumThreadRow.answer_due_at <= now,
                ForumThreadRow.first_response_at.is_(None), ForumThreadRow.hidden_at.is_(None),
                ForumThreadRow.escalation < rules.ADMINS_ALERTED).limit(SWEEP_BATCH)))
        moved = 0
        for thread in due:
            assert thread.answer_due_at is not None
            level = rules.level_now(thread.escalation, thread.answer_due_at, thread.answer_working_days, now)
            if level == thread.escalation:
                continue
            team = await self.course.team_ids(thread.run_id)
            async with self.db.transaction() as session:
                current = await session.get(ForumThreadRow, thread.id, with_for_update=True)
                if current is None or current.first_response_at is not None or current.escalation >= level:
                    continue
                messages = [Message(user, "forum_overdue", f"forum-overdue:{thread.id}",
                                    f"课程论坛有超时未答的问题：{thread.title}", link=thread_link(thread),
                                    run_id=thread.run_id) for user in team]
                if level >= rules.ADMINS_ALERTED:
                    messages.append(Message(school_admins(thread.run_school_id), "forum_overdue",
                                            f"forum-escalated:{thread.id}",
                                            f"课程团队超时未回答学生问题：{thread.title}", link=thread_link(thread),
                                            run_id=thread.run_id))
                await deliver(session, messages, now)
                current.escalation = level
                moved += 1
        return moved

    # ---- statistics and scoring -------------------------------------------------------------------------------

    async def stats(self, caller: Caller, run_id: str) -> Stats:
        access = await self._access(caller, run_id)
        access.require_staff("read the forum's statistics")
        working_days = await self._working_days(access)
        now = self.clock()
        async with self.db.read() as session:
            rule = await session.get(ForumRuleRow, run_id)
            questions = list((await session.execute(select(
                ForumThreadRow.created_at, ForumThreadRow.answer_due_at, ForumThreadRow.first_response_at).where(
                ForumThreadRow.run_id == run_id, ForumThreadRow.answer_due_at.is_not(None)))).all())
        answered = [(asked, due, first) for asked, due, first in questions if first is not None]
        hours = [(first - asked).total_seconds() / 3600 for asked, _, first in answered]
        return Stats(rule, len(questions), len(answered), sum(1 for _, due, first in answered if first <= due),
                     sum(1 for _, due, first in questions if first is None and due <= now),
                     round(statistics.median(hours), 2) if hours else 0.0, working_days)

    async def set_rule(self, caller: Caller, run_id: str, rule: rules.ScoringRule) -> Stats:
        access = await self._access(caller, run_id)
        if caller.user_id != access.context.leader_id:
            raise PermissionDenied("only the course leader sets how forum activity is graded", reason="LEADER_ONLY")
        rule.check()
        async with self.db.transaction() as session:
            row = await session.get(ForumRuleRow, run_id)
            if row is None:
                row = ForumRuleRow(run_id=run_id)
                session.add(row)
            row.first_post_points, row.replies_needed = rule.first_post_points, rule.replies_needed
            row.min_reply_chars, row.set_by, row.set_at = rule.min_reply_chars, caller.user_id, self.clock()
        return await self.stats(caller, run_id)


async def run_scores(session: AsyncSession, run_id: str) -> dict[str, list[ScoredItem]]:
    """The forum as the gradebook counts it once the leader has set a rule: one item per student who posted (the
    others score 0 on it), from their visible threads and replies."""
    row = await session.get(ForumRuleRow, run_id)
    if row is None:
        return {}
    rule = rules.ScoringRule(row.first_post_points, row.replies_needed, row.min_reply_chars)
    posts: dict[str, int] = {}
    substantive: dict[str, int] = {}
    for author, count in await session.execute(
            select(ForumThreadRow.author_id, func.count()).where(
                ForumThreadRow.run_id == run_id, ForumThreadRow.hidden_at.is_(None),
                ForumThreadRow.author_is_team.is_(False)).group_by(ForumThreadRow.author_id)):
        posts[author] = posts.get(author, 0) + count
    for author, body in await session.execute(
            select(ForumPostRow.author_id, ForumPostRow.body).join(
                ForumThreadRow, and_(ForumThreadRow.id == ForumPostRow.thread_id,
                                     ForumThreadRow.hidden_at.is_(None))).where(
                ForumPostRow.run_id == run_id, ForumPostRow.hidden_at.is_(None),
                ForumPostRow.author_is_team.is_(False))):
        posts[author] = posts.get(author, 0) + 1
        if rule.substantive(body):
            substantive[author] = substantive.get(author, 0) + 1
    item = f"forum:{run_id}"
    return {student: [ScoredItem(item_id=item, title="课程论坛", category=grading.FORUM, weight=1.0,
                                 score=rule.score(count, substantive.get(student, 0)))]
            for student, count in posts.items()}
