"""The rules of quizzes and exams (seed 002 annex 1 三.9 and 三.11, 五(三)): what a valid question is, how each
kind is graded, how attempts combine into a score, when answers may be shown, and the exam's server deadline."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from servicekit.errors import InvalidArgument

# ---- question kinds -------------------------------------------------------------------------------

SINGLE_CHOICE = "single_choice"
MULTIPLE_CHOICE = "multiple_choice"
TRUE_FALSE = "true_false"
FILL_BLANK = "fill_blank"
OPEN = "open"
KINDS = (SINGLE_CHOICE, MULTIPLE_CHOICE, TRUE_FALSE, FILL_BLANK, OPEN)
CHOICE_KINDS = (SINGLE_CHOICE, MULTIPLE_CHOICE)
OBJECTIVE_KINDS = (SINGLE_CHOICE, MULTIPLE_CHOICE, TRUE_FALSE, FILL_BLANK)  # the platform grades them (三.9)

MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_STEM_CHARS = 5_000
MAX_OPTION_CHARS = 1_000
MAX_ACCEPTED = 20
MAX_ANSWER_CHARS = 20_000

# Multiple choice is graded the way Chinese objective tests usually are: every correct option and no wrong one
# earns the full points; some correct options and no wrong one earn half (漏选得一半); any wrong option earns 0.
MULTIPLE_CHOICE_PARTIAL_SHARE = 0.5


@dataclass(frozen=True)
class Key:
    correct: tuple[int, ...] = ()
    truth: bool = False
    accepted: tuple[str, ...] = ()
    reference: str = ""
    explanation: str = ""


@dataclass(frozen=True)
class QuestionContent:
    kind: str
    stem: str
    options: tuple[str, ...] = ()
    key: Key = field(default_factory=Key)


def validate_question(content: QuestionContent) -> QuestionContent:
    """The question as stored (trimmed), or a refusal that says what is wrong."""
    if content.kind not in KINDS:
        raise InvalidArgument(f"unknown question kind {content.kind!r}; use one of {', '.join(KINDS)}",
                              reason="BAD_QUESTION")
    stem = content.stem.strip()
    if not stem:
        raise InvalidArgument("a question needs its text (stem)", reason="BAD_QUESTION")
    if len(stem) > MAX_STEM_CHARS:
        raise InvalidArgument(f"the question's text is longer than {MAX_STEM_CHARS} characters",
                              reason="BAD_QUESTION")
    options = tuple(o.strip() for o in content.options)
    key = content.key
    if content.kind in CHOICE_KINDS:
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise InvalidArgument(f"a choice question has {MIN_OPTIONS} to {MAX_OPTIONS} options "
                                  f"(this one has {len(options)})", reason="BAD_QUESTION")
        if any(not o for o in options):
            raise InvalidArgument("an option is empty", reason="BAD_QUESTION")
        if any(len(o) > MAX_OPTION_CHARS for o in options):
            raise InvalidArgument(f"an option is longer than {MAX_OPTION_CHARS} characters", reason="BAD_QUESTION")
        if len(set(options)) != len(options):
            raise InvalidArgument("two options have the same text", reason="BAD_QUESTION")
        correct = tuple(sorted(set(key.correct)))
        if any(i < 0 or i >= len(options) for i in correct):
            raise InvalidArgument(f"a correct option's index is outside 0..{len(options) - 1}",
                                  reason="BAD_QUESTION")
        if content.kind == SINGLE_CHOICE and len(correct) != 1:
            raise InvalidArgument(f"a single choice question has exactly one correct option "
                                  f"(this one has {len(correct)})", reason="BAD_QUESTION")
        if content.kind == MULTIPLE_CHOICE and not correct:
            raise InvalidArgument("a multiple choice question has at least one correct option",
                                  reason="BAD_QUESTION")
        key = Key(correct=correct, explanation=key.explanation.strip())
    elif options:
        raise InvalidArgument(f"a {content.kind} question has no options", reason="BAD_QUESTION")
    elif content.kind == TRUE_FALSE:
        key = Key(truth=key.truth, explanation=key.explanation.strip())
    elif content.kind == FILL_BLANK:
        accepted = tuple(dict.fromkeys(a.strip() for a in key.accepted if a.strip()))
        if not accepted:
            raise InvalidArgument("a fill-in-the-blank question needs at least one accepted answer",
                                  reason="BAD_QUESTION")
        if len(accepted) > MAX_ACCEPTED:
            raise InvalidArgument(f"at most {MAX_ACCEPTED} accepted answers", reason="BAD_QUESTION")
        key = Key(accepted=accepted, explanation=key.explanation.strip())
    else:
        key = Key(reference=key.reference.strip(), explanation=key.explanation.strip())
    return QuestionContent(content.kind, stem, options, key)


# ---- answers and auto-grading ---------------------------------------------------------------------

@dataclass(frozen=True)
class AnswerGiven:
    choices: tuple[int, ...] = ()
    truth: bool | None = None
    text: str = ""


_SPACES = re.compile(r"\s+")


def normalise_blank(text: str) -> str:
    """A fill-in answer as compared: full-width forms made half-width (NFKC), trimmed, inner spaces collapsed,
    case ignored."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def auto_share(content: QuestionContent, given: AnswerGiven | None) -> float | None:
    """The share (0..1) of the points an answer earns, or None for an open answer (the team grades it)."""
    if content.kind == OPEN:
        return None
    if given is None:
        return 0.0
    if content.kind == SINGLE_CHOICE:
        return 1.0 if tuple(sorted(set(given.choices))) == content.key.correct else 0.0
    if content.kind == MULTIPLE_CHOICE:
        chosen, correct = set(given.choices), set(content.key.correct)
        if not chosen or chosen - correct:
            return 0.0
        return 1.0 if chosen == correct else MULTIPLE_CHOICE_PARTIAL_SHARE
    if content.kind == TRUE_FALSE:
        return 1.0 if given.truth is not None and given.truth == content.key.truth else 0.0
    text = normalise_blank(given.text)
    return 1.0 if text and any(text == normalise_blank(a) for a in content.key.accepted) else 0.0


def check_answer(content: QuestionContent, given: AnswerGiven) -> None:
    """Refuses an answer that cannot belong to the question (a choice outside its options, text too long)."""
    if any(i < 0 or i >= len(content.options) for i in given.choices):
        raise InvalidArgument("a chosen option is not one of the question's options", reason="BAD_ANSWER")
    if content.kind == SINGLE_CHOICE and len(set(given.choices)) > 1:
        raise InvalidArgument("a single choice question takes one option", reason="BAD_ANSWER")
    if len(given.text) > MAX_ANSWER_CHARS:
        raise InvalidArgument(f"an answer is longer than {MAX_ANSWER_CHARS} characters", reason="BAD_ANSWER")


# ---- combining attempts ---------------------------------------------------------------------------

HIGHEST, LAST, AVERAGE = "highest", "last", "average"
GRADING_METHODS = (HIGHEST, LAST, AVERAGE)


def combine(method: str, scores_in_order: Sequence[float]) -> float | None:
    """The quiz's score from the submitted attempts' scores (oldest first), or None when there is none."""
    if not scores_in_order:
        return None
    if method == LAST:
        return scores_in_order[-1]
    if method == AVERAGE:
        return sum(scores_in_order) / len(scores_in_order)
    return max(scores_in_order)


def percent(points: float, max_points: float) -> float:
    return round(100.0 * points / max_points, 4) if max_points > 0 else 0.0


# ---- quizzes --------------------------------------------------------------------------------------

IN_VIDEO, UNIT_TEST, EXAM = "in_video", "unit_test", "exam"
# Who grades an exam's open answers: the team, or peers the way a peer-graded assignment is (同伴互评, seed 002
# annex 1 三.11), once the exam has closed.
BY_TEAM, BY_PEERS = "team", "peer"
OPEN_GRADERS = (BY_TEAM, BY_PEERS)
QUIZ_KINDS = (IN_VIDEO, UNIT_TEST, EXAM)
AFTER_SUBMIT, AFTER_CLOSE, NEVER = "after_submit", "after_close", "never"
SHOW_ANSWERS = (AFTER_SUBMIT, AFTER_CLOSE, NEVER)
ONLINE, OFFLINE = "online", "offline"
MAX_ATTEMPTS = 100
MAX_POINTS = 1_000.0
MAX_QUESTIONS = 200
MAX_EXAM_MINUTES = 24 * 60
MAX_EXTRA_MINUTES = 600.0

# The grades' categories (services/learning/domain/grading.py reads these names).
QUIZZES_CATEGORY = "quizzes"
FINAL_EXAM_CATEGORY = "final_exam"


@dataclass(frozen=True)
class ScoredItem:
    """One quiz or exam of a run as it counts in a student's grade."""

    item_id: str
    title: str
    category: str  # "quizzes" for in-video quizzes and unit tests, "final_exam" for the exam
    weight: float = 1.0
    score: float | None = None  # 0..100 after the grading method; None = not taken


def category_of(kind: str) -> str:
    return FINAL_EXAM_CATEGORY if kind == EXAM else QUIZZES_CATEGORY


def answers_visible(show_answers: str, submitted: bool, now: datetime, closes_at: datetime | None) -> bool:
    """May a student see the answer key? after_submit: once they submitted an attempt; after_close: once the quiz
    closed (a quiz that never closes never shows them); never: not at all."""
    if show_answers == AFTER_SUBMIT:
        return submitted
    if show_answers == AFTER_CLOSE:
        return closes_at is not None and now >= closes_at
    return False


def quiz_state(now: datetime, opens_at: datetime | None, closes_at: datetime | None) -> str:
    if opens_at is not None and now < opens_at:
        return "upcoming"
    if closes_at is not None and now >= closes_at:
        return "closed"
    return "open"


def exam_deadline(started_at: datetime, duration_minutes: float, extra_minutes: float,
                  closes_at: datetime | None) -> datetime:
    """The server's deadline: the time allowed (plus the student's extra time) from starting, but never past the
    window's close."""
    deadline = started_at + timedelta(minutes=duration_minutes + extra_minutes)
    return min(deadline, closes_at) if closes_at is not None else deadline


def course_hours_refusal(done_seconds: float, total_seconds: float, remaining_titles: Sequence[str]) -> str | None:
    """Why a student may not start the exam yet (seed 002 五(三): 100% of the course hours first), or None."""
    if total_seconds <= 0 or done_seconds >= total_seconds - 0.001:
        return None
    share = math.floor(100 * done_seconds / total_seconds)
    shown = list(remaining_titles[:10])
    more = f" and {len(remaining_titles) - 10} more" if len(remaining_titles) > 10 else ""
    return (f"{share}% of the course hours done ({done_seconds / 60:.1f} of {total_seconds / 60:.1f} minutes); "
            f"the exam needs 100%; remaining: {', '.join(shown)}{more}")


# ---- grading an attempt ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """A question as a quiz asks it, with its points."""

    question_id: str
    points: float
    content: QuestionContent


@dataclass(frozen=True)
class ItemMark:
    points: float
    max_points: float
    pending: bool = False
    comment: str = ""


@dataclass(frozen=True)
class AttemptGrade:
    points: float
    max_points: float
    pending_count: int
    marks: dict[str, ItemMark]

    @property
    def score(self) -> float:
        """0..100; pending open answers count 0 until the team grades them."""
        return percent(self.points, self.max_points)


def grade_attempt(items: Sequence[Item], answers: dict[str, AnswerGiven],
                  team_marks: dict[str, ItemMark] | None = None) -> AttemptGrade:
    """Objective answers graded now; an open answer keeps the team's mark, else waits for it (an empty one earns 0
    with nothing to grade)."""
    team_marks = team_marks or {}
    marks: dict[str, ItemMark] = {}
    for item in items:
        given = answers.get(item.question_id)
        share = auto_share(item.content, given)
        if share is not None:
            marks[item.question_id] = ItemMark(round(item.points * share, 4), item.points)
        elif item.question_id in team_marks and not team_marks[item.question_id].pending:
            marks[item.question_id] = team_marks[item.question_id]
        elif given is None or not given.text.strip():
            marks[item.question_id] = ItemMark(0.0, item.points)
        else:
            marks[item.question_id] = ItemMark(0.0, item.points, pending=True)
    return AttemptGrade(points=sum(m.points for m in marks.values()),
                        max_points=sum(item.points for item in items),
                        pending_count=sum(1 for m in marks.values() if m.pending), marks=marks)


# ---- offline exam marks ---------------------------------------------------------------------------

NUMBER_HEADERS = ("学号", "number", "student_number", "student number")
SCORE_HEADERS = ("成绩", "分数", "score", "mark")


def parse_exam_marks(rows: Sequence[Sequence[str]], class_numbers: dict[str, str]
                     ) -> tuple[dict[str, tuple[str, float]], list[tuple[int, str]]]:
    """A class's offline exam marks (header 学号/number and 成绩/score; 0..100) as {number: (user_id, score)}, and
    every bad line as (line, why) — the header is line 1."""
    if not rows:
        return {}, [(1, "the file is empty: a header 学号, 成绩 and one line per student")]
    header = [cell.strip().lower() for cell in rows[0]]
    number_col = next((i for i, h in enumerate(header) if h in NUMBER_HEADERS), None)
    score_col = next((i for i, h in enumerate(header) if h in SCORE_HEADERS), None)
    if number_col is None or score_col is None:
        return {}, [(1, "the header needs a 学号 (number) column and a 成绩 (score) column")]
    marks: dict[str, tuple[str, float]] = {}
    problems: list[tuple[int, str]] = []
    for line, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        number = cells[number_col] if number_col < len(cells) else ""
        text = cells[score_col] if score_col < len(cells) else ""
        if not number:
            problems.append((line, "no student number"))
            continue
        if number not in class_numbers:
            problems.append((line, f"{number} is not a student of this class"))
            continue
        if number in marks:
            problems.append((line, f"{number} appears twice"))
            continue
        try:
            score = float(text)
        except ValueError:
            problems.append((line, f"the score {text!r} is not a number"))
            continue
        if not math.isfinite(score) or not 0 <= score <= 100:
            problems.append((line, f"the score {text} is outside 0..100"))
            continue
        marks[number] = (class_numbers[number], score)
    if not marks and not problems:
        problems.append((2, "no marks in the file"))
    return marks, problems
