"""Learning: assessments (the learning service's AssessmentService) — question banks, quizzes, the final exam,
attempts, grading open answers and offline exam marks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import File, Form, UploadFile
from pydantic import BaseModel, Field

from contracts.learning.v1 import assessments_pb2 as pb
from gateway.openapi_types import items_of, returns
from gateway.routes.deps import TIMEOUT, Backends, NoNulCharacters, SignedIn, as_json
from gateway.routing import Router
from servicekit.clock import timestamp

router = Router(tags=["assessments"], dependencies=[NoNulCharacters])
IMPORT_TIMEOUT = 120.0

QuestionKind = Literal["single_choice", "multiple_choice", "true_false", "fill_blank", "open"]


class KeyBody(BaseModel):
    correct: list[int] = Field(default_factory=list, max_length=10,
                               description="choice kinds: indexes of the correct options (from 0)")
    truth: bool = Field(False, description="true_false: the statement is true")
    accepted: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=20,
                                                                  description="fill_blank: every accepted answer")
    reference: str = Field("", max_length=20_000, description="open: a reference answer for the graders")
    explanation: str = Field("", max_length=20_000)


class QuestionBody(BaseModel):
    kind: QuestionKind
    stem: str = Field(max_length=5_000)
    options: list[Annotated[str, Field(max_length=1_000)]] = Field(default_factory=list, max_length=10)
    key: KeyBody = Field(default_factory=KeyBody)
    chapter_id: str = Field("", max_length=36, description="a chapter of the bank's plan ('' = none)")

    def message(self) -> pb.QuestionInput:
        return pb.QuestionInput(chapter_id=self.chapter_id, kind=self.kind, stem=self.stem, options=self.options,
                                key=pb.AnswerKey(**self.key.model_dump()))


class ItemBody(BaseModel):
    question_id: str = Field(max_length=36)
    points: float = Field(gt=0, le=1000)


class QuizBody(BaseModel):
    kind: Literal["in_video", "unit_test", "exam"]
    title: str = Field(max_length=200)
    unit_id: str = Field("", max_length=36)
    chapter_id: str = Field("", max_length=36)
    at_seconds: float = Field(0, ge=0, le=24 * 3600)
    attempts_allowed: int = Field(0, ge=0, le=100, description="0 = 1")
    grading_method: Literal["", "highest", "last", "average"] = ""
    show_answers: Literal["", "after_submit", "after_close", "never"] = ""
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    duration_minutes: float = Field(0, ge=0, le=24 * 60)
    mode: Literal["", "online", "offline"] = ""
    weight: float = Field(0, ge=0, le=1000, description="0 = 1")
    items: list[ItemBody] = Field(default_factory=list, max_length=200)
    open_answers_by: Literal["", "team", "peer"] = Field("", description="an online exam's open answers: graded "
                                                                         "by the team (default) or by peers")


class AnswerBody(BaseModel):
    question_id: str = Field(max_length=36)
    choices: list[int] = Field(default_factory=list, max_length=10)
    truth: bool | None = None
    text: str = Field("", max_length=20_000)


class AnswersBody(BaseModel):
    answers: list[AnswerBody] = Field(default_factory=list, max_length=200)


class ExtraTimeBody(BaseModel):
    extra_minutes: float = Field(ge=0, le=600)


class GradeBody(BaseModel):
    question_id: str = Field(max_length=36)
    points: float = Field(ge=0, le=1000)
    comment: str = Field("", max_length=2000)



def _answers(body: AnswersBody) -> list[pb.Answer]:
    return [pb.Answer(question_id=a.question_id, choices=a.choices, text=a.text,
                      **({"truth": a.truth} if a.truth is not None else {})) for a in body.answers]


async def _call(backends: Any, method: str, request: Any, me: Any, seconds: float = TIMEOUT) -> Any:
    return await getattr(backends.assessments, method)(request, metadata=me.metadata, timeout=seconds)


# ---- question banks ----

@router.post("/courses/{course_id}/questions", **returns(pb.Question, 201))
async def create_course_question(course_id: str, body: QuestionBody, backends: Backends,
                                 me: SignedIn) -> dict[str, Any]:
    """The parent course's bank (its leader): copied into each run opened after, chapter tags re-pointed."""
    request = pb.CreateQuestionRequest(course_id=course_id, question=body.message())
    return as_json(await _call(backends, "CreateQuestion", request, me))


@router.get("/courses/{course_id}/questions", **returns(items_of(pb.Question)))
async def list_course_questions(course_id: str, backends: Backends, me: SignedIn,
                                chapter_id: str = "") -> dict[str, Any]:
    reply = await _call(backends, "ListQuestions",
                        pb.ListQuestionsRequest(course_id=course_id, chapter_id=chapter_id), me)
    return {"items": [as_json(q) for q in reply.questions]}


@router.post("/learning/runs/{run_id}/questions", **returns(pb.Question, 201))
async def create_run_question(run_id: str, body: QuestionBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A run's bank (the team with edit_content)."""
    request = pb.CreateQuestionRequest(run_id=run_id, question=body.message())
    return as_json(await _call(backends, "CreateQuestion", request, me))


@router.get("/learning/runs/{run_id}/questions", **returns(items_of(pb.Question)))
async def list_run_questions(run_id: str, backends: Backends, me: SignedIn, chapter_id: str = "") -> dict[str, Any]:
    reply = await _call(backends, "ListQuestions", pb.ListQuestionsRequest(run_id=run_id, chapter_id=chapter_id),
                        me)
    return {"items": [as_json(q) for q in reply.questions]}


@router.put("/learning/questions/{question_id}", **returns(pb.Question))
async def update_question(question_id: str, body: QuestionBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Quizzes already set keep the question as it was."""
    request = pb.UpdateQuestionRequest(id=question_id, question=body.message())
    return as_json(await _call(backends, "UpdateQuestion", request, me))


@router.delete("/learning/questions/{question_id}", status_code=204)
async def delete_question(question_id: str, backends: Backends, me: SignedIn) -> None:
    await _call(backends, "DeleteQuestion", pb.DeleteQuestionRequest(id=question_id), me)


# ---- quizzes ----

@router.post("/learning/runs/{run_id}/quizzes", **returns(pb.Quiz, 201))
async def create_quiz(run_id: str, body: QuizBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """An in-video quiz (unit_id, at_seconds), a unit test (after unit_id or chapter_id) or the final exam
    (opens_at, closes_at, duration_minutes; mode offline for a paper exam): the team with edit_content."""
    data = body.model_dump(exclude={"items", "opens_at", "closes_at"})
    request = pb.CreateQuizRequest(run_id=run_id, opens_at=timestamp(body.opens_at),
                                   closes_at=timestamp(body.closes_at),
                                   items=[pb.QuizItemInput(**i.model_dump()) for i in body.items], **data)
    return as_json(await _call(backends, "CreateQuiz", request, me))


@router.get("/learning/runs/{run_id}/quizzes", **returns(items_of(pb.Quiz)))
async def list_quizzes(run_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await _call(backends, "ListQuizzes", pb.ListQuizzesRequest(run_id=run_id), me)
    return {"items": [as_json(q) for q in reply.quizzes]}


@router.get("/learning/quizzes/{quiz_id}", **returns(pb.QuizView))
async def get_quiz(quiz_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """A student sees the questions without the answer key until the quiz's show_answers policy allows."""
    return as_json(await _call(backends, "GetQuiz", pb.GetQuizRequest(quiz_id=quiz_id), me))


@router.put("/learning/quizzes/{quiz_id}/extra-time/{student_id}", **returns(pb.ExtraTime))
async def set_extra_time(quiz_id: str, student_id: str, body: ExtraTimeBody, backends: Backends,
                         me: SignedIn) -> dict[str, Any]:
    """Extra exam time for one student, before they start (409 EXAM_STARTED after)."""
    request = pb.SetExtraTimeRequest(quiz_id=quiz_id, student_id=student_id, extra_minutes=body.extra_minutes)
    return as_json(await _call(backends, "SetExtraTime", request, me))


@router.get("/learning/quizzes/{quiz_id}/results", **returns(items_of(pb.QuizResult)))
async def quiz_results(quiz_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await _call(backends, "ListQuizResults", pb.ListQuizResultsRequest(quiz_id=quiz_id), me)
    return {"items": [as_json(r) for r in reply.results]}


@router.get("/learning/quizzes/{quiz_id}/pending-answers", **returns(items_of(pb.PendingAnswer)))
async def pending_answers(quiz_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    reply = await _call(backends, "ListPendingAnswers", pb.ListPendingAnswersRequest(quiz_id=quiz_id), me)
    return {"items": [as_json(a) for a in reply.answers]}


@router.post("/learning/quizzes/{quiz_id}/offline-marks", **returns(pb.ImportExamMarksResponse))
async def import_exam_marks(
    quiz_id: str, backends: Backends, me: SignedIn,
    class_id: Annotated[str, Form(max_length=36)],
    file: Annotated[UploadFile, File(description="CSV/XLSX: a header 学号, 成绩, one line per student, 0..100")],
) -> dict[str, Any]:
    """An offline exam's marks for a class; any bad line is listed and nothing is stored (`imported` false)."""
    request = pb.ImportExamMarksRequest(quiz_id=quiz_id, class_id=class_id, filename=file.filename or "",
                                        content=await file.read())
    return as_json(await _call(backends, "ImportExamMarks", request, me, IMPORT_TIMEOUT))


# ---- attempts ----

@router.post("/learning/quizzes/{quiz_id}/attempts", **returns(pb.Attempt, 201))
async def start_attempt(quiz_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Starts (or resumes) an attempt; the exam only at 100% course hours (409 COURSE_HOURS_INCOMPLETE says how far
    and what remains)."""
    return as_json(await _call(backends, "StartAttempt", pb.StartAttemptRequest(quiz_id=quiz_id), me))


@router.get("/learning/attempts/{attempt_id}", **returns(pb.Attempt))
async def get_attempt(attempt_id: str, backends: Backends, me: SignedIn) -> dict[str, Any]:
    return as_json(await _call(backends, "GetAttempt", pb.GetAttemptRequest(attempt_id=attempt_id), me))


@router.put("/learning/attempts/{attempt_id}/answers", **returns(pb.Attempt))
async def save_answers(attempt_id: str, body: AnswersBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """Autosave: replaces the saved answer of each question named."""
    request = pb.SaveAnswersRequest(attempt_id=attempt_id, answers=_answers(body))
    return as_json(await _call(backends, "SaveAnswers", request, me))


@router.post("/learning/attempts/{attempt_id}/submit", **returns(pb.Attempt))
async def submit_attempt(attempt_id: str, body: AnswersBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    request = pb.SubmitAttemptRequest(attempt_id=attempt_id, answers=_answers(body))
    return as_json(await _call(backends, "SubmitAttempt", request, me))


@router.post("/learning/attempts/{attempt_id}/grades", **returns(pb.Attempt))
async def grade_answer(attempt_id: str, body: GradeBody, backends: Backends, me: SignedIn) -> dict[str, Any]:
    """The team (grade permission) grades an open answer."""
    request = pb.GradeAnswerRequest(attempt_id=attempt_id, **body.model_dump())
    return as_json(await _call(backends, "GradeAnswer", request, me))
