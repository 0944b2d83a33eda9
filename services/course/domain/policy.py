"""Policies (政策): the numbers the rules use, layered platform defaults → province → school, each layer
versioned and effective from a term; and the credit rule that reads them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from servicekit.errors import FailedPrecondition, InvalidArgument

PLATFORM = "platform"
PROVINCE = "province"
SCHOOL = "school"
LEVELS = (PLATFORM, PROVINCE, SCHOOL)  # later layers override earlier ones


@dataclass(frozen=True)
class NumberSpec:
    meaning: str
    maximum: float = 0
    integer: bool = False
    nullable: bool = False  # None means "not counted" (no such requirement)
    choices: tuple[str, ...] = ()  # a named setting: one of these names, not a number


# The video technical specs a school may follow: the names of the media service's spec profiles
# (services/media/domain/spec.py PROFILES; a unit test keeps the two lists equal). "default" is the strictest
# common set; Henan's is seed 004 annex 2's, Changsha's seed 002 annex 1's.
VIDEO_SPECS = ("default", "zhejiang", "henan", "changsha")


NUMBERS: dict[str, NumberSpec] = {
    "minutes_per_credit": NumberSpec("minutes of approved video per online credit", 10_000),
    "min_class_hours_per_credit": NumberSpec("class hours (学时) per online credit", 1_000, nullable=True),
    "mooc_application_min_video_minutes": NumberSpec(
        "minutes of approved video an independent SPOC needs to apply for MOOC status", 10_000),
    "max_concurrent_online_courses": NumberSpec("online courses a student takes at once", 100, integer=True,
                                                nullable=True),
    "video_recommended_min_minutes": NumberSpec("a video's recommended shortest length, minutes", 600),
    "video_recommended_max_minutes": NumberSpec("a video's recommended longest length, minutes", 600),
    "video_max_minutes": NumberSpec("a video's longest length, minutes", 600),
    "video_max_minutes_at_acceptance": NumberSpec("a video's longest length at completion acceptance, minutes", 600),
    # The rest of the completion acceptance's norms (services/course/domain/acceptance.py; seed 002 annex 2 技术规范
    # and 二5): each video 5–25 minutes and at least 720p, the leader recording at least 25% of the videos.
    "video_min_minutes_at_acceptance": NumberSpec("a video's shortest length at completion acceptance, minutes",
                                                  600),
    "video_min_height_at_acceptance": NumberSpec("a video's least height at completion acceptance, pixels", 4320,
                                                 integer=True),
    "leader_video_share_min_percent": NumberSpec("share of the course's videos its leader records, at least", 100),
    "videos_per_class_hour_min": NumberSpec("videos per class hour, at least", 100, integer=True, nullable=True),
    "video_per_class_hour_min_minutes": NumberSpec("a class hour's video, shortest, minutes", 600, nullable=True),
    "video_per_class_hour_max_minutes": NumberSpec("a class hour's video, longest, minutes", 600, nullable=True),
    "video_spec": NumberSpec("the video technical spec the school's videos are checked against",
                             choices=VIDEO_SPECS),
    "video_complete_slack_seconds": NumberSpec(
        "seconds of a video a student may leave unwatched and still complete the unit", 600),
    "pass_mark": NumberSpec("a course result's pass mark, out of 100", 100),
    # Peer grading of assignments (同伴互评): see services/learning/domain/peer_review.py.
    "peer_reviews_each": NumberSpec("reviews each student who submitted does for a peer-graded assignment", 20,
                                    integer=True),
    "peer_reviews_needed": NumberSpec("finished reviews a submission needs for its peer grade", 20, integer=True),
    "peer_lease_hours": NumberSpec("hours a handed-out review stays the reviewer's", 168),
    "peer_spread_percent": NumberSpec("reviews disagreeing by more than this share of the points go to the team",
                                      100),
    "peer_relax_after_hours": NumberSpec("hours after the deadline when a submission needs fewer reviews", 2_000),
    "peer_relaxed_reviews_needed": NumberSpec("reviews a submission needs after that (at least 1)", 20,
                                              integer=True),
    "peer_missed_review_percent": NumberSpec("share of a student's own assignment grade lost per review not done",
                                             100, nullable=True),  # not counted: no penalty
    # The forum (services/learning/domain/forum.py): questions answered within working days (China's calendar).
    "forum_answer_working_days": NumberSpec("working days within which the team answers a forum question", 30,
                                            integer=True),
    # At-risk learners (学习预警, services/learning/domain/at_risk.py); flagged once a day.
    "at_risk_inactive_days": NumberSpec("days without any learning activity that flag a student", 90,
                                        integer=True, nullable=True),
    "at_risk_behind_points": NumberSpec("points behind the class's release pace (of 100) that flag a student", 100,
                                        nullable=True),
    "at_risk_missed_items": NumberSpec("graded items missed (deadline passed, nothing handed in) that flag a "
                                       "student", 100, integer=True, nullable=True),
    "at_risk_pace_days": NumberSpec("days of recent pace that must still reach 100% of the course hours before "
                                    "the exam", 90, integer=True, nullable=True),
    "at_risk_reminder_days": NumberSpec("days between two reminders to the same flagged student", 90, integer=True),
    # Student evaluation of teaching (网上评教, services/learning/domain/evaluation.py; seed 002 四(七)).
    "evaluation_good_score": NumberSpec("a run's evaluation score (of 100) rated good (良好) or better", 100),
    "evaluation_terms_below": NumberSpec("terms in a row below good that flag a course to its school", 10,
                                         integer=True),
    # Course-building projects (在线开放课程立项建设, services/course/domain/projects.py; seed 004 四(二)(三)).
    "project_budget_yuan": NumberSpec("a course-building project's budget, yuan", 10_000_000),
    "project_period_months": NumberSpec("a project's building period, months", 120, integer=True),
    "project_build_months": NumberSpec("months from approval to build the online resources", 60, integer=True),
    "project_rectify_days": NumberSpec("days to rectify after a failed pre-launch check", 365, integer=True),
    "project_bar_years": NumberSpec("years a terminated project's leader may not apply", 10, integer=True),
    "project_research_meetings_cap_percent": NumberSpec("share of the budget research and meetings may take", 100),
    "project_labour_cap_percent": NumberSpec("share of the budget the team's labour allowances may take", 100),
}

# Pairs that must stay ordered in the policy in force (smaller, larger).
ORDERED_PAIRS = (
    ("video_recommended_min_minutes", "video_recommended_max_minutes"),
    ("video_recommended_max_minutes", "video_max_minutes"),
    ("video_max_minutes", "video_max_minutes_at_acceptance"),
    ("video_min_minutes_at_acceptance", "video_max_minutes_at_acceptance"),
    ("video_per_class_hour_min_minutes", "video_per_class_hour_max_minutes"),
)

Value = float | str | None  # a number, a named setting's name (video_spec), or None: not counted
Values = Mapping[str, Value]

# Platform defaults: Zhejiang's (1 credit = 240 minutes of video, about 8 chapters of at least 30 minutes;
# videos 5–15 minutes, at most 20), checked against the strictest common spec — DESIGN §3.
PLATFORM_DEFAULTS: dict[str, Value] = {
    "minutes_per_credit": 240,
    "min_class_hours_per_credit": None,
    "mooc_application_min_video_minutes": 240,  # DESIGN: a SPOC applies with ≥ 240 minutes (one credit's worth)
    "max_concurrent_online_courses": None,
    "video_recommended_min_minutes": 5,
    "video_recommended_max_minutes": 15,
    "video_max_minutes": 20,
    # The acceptance norms Zhejiang does not state: seed 002's (annex 2, 二5: 5–25 minutes, ≥ 720p, the leader 25%),
    # the technical norms course-building projects are accepted by unless a layer says otherwise.
    "video_max_minutes_at_acceptance": 25,
    "video_min_minutes_at_acceptance": 5,
    "video_min_height_at_acceptance": 720,
    "leader_video_share_min_percent": 25,
    "videos_per_class_hour_min": None,
    "video_per_class_hour_min_minutes": None,
    "video_per_class_hour_max_minutes": None,
    "video_spec": "default",
    "video_complete_slack_seconds": 5,  # the player's last seconds (an outro, a rounding) do not block completion
    "pass_mark": 60,
    "peer_reviews_each": 5,
    "peer_reviews_needed": 3,
    "peer_lease_hours": 4,
    "peer_spread_percent": 30,
    "peer_relax_after_hours": 72,
    "peer_relaxed_reviews_needed": 1,
    "peer_missed_review_percent": 10,
    "forum_answer_working_days": 2,
    "at_risk_inactive_days": 7,
    "at_risk_behind_points": 20,
    "at_risk_missed_items": 2,
    "at_risk_pace_days": 14,
    "at_risk_reminder_days": 7,
    "evaluation_good_score": 80,
    "evaluation_terms_below": 2,
    "project_budget_yuan": 30_000,
    "project_period_months": 24,
    "project_build_months": 6,
    "project_rectify_days": 30,
    "project_bar_years": 3,
    "project_research_meetings_cap_percent": 20,
    "project_labour_cap_percent": 10,
}
PLATFORM_DEFAULTS_VERSION = 1

# Henan's standard (seed 004, annex 2 《河南省高校精品在线开放课程建设标准（试行）》): short videos of 5–20
# minutes, checked against Henan's spec (exactly 25 fps, a constant audio rate). It is province 41's policy (the
# migrations file it as that layer's first version, and its second, which names the spec).
HENAN_PROVINCE_CODE = "41"
HENAN_PROVINCE_POLICY: dict[str, Value] = {
    "video_recommended_min_minutes": 5,
    "video_recommended_max_minutes": 20,
    "video_spec": "henan",
}

# Changsha University of Science & Technology's rules (seed 002): one school's policy, not Hunan's. At most 4
# online courses at once; per credit at least 16 class hours and 120 minutes of video; each class hour at least
# 4 videos of 3–15 minutes; videos 5–15 minutes, at most 20; at completion acceptance 5–25 minutes and at least
# 720p, the leader recording at least 25% (annex 2, 二5); its video spec (SD beside HD, audio signal-to-noise, intro
# plus outro, simplified subtitles only).
CHANGSHA_SCHOOL_POLICY: dict[str, Value] = {
    "minutes_per_credit": 120,
    "min_class_hours_per_credit": 16,
    "mooc_application_min_video_minutes": 240,
    "max_concurrent_online_courses": 4,
    "video_recommended_min_minutes": 5,
    "video_recommended_max_minutes": 15,
    "video_max_minutes": 20,
    "video_max_minutes_at_acceptance": 25,
    "video_min_minutes_at_acceptance": 5,
    "video_min_height_at_acceptance": 720,
    "leader_video_share_min_percent": 25,
    "videos_per_class_hour_min": 4,
    "video_per_class_hour_min_minutes": 3,
    "video_per_class_hour_max_minutes": 15,
    "video_spec": "changsha",
    # Seed 002 names two terms below good (四(七)), not these, nor peer grading's, the forum's or the alerts'
    # numbers; the school's layer files the platform's (a whole policy, every number its own).
    "video_complete_slack_seconds": 5,
    "pass_mark": 60,
    "peer_reviews_each": 5,
    "peer_reviews_needed": 3,
    "peer_lease_hours": 4,
    "peer_spread_percent": 30,
    "peer_relax_after_hours": 72,
    "peer_relaxed_reviews_needed": 1,
    "peer_missed_review_percent": 10,
    "forum_answer_working_days": 2,
    "at_risk_inactive_days": 7,
    "at_risk_behind_points": 20,
    "at_risk_missed_items": 2,
    "at_risk_pace_days": 14,
    "at_risk_reminder_days": 7,
    "evaluation_good_score": 80,
    "evaluation_terms_below": 2,
    "project_budget_yuan": 30_000,
    "project_period_months": 24,
    "project_build_months": 6,
    "project_rectify_days": 30,
    "project_bar_years": 3,
    "project_research_meetings_cap_percent": 20,
    "project_labour_cap_percent": 10,
}


def check_values(values: Mapping[str, object]) -> dict[str, Value]:
    """A layer's numbers: only known names, each a finite number in range (None only where "not counted" means
    something), or for a named setting one of its names. A layer may set any subset; the rest come from the
    layers below."""
    checked: dict[str, Value] = {}
    for name, value in values.items():
        spec = NUMBERS.get(name)
        if spec is None:
            raise InvalidArgument(f"unknown policy number {name!r}; the numbers are {', '.join(NUMBERS)}",
                                  reason="UNKNOWN_POLICY_NUMBER")
        if spec.choices:
            if not isinstance(value, str) or value not in spec.choices:
                raise InvalidArgument(f"{name} ({spec.meaning}) is one of {', '.join(spec.choices)}; got {value!r}",
                                      reason="BAD_POLICY_NUMBER")
            checked[name] = value
            continue
        if value is None:
            if not spec.nullable:
                raise InvalidArgument(f"{name} ({spec.meaning}) always counts; give a number",
                                      reason="BAD_POLICY_NUMBER")
            checked[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidArgument(f"{name} must be a number", reason="BAD_POLICY_NUMBER")
        if not 0 < value <= spec.maximum:
            raise InvalidArgument(f"{name} ({spec.meaning}) is more than 0 and at most {spec.maximum:g}; "
                                  f"got {value:g}", reason="BAD_POLICY_NUMBER")
        if spec.integer and value != int(value):
            raise InvalidArgument(f"{name} ({spec.meaning}) is a whole number; got {value:g}",
                                  reason="BAD_POLICY_NUMBER")
        checked[name] = float(value)
    return checked


@dataclass(frozen=True)
class LayerVersion:
    """One version of one layer: the numbers it sets, from a term on (None: from the start)."""

    level: str
    scope_id: str  # "" for the platform, a province code, a school id
    version: int
    values: Values
    effective_from_term: str = ""
    effective_from: date | None = None  # the term's first day (None: always)


PLATFORM_LAYER = LayerVersion(PLATFORM, "", PLATFORM_DEFAULTS_VERSION, PLATFORM_DEFAULTS)


@dataclass(frozen=True)
class Source:
    level: str
    scope_id: str
    version: int
    effective_from_term: str

    def describe(self) -> str:
        where = {PLATFORM: "platform defaults", PROVINCE: f"province {self.scope_id}",
                 SCHOOL: f"school {self.scope_id}"}[self.level]
        since = f", from {self.effective_from_term}" if self.effective_from_term else ""
        return f"{where} v{self.version}{since}"


@dataclass(frozen=True)
class EffectivePolicy:
    values: Values
    sources: Mapping[str, Source]
    layers: tuple[Source, ...]  # the version of each layer in force (bottom to top)

    def __getitem__(self, name: str) -> Value:
        return self.values[name]

    def describe(self, *names: str) -> str:
        """Which layer and version gave these numbers, e.g. 'minutes_per_credit 120 (school x v2, from 2027-spring)'."""
        return "; ".join(f"{name} {_show(self.values[name])} ({self.sources[name].describe()})" for name in names)


def _show(value: Value) -> str:
    if isinstance(value, str):
        return value
    return "not counted" if value is None else f"{value:g}"


def in_force(versions: Iterable[LayerVersion], on: date) -> LayerVersion | None:
    """A layer's version in force on a day (a term's first day): among the versions effective by then, the one
    with the latest start, and of those the newest. A later edit for the same term replaces an earlier one; a
    version for a future term waits for it."""
    started = [v for v in versions if v.effective_from is None or v.effective_from <= on]
    if not started:
        return None
    return max(started, key=lambda v: (v.effective_from or date.min, v.version))


def resolve(province_versions: Iterable[LayerVersion], school_versions: Iterable[LayerVersion],
            on: date) -> EffectivePolicy:
    """The policy in force on a day: platform defaults, overridden by the province's version in force, overridden
    by the school's; each number remembers the layer and version it came from."""
    values: dict[str, Value] = {}
    sources: dict[str, Source] = {}
    layers = []
    for layer in (PLATFORM_LAYER, in_force(province_versions, on), in_force(school_versions, on)):
        if layer is None:
            continue
        source = Source(layer.level, layer.scope_id, layer.version, layer.effective_from_term)
        layers.append(source)
        for name, value in layer.values.items():
            if name in NUMBERS:
                values[name], sources[name] = value, source
    return EffectivePolicy(values, sources, tuple(layers))


def check_consistent(policy: EffectivePolicy) -> None:
    """The policy a new version puts in force keeps its ranges ordered (a recommended maximum above the maximum,
    or a class hour's shortest video longer than its longest, is refused)."""
    for smaller, larger in ORDERED_PAIRS:
        low, high = policy.values.get(smaller), policy.values.get(larger)
        if low is not None and high is not None and low > high:
            raise InvalidArgument(
                f"{smaller} ({policy.describe(smaller)}) cannot exceed {larger} ({policy.describe(larger)})",
                reason="INCONSISTENT_POLICY")


# --- online credits --------------------------------------------------------------------------------


def minutes_needed(policy: EffectivePolicy, online_credits: float) -> float:
    return round(online_credits * (policy["minutes_per_credit"] or 0), 2)


def class_hours_needed(policy: EffectivePolicy, online_credits: float) -> float | None:
    """None when the policy does not count class hours."""
    per_credit = policy["min_class_hours_per_credit"]
    return None if per_credit is None else round(online_credits * per_credit, 2)


VIDEOS_PER_CLASS_HOUR = ("videos_per_class_hour_min", "video_per_class_hour_min_minutes",
                         "video_per_class_hour_max_minutes")


def videos_per_class_hour_needed(policy: EffectivePolicy, class_hours: float) -> int | None:
    """How many videos of a class hour's length the class hours need (seed 002: at least 4 of 3-15 minutes
    per class hour); None when the policy sets no such number."""
    per_hour = policy["videos_per_class_hour_min"]
    return None if per_hour is None else math.ceil(per_hour * class_hours - 1e-9)


def videos_of_class_hour_length(policy: EffectivePolicy, video_minutes: Iterable[float]) -> int:
    """The approved videos whose length fits a class hour's video under the policy (bounds inclusive)."""
    shortest = policy["video_per_class_hour_min_minutes"] or 0
    longest = policy["video_per_class_hour_max_minutes"]
    return sum(1 for m in video_minutes if m + 1e-9 >= shortest and (longest is None or m <= longest + 1e-9))


def check_credits_covered(policy: EffectivePolicy, online_credits: float, approved_minutes: float,
                          class_hours: float, what: str = "the run", term_code: str = "",
                          video_minutes: Iterable[float] = ()) -> None:
    """Online credits are earned by approved video (and class hours, where the policy counts them, each with its
    videos where the policy counts those): a run that claims more than they cover cannot ask for review. The
    refusal names the numbers and the policy applied."""
    shortfalls = []
    needed = minutes_needed(policy, online_credits)
    if approved_minutes + 1e-9 < needed:
        shortfalls.append(
            f"{online_credits:g} online credits need {needed:g} minutes of approved video and {what} has "
            f"{approved_minutes:g} ({needed - approved_minutes:.2f} missing; {policy.describe('minutes_per_credit')})")
    hours = class_hours_needed(policy, online_credits)
    if hours is not None and class_hours + 1e-9 < hours:
        shortfalls.append(
            f"{online_credits:g} online credits need {hours:g} class hours and {what} has {class_hours:g} "
            f"({policy.describe('min_class_hours_per_credit')}); set the course's class_hours")
    videos = videos_per_class_hour_needed(policy, class_hours)
    if videos:
        fitting = videos_of_class_hour_length(policy, video_minutes)
        if fitting < videos:
            shortest, longest = policy["video_per_class_hour_min_minutes"] or 0, policy[
                "video_per_class_hour_max_minutes"]
            length = f"{shortest:g}-{longest:g}" if longest is not None else f"at least {shortest:g}"
            shortfalls.append(
                f"{class_hours:g} class hours need {videos} approved videos of {length} minutes and {what} has "
                f"{fitting} ({policy.describe(*VIDEOS_PER_CLASS_HOUR)})")
    if shortfalls:
        applied = " + ".join(layer.describe() for layer in policy.layers)
        when = f" in {term_code}" if term_code else ""
        raise FailedPrecondition(
            f"the online credits are not covered under the policy in force{when} ({applied}): "
            + "; ".join(shortfalls), reason="CREDITS_NOT_COVERED")


def credits_covered_summary(policy: EffectivePolicy, online_credits: float, approved_minutes: float,
                            class_hours: float, term_code: str = "") -> str:
    """What a passed credit check applied, for the reviewer: the numbers and the policy versions."""
    applied = " + ".join(layer.describe() for layer in policy.layers)
    hours = class_hours_needed(policy, online_credits)
    counted = "class hours not counted" if hours is None else f"{hours:g} class hours needed, {class_hours:g} set"
    when = f" in {term_code}" if term_code else ""
    return (f"{online_credits:g} online credits: {minutes_needed(policy, online_credits):g} minutes of approved video "
            f"needed, {approved_minutes:g} approved; {counted} (policy in force{when}: {applied}; "
            f"{policy.describe('minutes_per_credit', 'min_class_hours_per_credit')})")


MAX_CLASS_HOURS = 1000


def check_class_hours(class_hours: float) -> float:
    if isinstance(class_hours, bool) or not isinstance(class_hours, int | float) or not math.isfinite(class_hours):
        raise InvalidArgument("class_hours must be a number", reason="BAD_CLASS_HOURS")
    if not 0 <= class_hours <= MAX_CLASS_HOURS:
        raise InvalidArgument(f"class_hours is 0 to {MAX_CLASS_HOURS}; got {class_hours:g}", reason="BAD_CLASS_HOURS")
    if abs(class_hours * 10 - round(class_hours * 10)) > 1e-6:
        raise InvalidArgument(f"class_hours has at most one decimal place; got {class_hours:g}",
                              reason="BAD_CLASS_HOURS")
    return float(class_hours)


def missing_video_minutes(policy: EffectivePolicy, online_credits: float, approved_minutes: float) -> float:
    """How many more minutes of approved video the online credits need (0 when there are enough)."""
    return round(max(0.0, minutes_needed(policy, online_credits) - approved_minutes), 2)


def missing_class_hours(policy: EffectivePolicy, online_credits: float, class_hours: float) -> float:
    """How many more class hours the online credits need where the policy counts them (else 0)."""
    needed = class_hours_needed(policy, online_credits)
    return 0.0 if needed is None else round(max(0.0, needed - class_hours), 2)
