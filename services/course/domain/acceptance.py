"""The measured facts of a course's completion acceptance (结项验收, seed 002 annex 2 and annex 1): what the
platform shows the experts beside their scores. Pure rules: shares, pass or fail per norm, every threshold taken
from the school's policy in force (domain/policy.py), which the facts name."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from servicekit.errors import PermissionDenied
from services.course.domain import policy as policy_rules
from services.course.domain.policy import EffectivePolicy

VIDEO = "course_video"
MATERIAL_KINDS = ("material", "extended_material")

# The policy numbers the facts are judged by. Seed 002's: annex 2's technical norms (技术规范: each video 5–25
# minutes, at least 720p, subtitles on the main parts), annex 1 / 二4's at least 4 videos of 3–15 minutes per class
# hour (学时) and 二5's leader recording at least 25%; a school that states none gets the layers below it.
POLICY_NUMBERS = ("video_min_minutes_at_acceptance", "video_max_minutes_at_acceptance",
                  "video_min_height_at_acceptance", "leader_video_share_min_percent",
                  *policy_rules.VIDEOS_PER_CLASS_HOUR)
# Runs that ran (the school approved them): a draft, one waiting for review or a rejected one did not.
RAN_STATES = ("published", "running", "ended", "taken_down")
# The kinds annex 2 asks for (材料完整) that live in the learning service, counted over the course's runs.
LEARNING_KINDS = ("in_video_quizzes", "unit_tests", "exams", "assignments", "discussion_topics")
LEARNING_UNAVAILABLE = "the learning service did not give its counts"

# The height, subtitles and uploader of each video come from the media service (asked with this service's key).
MEDIA_UNAVAILABLE = "the media service did not give its videos' height, subtitles and uploaders"
EVALUATION_UNAVAILABLE = "the learning service did not give the students' evaluation"
MEDIA_NORMS = ("resolution", "subtitles", "leader_share")


@dataclass(frozen=True)
class Thresholds:
    """The numbers of the facts' norms, as the policy in force states them."""

    video_minutes: tuple[float, float]  # each video's length at acceptance, bounds inclusive
    min_height: int  # pixels
    leader_share: float  # of the videos, 0 to 1
    videos_per_class_hour: int | None  # None: the policy does not count videos per class hour
    hour_video_minutes: tuple[float, float | None]  # a class hour's video: shortest, longest (None: no bound)

    @classmethod
    def of(cls, policy: EffectivePolicy) -> Thresholds:
        def number(name: str) -> float:
            value = policy[name]
            assert isinstance(value, int | float), (name, value)  # these always count (policy.NUMBERS)
            return float(value)

        per_hour, shortest, longest = (policy[name] for name in policy_rules.VIDEOS_PER_CLASS_HOUR)
        return cls((number("video_min_minutes_at_acceptance"), number("video_max_minutes_at_acceptance")),
                   int(number("video_min_height_at_acceptance")), number("leader_video_share_min_percent") / 100,
                   None if per_hour is None else int(float(per_hour)),
                   (float(shortest or 0), None if longest is None else float(longest)))

    @property
    def hour_video_rule(self) -> str:
        shortest, longest = self.hour_video_minutes
        return f"{shortest:g}–{longest:g} minutes" if longest is not None else f"at least {shortest:g} minutes"


@dataclass(frozen=True)
class VideoFacts:
    """What the media service says of one video: its height in pixels (the tallest rendition, else the source),
    whether a subtitle track is attached, and who uploaded (recorded) it."""

    height: int
    has_subtitles: bool
    owner_id: str


@dataclass(frozen=True)
class Unit:
    """A plan unit as the course service knows it: the asset it points at (None once deleted), its kind and
    length, and whether media says it is ready and approved."""

    resource_id: str | None
    kind: str
    minutes: float
    usable: bool


@dataclass(frozen=True)
class Norm:
    """One norm over the course's videos: how many pass of how many, or not measured (with why)."""

    name: str
    measured: bool
    passed: int = 0
    total: int = 0
    rule: str = ""
    note: str = ""
    min_share: float = 1.0  # met when at least this share passes (every video, unless the norm says less)

    @property
    def share(self) -> float:
        return round(self.passed / self.total, 4) if self.total else 0.0

    @property
    def met(self) -> bool:
        return self.measured and self.total > 0 and self.passed >= self.min_share * self.total - 1e-9


@dataclass(frozen=True)
class RunEvaluation:
    """The students' evaluation of one run (网上评教) as the learning service scores it: final once closed."""
    term_code: str
    run_number: int
    answers: int
    score: float | None  # of 100; None: nobody has rated it yet
    grade_name: str
    closed: bool


@dataclass(frozen=True)
class Facts:
    units: int
    units_online: int
    videos: int
    video_minutes: float
    materials: int
    norms: list[Norm]
    class_hours: float
    hour_videos: int          # videos of a class hour's length (seed 002: 3–15 minutes)
    hour_videos_needed: int   # the policy's videos per class hour (seed 002: 4); 0 when it counts none
    runs: int
    terms: list[str]
    students: int
    policy: EffectivePolicy  # the policy the norms were judged by
    thresholds: Thresholds  # its numbers
    activities: dict[str, int] | None = None  # the learning service's counts; None: not measured
    activities_note: str = ""
    evaluations: list[RunEvaluation] | None = None  # the rated runs; None: not measured
    evaluations_note: str = ""

    @property
    def evaluation_score(self) -> float | None:
        """The answer-weighted mean score of the rated runs (annex 2, 课程效果), None with no answers."""
        rated = [e for e in self.evaluations or [] if e.score is not None and e.answers > 0]
        answers = sum(e.answers for e in rated)
        return round(sum((e.score or 0.0) * e.answers for e in rated) / answers, 2) if answers else None

    @property
    def all_online(self) -> bool:
        """Every unit of the plan points at a ready, approved resource (annex 2, 课程上线)."""
        return self.units > 0 and self.units_online == self.units

    @property
    def material_kinds(self) -> list[tuple[str, bool, int, str]]:
        """(kind, measured, count, note) for each kind of material annex 2 asks for (材料完整)."""
        learning = [(kind, True, self.activities.get(kind, 0), "") for kind in LEARNING_KINDS] \
            if self.activities is not None else [(kind, False, 0, self.activities_note) for kind in LEARNING_KINDS]
        return [("videos", True, self.videos, ""), ("materials", True, self.materials, ""), *learning]

    @property
    def videos_per_class_hour(self) -> float:
        return round(self.hour_videos / self.class_hours, 2) if self.class_hours > 0 else 0.0

    @property
    def hour_videos_counted(self) -> bool:
        """The policy counts videos per class hour (seed 002 does; the platform defaults do not)."""
        return self.thresholds.videos_per_class_hour is not None

    @property
    def hour_videos_met(self) -> bool:
        """Counted, and the class hours have their videos (never met without class hours)."""
        return self.hour_videos_counted and self.class_hours > 0 and self.hour_videos >= self.hour_videos_needed

    @property
    def policy_applied(self) -> str:
        """The layers and versions the facts were judged by, e.g. 'platform defaults v1 + school s1 v2, from
        2026-autumn'."""
        return " + ".join(layer.describe() for layer in self.policy.layers)


def within(minutes: float, bounds: tuple[float, float]) -> bool:
    low, high = bounds
    return low <= minutes <= high


def videos_needed(class_hours: float, per_class_hour: int | None) -> int:
    """The policy's videos per class hour, a started hour counting whole (0 when the policy counts none)."""
    return math.ceil(max(class_hours, 0.0) - 1e-9) * (per_class_hour or 0)


def online_videos(units: Iterable[Unit]) -> dict[str, float]:
    """Each usable video the plan uses, once (a video used by two units counts once), with its minutes."""
    return {u.resource_id: u.minutes for u in units if u.resource_id and u.usable and u.kind == VIDEO}


def acceptance_facts(units: Sequence[Unit], material_ids: Iterable[str], class_hours: float,
                     terms: Sequence[str], students: int, activities: dict[str, int] | None = None,
                     activities_note: str = LEARNING_UNAVAILABLE, *, policy: EffectivePolicy, leader_id: str = "",
                     media: Mapping[str, VideoFacts] | None = None, media_note: str = MEDIA_UNAVAILABLE,
                     evaluations: Sequence[RunEvaluation] | None = None,
                     evaluations_note: str = EVALUATION_UNAVAILABLE) -> Facts:
    """The facts of one course: its plan units, the non-video assets it lists as materials, its class hours, the
    terms of the runs that ran (one per run, in run order), its distinct students so far, and the learning
    service's counts of quizzes, tests, exams, assignments and topics over its runs (None when it gave none), and
    the media service's facts of its videos by asset id (None when it gave none, with `media_note` saying why),
    and the students' evaluation of its rated runs (None when the learning service gave none); every threshold is
    `policy`'s, the school's policy in force."""
    thresholds = Thresholds.of(policy)
    videos = online_videos(units)
    materials = set(material_ids) | {u.resource_id for u in units
                                     if u.resource_id and u.usable and u.kind in MATERIAL_KINDS}
    lengths = list(videos.values())
    low, high = thresholds.video_minutes
    length_norm = Norm("length", True, sum(within(m, thresholds.video_minutes) for m in lengths), len(lengths),
                       rule=f"{low:g}–{high:g} minutes each")
    norms = [length_norm, *media_norms(list(videos), leader_id, media, media_note, thresholds)]
    unique_terms = list(dict.fromkeys(t for t in terms if t))
    return Facts(
        units=sum(1 for u in units), units_online=sum(1 for u in units if u.resource_id and u.usable),
        videos=len(videos), video_minutes=round(sum(lengths), 2), materials=len(materials), norms=norms,
        class_hours=class_hours, hour_videos=policy_rules.videos_of_class_hour_length(policy, lengths),
        hour_videos_needed=videos_needed(class_hours, thresholds.videos_per_class_hour), runs=len(terms),
        terms=unique_terms, students=students, policy=policy, thresholds=thresholds,
        activities=activities, activities_note="" if activities is not None else activities_note,
        evaluations=list(evaluations) if evaluations is not None else None,
        evaluations_note="" if evaluations is not None else evaluations_note)


def media_norms(video_ids: Sequence[str], leader_id: str, media: Mapping[str, VideoFacts] | None,
                media_note: str, thresholds: Thresholds) -> list[Norm]:
    """The norms over what the media service says of the videos: every one at least the policy's height (seed 002:
    720p), every one with subtitles (annex 2: on the main parts; measured as any track attached), and the leader's
    uploads at least the policy's share (seed 002: 25%). Videos the media service does not know (deleted meanwhile)
    are left out and named in the note; with none known, or no answer, a norm is not measured."""
    min_height, leader_share = thresholds.min_height, thresholds.leader_share
    rules = {"resolution": f"at least {min_height}p each", "subtitles": "subtitles on each video",
             "leader_share": f"the leader records at least {leader_share * 100:g}%"}
    known = [media[v] for v in video_ids if v in media] if media is not None else []
    if not known:
        note = media_note if media is None else (
            "the media service knows none of the course's videos" if video_ids else "the plan has no online video")
        return [Norm(name, False, rule=rules[name], note=note,
                     min_share=leader_share if name == "leader_share" else 1.0) for name in MEDIA_NORMS]
    missing = len(video_ids) - len(known)
    note = f"{missing} of {len(video_ids)} videos unknown to the media service are left out" if missing else ""
    return [Norm("resolution", True, sum(f.height >= min_height for f in known), len(known),
                 rule=rules["resolution"], note=note),
            Norm("subtitles", True, sum(f.has_subtitles for f in known), len(known), rule=rules["subtitles"],
                 note=note),
            Norm("leader_share", True, sum(bool(leader_id) and f.owner_id == leader_id for f in known), len(known),
                 rule=rules["leader_share"], note=note, min_share=leader_share)]


def check_may_read(role: str, user_id: str, school_id: str | None, course_school_id: str, leader_id: str) -> None:
    """The course's leader and its school's admins read its acceptance facts (the panel's experts come with the
    acceptance rounds); nobody else, a teacher of its team included."""
    if role == "school_admin" and school_id == course_school_id:
        return
    if role == "teacher" and user_id == leader_id:
        return
    raise PermissionDenied("the course's leader and its school's admins read its acceptance facts",
                           reason="NOT_COURSE_LEADER_OR_SCHOOL_ADMIN")
