"""Wires the learning service's assessments (servicer, event subscriptions, background work) into its host, and
translates learning.v1 AssessmentService requests into handler calls."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from contracts.course.v1 import course_pb2
from contracts.learning.v1 import assessments_pb2 as pb
from contracts.learning.v1 import assessments_pb2_grpc
from servicekit.auth import require_caller
from servicekit.clock import timestamp
from servicekit.consumer import Subscription
from servicekit.grpc_server import ServiceHost
from servicekit.runtime import Runtime
from services.learning.adapters.assessment_tables import AttemptRow, QuestionRow, QuizQuestionRow, QuizRow
from services.learning.adapters.course import CoursePeer
from services.learning.domain import assessments as rules
from services.learning.service_layer.assessments import answers_of, content_of, key_from_json, marks_of
from services.learning.service_layer.attempts import AttemptHandlers, AttemptView
from services.learning.service_layer.banks import BankHandlers
from services.learning.service_layer.progress import ProgressHandlers
from services.learning.service_layer.quizzes import QuizHandlers, QuizSpec, released_for
from services.learning.service_layer.studies import StudyHandlers

SERVICE = "learning.v1.AssessmentService"


def wire(host: ServiceHost, runtime: Runtime, course: CoursePeer, progress: ProgressHandlers,
         studies: StudyHandlers) -> list[Subscription]:
    """Adds the servicer to `host` (and workers to host.workers, due providers to studies.due); returns the
    event subscriptions to attach."""
    banks = BankHandlers(runtime.db, course)
    quizzes = QuizHandlers(runtime.db, course)
    attempts = AttemptHandlers(runtime.db, quizzes, progress)
    host.add_servicer(assessments_pb2_grpc.add_AssessmentServiceServicer_to_server,
                      AssessmentServicer(banks, quizzes, attempts), SERVICE)
    host.workers.append(attempts.sweep_forever)
    studies.due.append(quizzes.due)
    return [Subscription(durable="learning-run-openings", stream="COURSE", filter_subject="course.run.opened",
                         handlers={course_pb2.RunOpened: banks.copy_on_run_opened})]


# ---- translation --------------------------------------------------------------------------------------


def _when(stamp: Timestamp, present: bool) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if present else None


def key_message(key: rules.Key) -> pb.AnswerKey:
    return pb.AnswerKey(correct=list(key.correct), truth=key.truth, accepted=list(key.accepted),
                        reference=key.reference, explanation=key.explanation)


def content_from(message: pb.QuestionInput) -> rules.QuestionContent:
    key = message.key
    return rules.QuestionContent(kind=message.kind, stem=message.stem, options=tuple(message.options),
                                 key=rules.Key(correct=tuple(key.correct), truth=key.truth,
                                               accepted=tuple(key.accepted), reference=key.reference,
                                               explanation=key.explanation))


def question_message(row: QuestionRow) -> pb.Question:
    content = content_of(row)
    return pb.Question(id=row.id, course_id=row.course_id, run_id=row.run_id, chapter_id=row.chapter_id,
                       kind=row.kind, stem=row.stem, options=list(content.options), key=key_message(content.key),
                       source_question_id=row.source_question_id, updated_at=timestamp(row.updated_at))


def quiz_message(quiz: QuizRow, count: int, now: datetime, released: bool = True) -> pb.Quiz:
    return pb.Quiz(id=quiz.id, run_id=quiz.run_id, kind=quiz.kind, title=quiz.title, unit_id=quiz.unit_id,
                   chapter_id=quiz.chapter_id, at_seconds=quiz.at_seconds, attempts_allowed=quiz.attempts_allowed,
                   grading_method=quiz.grading_method, show_answers=quiz.show_answers,
                   opens_at=timestamp(quiz.opens_at), closes_at=timestamp(quiz.closes_at),
                   duration_minutes=quiz.duration_minutes, mode=quiz.mode, weight=quiz.weight, question_count=count,
                   total_points=quiz.total_points, state=rules.quiz_state(now, quiz.opens_at, quiz.closes_at),
                   released=released, open_answers_by=quiz.open_answers_by)


def item_message(item: QuizQuestionRow, with_key: bool) -> pb.QuizQuestion:
    content = content_of(item)
    message = pb.QuizQuestion(question_id=item.question_id, position=item.position, kind=item.kind,
                              stem=item.stem, options=list(content.options), points=item.points)
    if with_key:
        message.key.CopyFrom(key_message(content.key))
    return message


def answers_message(row: AttemptRow) -> list[pb.Answer]:
    answers = []
    for question_id, given in answers_of(row).items():
        answer = pb.Answer(question_id=question_id, choices=list(given.choices), text=given.text)
        if given.truth is not None:
            answer.truth = given.truth
        answers.append(answer)
    return answers


def attempt_message(view: AttemptView) -> pb.Attempt:
    row = view.attempt
    state = "in_progress" if row.submitted_at is None else ("submitted" if row.pending_count else "graded")
    message = pb.Attempt(id=row.id, quiz_id=row.quiz_id, student_id=row.student_id, number=row.number, state=state,
                         started_at=timestamp(row.started_at), deadline_at=timestamp(row.deadline_at),
                         saved_at=timestamp(row.saved_at), submitted_at=timestamp(row.submitted_at),
                         auto_submitted=row.auto_submitted, answers=answers_message(row), offline=row.offline,
                         max_points=row.max_points)
    if row.submitted_at is not None:
        message.points, message.score, message.pending_count = row.points, row.score or 0.0, row.pending_count
        if view.results_visible:
            message.results.extend(pb.ItemResult(question_id=qid, points=m.points, max_points=m.max_points,
                                                 pending=m.pending, comment=m.comment)
                                   for qid, m in marks_of(row).items())
    elif row.deadline_at is not None:
        message.seconds_left = max(0.0, (row.deadline_at - view.now).total_seconds())
    return message


def answers_from(answers) -> dict[str, rules.AnswerGiven]:  # type: ignore[no-untyped-def]
    return {a.question_id: rules.AnswerGiven(choices=tuple(a.choices),
                                             truth=a.truth if a.HasField("truth") else None, text=a.text)
            for a in answers}


class AssessmentServicer(assessments_pb2_grpc.AssessmentServiceServicer):
    def __init__(self, banks: BankHandlers, quizzes: QuizHandlers, attempts: AttemptHandlers) -> None:
        self.banks = banks
        self.quizzes = quizzes
        self.attempts = attempts

    # ---- banks ----

    async def CreateQuestion(self, request, context):  # type: ignore[no-untyped-def]
        row = await self.banks.create_question(require_caller(), request.course_id, request.run_id,
                                               request.question.chapter_id, content_from(request.question))
        return question_message(row)

    async def UpdateQuestion(self, request, context):  # type: ignore[no-untyped-def]
        row = await self.banks.update_question(require_caller(), request.id, request.question.chapter_id,
                                               content_from(request.question))
        return question_message(row)

    async def DeleteQuestion(self, request, context):  # type: ignore[no-untyped-def]
        await self.banks.delete_question(require_caller(), request.id)
        return pb.DeleteQuestionResponse()

    async def ListQuestions(self, request, context):  # type: ignore[no-untyped-def]
        rows = await self.banks.list_questions(require_caller(), request.course_id, request.run_id,
                                               request.chapter_id)
        return pb.ListQuestionsResponse(questions=[question_message(r) for r in rows])

    # ---- quizzes ----

    async def CreateQuiz(self, request, context):  # type: ignore[no-untyped-def]
        spec = QuizSpec(run_id=request.run_id, kind=request.kind, title=request.title, unit_id=request.unit_id,
                        chapter_id=request.chapter_id, at_seconds=request.at_seconds,
                        attempts_allowed=request.attempts_allowed, grading_method=request.grading_method,
                        show_answers=request.show_answers,
                        opens_at=_when(request.opens_at, request.HasField("opens_at")),
                        closes_at=_when(request.closes_at, request.HasField("closes_at")),
                        duration_minutes=request.duration_minutes, mode=request.mode,
                        weight=request.weight if request.weight else None,
                        items=[(i.question_id, i.points) for i in request.items],
                        open_answers_by=request.open_answers_by)
        quiz = await self.quizzes.create_quiz(require_caller(), spec)
        return quiz_message(quiz, len(spec.items), self.quizzes.clock())

    async def ListQuizzes(self, request, context):  # type: ignore[no-untyped-def]
        access, quizzes = await self.quizzes.list_quizzes(require_caller(), request.run_id)
        now = self.quizzes.clock()
        return pb.ListQuizzesResponse(quizzes=[quiz_message(q, n, now, released_for(access, q))
                                               for q, n in quizzes])

    async def GetQuiz(self, request, context):  # type: ignore[no-untyped-def]
        view = await self.quizzes.view(require_caller(), request.quiz_id, sweep=self._sweep)
        now = self.quizzes.clock()
        reply = pb.QuizView(quiz=quiz_message(view.quiz, len(view.items), now, view.released),
                            questions=[item_message(i, view.answers_visible) for i in view.items],
                            answers_visible=view.answers_visible, attempts_left=view.attempts_left,
                            my_score=view.score or 0.0, has_score=view.score is not None)
        reply.my_attempts.extend(attempt_message(AttemptView(a, view.quiz, view.answers_visible, now))
                                 for a in view.attempts)
        return reply

    async def _sweep(self, quiz_id: str, student_id: str) -> None:
        await self.attempts.expire(quiz_id=quiz_id, student_id=student_id)

    # ---- attempts ----

    async def StartAttempt(self, request, context):  # type: ignore[no-untyped-def]
        return attempt_message(await self.attempts.start(require_caller(), request.quiz_id))

    async def SaveAnswers(self, request, context):  # type: ignore[no-untyped-def]
        return attempt_message(await self.attempts.save(require_caller(), request.attempt_id,
                                                        answers_from(request.answers)))

    async def SubmitAttempt(self, request, context):  # type: ignore[no-untyped-def]
        return attempt_message(await self.attempts.save(require_caller(), request.attempt_id,
                                                        answers_from(request.answers), submit=True))

    async def GetAttempt(self, request, context):  # type: ignore[no-untyped-def]
        return attempt_message(await self.attempts.get(require_caller(), request.attempt_id))

    async def SetExtraTime(self, request, context):  # type: ignore[no-untyped-def]
        row = await self.quizzes.set_extra_time(require_caller(), request.quiz_id, request.student_id,
                                                request.extra_minutes)
        return pb.ExtraTime(quiz_id=row.quiz_id, student_id=row.student_id, extra_minutes=row.extra_minutes)

    async def ListPendingAnswers(self, request, context):  # type: ignore[no-untyped-def]
        found = await self.attempts.pending(require_caller(), request.quiz_id)
        return pb.ListPendingAnswersResponse(answers=[
            pb.PendingAnswer(attempt_id=p.attempt.id, student_id=p.attempt.student_id,
                             question_id=p.item.question_id, stem=p.item.stem, text=p.text,
                             max_points=p.item.points, reference=key_from_json(p.item.key_json).reference)
            for p in found])

    async def GradeAnswer(self, request, context):  # type: ignore[no-untyped-def]
        return attempt_message(await self.attempts.grade(require_caller(), request.attempt_id, request.question_id,
                                                         request.points, request.comment))

    async def ListQuizResults(self, request, context):  # type: ignore[no-untyped-def]
        rows = await self.quizzes.results(require_caller(), request.quiz_id)
        return pb.ListQuizResultsResponse(results=[
            pb.QuizResult(student_id=student, score=score or 0.0, attempts=count, pending_count=pending,
                          offline=offline) for student, score, count, pending, offline in rows])

    async def ImportExamMarks(self, request, context):  # type: ignore[no-untyped-def]
        result = await self.quizzes.import_marks(require_caller(), request.quiz_id, request.class_id,
                                                 request.filename, request.content)
        return pb.ImportExamMarksResponse(imported=result.imported, count=result.count,
                                          errors=[pb.LineError(line=line, message=message)
                                                  for line, message in result.errors])
