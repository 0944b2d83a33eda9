"""Wires the learning service's course forum into its host (its overdue-question sweep beside it) and translates
learning.v1 ForumService requests."""

from __future__ import annotations

from contracts.learning.v1 import forum_pb2 as pb
from contracts.learning.v1 import forum_pb2_grpc
from servicekit.auth import require_caller
from servicekit.clock import timestamp
from servicekit.consumer import Subscription
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from servicekit.schedule import SWEEP_DEFAULT_SECONDS, SWEEP_ENV, every
from services.learning.adapters.course import CoursePeer
from services.learning.adapters.forum_tables import ForumAuditRow, ForumPostRow, ForumReportRow, ForumTopicRow
from services.learning.domain.forum import ScoringRule
from services.learning.service_layer.forum import ForumHandlers, Stats, ThreadView
from services.learning.service_layer.forum_moderation import ModerationHandlers

SERVICE = "learning.v1.ForumService"


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer) -> list[Subscription]:
    moderation = ModerationHandlers(runtime.db, course)
    forum = ForumHandlers(runtime.db, course, moderation)
    host.add_servicer(forum_pb2_grpc.add_ForumServiceServicer_to_server, ForumServicer(forum, moderation), SERVICE)
    host.workers.append(every(SWEEP_ENV, SWEEP_DEFAULT_SECONDS, forum.sweep))
    return []


def topic_message(row: ForumTopicRow, threads: int, unread: int) -> pb.Topic:
    return pb.Topic(id=row.id, run_id=row.run_id, node_id=row.node_id, title=row.title,
                    description=row.description, threads=threads, unread=unread)


def thread_message(view: ThreadView) -> pb.Thread:
    r = view.row
    return pb.Thread(id=r.id, run_id=r.run_id, topic_id=r.topic_id, kind=r.kind, title=r.title, body=r.body,
                     author_id=r.author_id, author_name=r.author_name, author_is_team=r.author_is_team,
                     created_at=timestamp(r.created_at), last_activity_at=timestamp(r.last_activity_at),
                     replies=r.replies, answer_due_at=timestamp(r.answer_due_at),
                     first_response_at=timestamp(r.first_response_at), answered=r.first_response_at is not None,
                     overdue=view.overdue, endorsed_post_id=r.endorsed_post_id, hidden=r.hidden_at is not None,
                     hidden_reason=r.hidden_reason, unread=view.unread)


def post_message(row: ForumPostRow, endorsed_id: str) -> pb.Post:
    return pb.Post(id=row.id, thread_id=row.thread_id, body=row.body, author_id=row.author_id,
                   author_name=row.author_name, author_is_team=row.author_is_team,
                   created_at=timestamp(row.created_at), endorsed=row.id == endorsed_id,
                   hidden=row.hidden_at is not None, hidden_reason=row.hidden_reason)


def report_message(row: ForumReportRow, excerpt: str = "") -> pb.Report:
    return pb.Report(id=row.id, thread_id=row.thread_id, post_id=row.post_id, reason=row.reason,
                     created_at=timestamp(row.created_at), resolved_at=timestamp(row.resolved_at),
                     resolution=row.resolution, excerpt=excerpt)


def audit_message(row: ForumAuditRow) -> pb.AuditEntry:
    return pb.AuditEntry(id=row.id, actor_id=row.actor_id, actor_name=row.actor_name, action=row.action,
                         thread_id=row.thread_id, post_id=row.post_id, reason=row.reason, at=timestamp(row.at))


def stats_message(stats: Stats) -> pb.ForumStats:
    rule = stats.rule
    return pb.ForumStats(
        rule=pb.ScoringRule(first_post_points=rule.first_post_points, replies_needed=rule.replies_needed,
                            min_reply_chars=rule.min_reply_chars) if rule else None,
        graded=rule is not None, questions=stats.questions, answered=stats.answered,
        answered_on_time=stats.on_time, overdue=stats.overdue, median_first_response_hours=stats.median_hours,
        answer_working_days=stats.working_days)


class ForumServicer(forum_pb2_grpc.ForumServiceServicer):
    def __init__(self, forum: ForumHandlers, moderation: ModerationHandlers) -> None:
        self.forum = forum
        self.moderation = moderation

    async def CreateTopic(self, request, context):  # type: ignore[no-untyped-def]
        return topic_message(*await self.forum.create_topic(require_caller(), request.run_id, request.node_id,
                                                            request.title, request.description))

    async def ListTopics(self, request, context):  # type: ignore[no-untyped-def]
        topics = await self.forum.list_topics(require_caller(), request.run_id)
        return pb.ListTopicsResponse(topics=[topic_message(*t) for t in topics])

    async def StartThread(self, request, context):  # type: ignore[no-untyped-def]
        return thread_message(await self.forum.start_thread(require_caller(), request.topic_id, request.kind,
                                                            request.title, request.body))

    async def ListThreads(self, request, context):  # type: ignore[no-untyped-def]
        views, token, total = await self.forum.list_threads(
            require_caller(), request.run_id, request.topic_id, request.kind, request.query,
            request.unanswered_only, request.page_size, request.page_token)
        return pb.ListThreadsResponse(threads=[thread_message(v) for v in views], next_page_token=token,
                                      total=total)

    async def GetThread(self, request, context):  # type: ignore[no-untyped-def]
        view, posts, token = await self.forum.get_thread(require_caller(), request.thread_id, request.page_size,
                                                         request.page_token)
        return pb.ThreadPage(thread=thread_message(view),
                             posts=[post_message(p, view.row.endorsed_post_id) for p in posts],
                             next_page_token=token)

    async def Reply(self, request, context):  # type: ignore[no-untyped-def]
        post, thread = await self.forum.reply(require_caller(), request.thread_id, request.body)
        return post_message(post, thread.endorsed_post_id)

    async def EndorseAnswer(self, request, context):  # type: ignore[no-untyped-def]
        return thread_message(await self.forum.endorse(require_caller(), request.thread_id, request.post_id))

    async def ReportPost(self, request, context):  # type: ignore[no-untyped-def]
        return report_message(await self.moderation.report(require_caller(), request.thread_id, request.post_id,
                                                           request.reason))

    async def ListReports(self, request, context):  # type: ignore[no-untyped-def]
        reports = await self.moderation.reports(require_caller(), request.run_id, request.open_only)
        return pb.ListReportsResponse(reports=[report_message(r, excerpt) for r, excerpt in reports])

    async def Moderate(self, request, context):  # type: ignore[no-untyped-def]
        entry = await self.moderation.moderate(require_caller(), request.thread_id, request.post_id, request.action,
                                               request.reason, request.report_id)
        return pb.ModerateResponse(entry=audit_message(entry))

    async def ListAudit(self, request, context):  # type: ignore[no-untyped-def]
        rows, token = await self.moderation.audit_trail(require_caller(), request.run_id, request.page_size,
                                                        request.page_token)
        return pb.ListAuditResponse(entries=[audit_message(r) for r in rows], next_page_token=token)

    async def SetScoringRule(self, request, context):  # type: ignore[no-untyped-def]
        rule = ScoringRule(request.rule.first_post_points, request.rule.replies_needed, request.rule.min_reply_chars)
        return stats_message(await self.forum.set_rule(require_caller(), request.run_id, rule))

    async def GetForumStats(self, request, context):  # type: ignore[no-untyped-def]
        return stats_message(await self.forum.stats(require_caller(), request.run_id))

    async def ListBlockedWords(self, request, context):  # type: ignore[no-untyped-def]
        words = await self.moderation.words(require_caller(), request.province_code)
        return pb.BlockedWords(province_code=request.province_code, words=words)

    async def ChangeBlockedWords(self, request, context):  # type: ignore[no-untyped-def]
        words = await self.moderation.change_words(require_caller(), request.province_code, list(request.add),
                                                   list(request.remove))
        return pb.BlockedWords(province_code=request.province_code, words=words)
