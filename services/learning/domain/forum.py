"""The course forum's rules (seed 002 四(五), 三.8; seed 004 三(二)4, 三(四), 三(六)): threads are questions or
discussions under the team's topics (one or more per unit); a question is answered within the policy's working
days (China's calendar, as the school applications), else the team is reminded and, a working day later, the
school's admins; a blocked word of the author's province refuses a post; forum activity scores by the leader's rule.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from servicekit.errors import InvalidArgument
from servicekit.text import to_simplified
from servicekit.working_days import working_days_later

QUESTION, DISCUSSION = "question", "discussion"
KINDS = (QUESTION, DISCUSSION)
MAX_TITLE, MAX_BODY, MAX_WORD, MAX_WORDS = 200, 20_000, 50, 2_000
MAX_REASON = 1_000

# Escalation of an unanswered question: at the deadline the team, a working day later the school's admins.
ON_TIME, TEAM_REMINDED, ADMINS_ALERTED = 0, 1, 2
ADMINS_AFTER_WORKING_DAYS = 1


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidArgument(f"a thread is a {' or a '.join(KINDS)}; got {kind!r}", reason="BAD_THREAD_KIND")
    return kind


def answer_due(asked_at: datetime, working_days: int) -> datetime:
    """When the team's first answer is due."""
    return working_days_later(asked_at, working_days)


def escalation_due(level: int, answer_due_at: datetime, working_days: int) -> datetime | None:
    """When an unanswered question reaches the next level (None: it has reached the last)."""
    if level == ON_TIME:
        return answer_due_at
    if level == TEAM_REMINDED:
        return working_days_later(answer_due_at, ADMINS_AFTER_WORKING_DAYS)
    return None


def level_now(level: int, answer_due_at: datetime, working_days: int, now: datetime) -> int:
    """The escalation level an unanswered question has reached by `now` (levels are never skipped back)."""
    while (due := escalation_due(level, answer_due_at, working_days)) is not None and due <= now:
        level += 1
    return level


# ---- blocked words (per province) ----------------------------------------------------------------------------

def normalise(text: str) -> str:
    """What a blocked word is matched against: full-width folded (NFKC), traditional characters as simplified
    (OpenCC t2s: 廣告 is 广告), case folded, spaces removed (a word split by spaces is still the word)."""
    return "".join(to_simplified(unicodedata.normalize("NFKC", text)).casefold().split())


def check_word(word: str) -> str:
    cleaned = normalise(word)
    if not cleaned or len(cleaned) > MAX_WORD:
        raise InvalidArgument(f"a blocked word has 1 to {MAX_WORD} characters", reason="BAD_BLOCKED_WORD")
    return cleaned


def blocked_in(text: str, words: Iterable[str]) -> list[str]:
    """The blocked words `text` contains."""
    folded = normalise(text)
    return sorted({w for w in words if w and w in folded})


# ---- scoring (the forum category of the grading scheme) --------------------------------------------------------

@dataclass(frozen=True)
class ScoringRule:
    """The leader's rule: `first_post_points` of 100 for a first post (a thread or a reply), the rest shared by
    `replies_needed` substantive replies (at least `min_reply_chars` characters, spaces not counted), in any
    thread. Hidden posts do not count."""

    first_post_points: float
    replies_needed: int
    min_reply_chars: int

    def check(self) -> ScoringRule:
        if not 0 <= self.first_post_points <= 100:
            raise InvalidArgument("first_post_points is 0 to 100", reason="BAD_FORUM_RULE")
        if not 0 <= self.replies_needed <= 1_000:
            raise InvalidArgument("replies_needed is 0 to 1000", reason="BAD_FORUM_RULE")
        if self.replies_needed == 0 and self.first_post_points != 100:
            raise InvalidArgument("with no replies needed the first post is worth all 100 points",
                                  reason="BAD_FORUM_RULE")
        if not 0 <= self.min_reply_chars <= 5_000:
            raise InvalidArgument("min_reply_chars is 0 to 5000", reason="BAD_FORUM_RULE")
        return self

    def score(self, posts: int, substantive_replies: int) -> float:
        if posts == 0:
            return 0.0
        if self.replies_needed == 0:
            return 100.0
        share = min(substantive_replies, self.replies_needed) / self.replies_needed
        return round(self.first_post_points + (100 - self.first_post_points) * share, 2)

    def substantive(self, body: str) -> bool:
        return len("".join(body.split())) >= self.min_reply_chars
