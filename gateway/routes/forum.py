"""Learning: the course forum (the learning service's ForumService) — the team's topics per unit, questions and
discussions with replies, endorsed answers, unread marks and search; questions answered within the policy's working
days; reports, hiding, each province's blocked words and the audit trail; the forum's share of the grade."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from contracts.learning.v1 import forum_pb2 as pb
from gateway.openapi_types import returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, Paging, SignedIn, as_json
from gateway.routing import Router

router = Router(tags=["forum"], dependencies=[NoNulCharacters])


class TopicBody(BaseModel):
    title: str = Field(max_length=200)
    description: str = Field("", max_length=20_000)
    node_id: str = Field("", max_length=36, description="the unit (or chapter) it belongs to; \"\" = the course")


class ThreadBody(BaseModel):
    kind: Literal["question", "discussion"]
    title: str = Field(max_length=200)
    body: str = Field(max_length=20_000)


class ReplyBody(BaseModel):
    body: str = Field(max_length=20_000)


class EndorseBody(BaseModel):
    post_id: str = Field("", max_length=36, description="\"\" takes the endorsement back")


class ReportBody(BaseModel):
    post_id: str = Field("", max_length=36, description="\"\" = the thread's opening post")
    reason: str = Field(max_length=1_000)


class ModerateBody(BaseModel):
    post_id: str = Field("", max_length=36, description="\"\" = the whole thread")
    action: Literal["hide", "unhide", "dismiss"]
    reason: str = Field("", max_length=1_000, description="required to hide or dismiss")
    report_id: str = Field("", max_length=36, description="dismiss: the report; hide: settles it too")


class RuleBody(BaseModel):
    first_post_points: float = Field(ge=0, le=100)
    replies_needed: int = Field(ge=0, le=1_000)
    min_reply_chars: int = Field(0, ge=0, le=5_000, description="a substantive reply's length, spaces not counted")


class WordsBody(BaseModel):
    add: list[str] = Field(default_factory=list, max_length=2_000)
    remove: list[str] = Field(default_factory=list, max_length=2_000)


async def _call(backends: Any, method: str, request: Any, me: Any) -> Any:
    return as_json(await getattr(backends.forum, method)(request, metadata=me.metadata, timeout=TIMEOUT))


@router.post("/learning/runs/{run_id}/forum/topics", **returns(pb.Topic, 201))
async def create_topic(run_id: str, body: TopicBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The team (edit_content): one or more topics per unit."""
    return await _call(backends, "CreateTopic", pb.CreateTopicRequest(run_id=run_id, **body.model_dump()), me)


@router.get("/learning/runs/{run_id}/forum/topics", **returns(pb.ListTopicsResponse))
async def list_topics(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """With each topic's threads and those unread by the caller."""
    return await _call(backends, "ListTopics", pb.ListTopicsRequest(run_id=run_id), me)


@router.post("/learning/forum/topics/{topic_id}/threads", **returns(pb.Thread, 201))
async def start_thread(topic_id: str, body: ThreadBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The run's students and team; a student's question is due an answer within the policy's working days."""
    return await _call(backends, "StartThread", pb.StartThreadRequest(topic_id=topic_id, **body.model_dump()), me)


@router.get("/learning/runs/{run_id}/forum/threads", **returns(pb.ListThreadsResponse))
async def list_threads(run_id: str, backends: Backends, me: SignedIn, paging: Paging,
                       topic_id: str = Query("", max_length=36), kind: str = Query("", max_length=20),
                       q: str = Query("", max_length=200, description="searches titles and posts"),
                       unanswered: bool = Query(False, description="questions the team has not answered, oldest "
                                                                   "deadline first")) -> dict[str, Any]:
    request = pb.ListThreadsRequest(run_id=run_id, topic_id=topic_id, kind=kind, query=q, unanswered_only=unanswered,
                                    page_size=paging.page_size, page_token=paging.page_token)
    return await _call(backends, "ListThreads", request, me)


@router.get("/learning/forum/threads/{thread_id}", **returns(pb.ThreadPage))
async def get_thread(thread_id: str, backends: Backends, me: SignedIn, paging: Paging) -> dict[str, Any]:
    """The thread and a page of replies, oldest first; marks it read."""
    request = pb.GetThreadRequest(thread_id=thread_id, page_size=paging.page_size, page_token=paging.page_token)
    return await _call(backends, "GetThread", request, me)


@router.post("/learning/forum/threads/{thread_id}/replies", **returns(pb.Post, 201))
async def reply(thread_id: str, body: ReplyBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return await _call(backends, "Reply", pb.ReplyRequest(thread_id=thread_id, body=body.body), me)


@router.put("/learning/forum/threads/{thread_id}/answer", **returns(pb.Thread))
async def endorse(thread_id: str, body: EndorseBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The team endorses a reply as the answer."""
    return await _call(backends, "EndorseAnswer", pb.EndorseAnswerRequest(thread_id=thread_id, post_id=body.post_id),
                       me)


@router.post("/learning/forum/threads/{thread_id}/reports", **returns(pb.Report, 201))
async def report(thread_id: str, body: ReportBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return await _call(backends, "ReportPost", pb.ReportPostRequest(thread_id=thread_id, **body.model_dump()), me)


@router.get("/learning/runs/{run_id}/forum/reports", **returns(pb.ListReportsResponse))
async def list_reports(run_id: str, backends: Backends, me: SignedIn,
                       open_only: bool = Query(True)) -> dict[str, Any]:
    return await _call(backends, "ListReports", pb.ListReportsRequest(run_id=run_id, open_only=open_only), me)


@router.post("/learning/forum/threads/{thread_id}/moderation", **returns(pb.ModerateResponse))
async def moderate(thread_id: str, body: ModerateBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The team hides or restores a post (or the thread), or dismisses a report; kept in the audit trail."""
    return await _call(backends, "Moderate", pb.ModerateRequest(thread_id=thread_id, **body.model_dump()), me)


@router.get("/learning/runs/{run_id}/forum/audit", **returns(pb.ListAuditResponse))
async def audit(run_id: str, backends: Backends, me: SignedIn, paging: Paging) -> dict[str, Any]:
    request = pb.ListAuditRequest(run_id=run_id, page_size=paging.page_size, page_token=paging.page_token)
    return await _call(backends, "ListAudit", request, me)


@router.get("/learning/runs/{run_id}/forum/stats", **returns(pb.ForumStats))
async def stats(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Questions answered on time and first-response times (kept for the course's evaluation), and the rule."""
    return await _call(backends, "GetForumStats", pb.GetForumStatsRequest(run_id=run_id), me)


@router.put("/learning/runs/{run_id}/forum/rule", **returns(pb.ForumStats))
async def set_rule(run_id: str, body: RuleBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The leader: how forum activity scores in the forum category of the grading scheme."""
    request = pb.SetScoringRuleRequest(run_id=run_id, rule=pb.ScoringRule(**body.model_dump()))
    return await _call(backends, "SetScoringRule", request, me)


@router.get("/learning/provinces/{province_code}/blocked-words", **returns(pb.BlockedWords))
async def blocked_words(province_code: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return await _call(backends, "ListBlockedWords", pb.ListBlockedWordsRequest(province_code=province_code), me)


@router.patch("/learning/provinces/{province_code}/blocked-words", **returns(pb.BlockedWords))
async def change_blocked_words(province_code: str, body: WordsBody, backends: Backends,
                               me: SignedIn) -> dict[str, Any]:
    """The province's center admins (and the platform's)."""
    request = pb.ChangeBlockedWordsRequest(province_code=province_code, add=body.add, remove=body.remove)
    return await _call(backends, "ChangeBlockedWords", request, me)
