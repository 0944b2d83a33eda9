"""The measured facts of a completion acceptance (seed 002 annex 2, annex 1): norms, shares and who reads them."""

from __future__ import annotations

from datetime import date
from functools import partial

import pytest

from servicekit.auth import Caller
from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.service_keys import SERVICE_ROLE
from services.course.domain import acceptance as rules
from services.course.domain import policy
from services.course.domain.acceptance import Unit
from services.learning.service_layer.activity_counts import activity_counts

AUTUMN = date(2026, 9, 1)
PLATFORM = policy.resolve([], [], AUTUMN)


def school_policy(values: dict, version: int = 1) -> policy.EffectivePolicy:
    return policy.resolve([], [policy.LayerVersion(policy.SCHOOL, "csust", version, values, "2026-autumn", AUTUMN)],
                          AUTUMN)


# Seed 002 (Changsha): videos 5–25 minutes at acceptance, 4 of 3–15 minutes per class hour, 720p, the leader 25%.
CHANGSHA = school_policy(policy.CHANGSHA_SCHOOL_POLICY)
acceptance_facts = partial(rules.acceptance_facts, policy=CHANGSHA)


def video(asset: str, minutes: float, usable: bool = True) -> Unit:
    return Unit(asset, rules.VIDEO, minutes, usable)


def test_the_length_norm_is_changshas_5_to_25_minutes_and_its_share_counts_each_video_once() -> None:
    units = [video("a", 4.9), video("b", 5.0), video("c", 25.0), video("d", 25.1), video("b", 5.0)]
    facts = acceptance_facts(units, [], 0, [], 0)
    length = next(n for n in facts.norms if n.name == "length")
    assert (facts.videos, length.passed, length.total, length.share, length.met) == (4, 2, 4, 0.5, False)
    assert length.rule == "5–25 minutes each"
    assert facts.video_minutes == 60.0


def test_every_threshold_is_the_policys_and_the_facts_name_the_layer_and_version_applied() -> None:
    units = [video(str(n), minutes) for n, minutes in enumerate((4, 6, 10, 12, 18, 22))]
    media = {str(n): rules.VideoFacts(576 if n < 2 else 720, True, "leader" if n < 2 else "other") for n in range(6)}
    changsha = acceptance_facts(units, [], 1, [], 0, leader_id="leader", media=media)
    norms = {n.name: n for n in changsha.norms}
    assert (norms["length"].passed, norms["resolution"].passed, norms["leader_share"].met) == (5, 4, True)
    assert (changsha.hour_videos, changsha.hour_videos_needed, changsha.hour_videos_met) == (4, 4, True)
    assert changsha.policy_applied == "platform defaults v1 + school csust v1, from 2026-autumn"

    # A school that files other numbers (version 2): videos 8–20 minutes and 540p at acceptance, the leader a
    # third, 5 videos of 10–20 minutes per class hour. The same course now fails what it met, and meets what it failed.
    own = school_policy({**policy.CHANGSHA_SCHOOL_POLICY, "video_min_minutes_at_acceptance": 8,
                         "video_max_minutes_at_acceptance": 20, "video_min_height_at_acceptance": 540,
                         "leader_video_share_min_percent": 33.4, "videos_per_class_hour_min": 5,
                         "video_per_class_hour_min_minutes": 10, "video_per_class_hour_max_minutes": 20}, version=2)
    policy.check_consistent(own)
    facts = rules.acceptance_facts(units, [], 1, [], 0, policy=own, leader_id="leader", media=media)
    norms = {n.name: n for n in facts.norms}
    assert (norms["length"].passed, norms["length"].rule) == (3, "8–20 minutes each")  # 10, 12 and 18 minutes
    assert (norms["resolution"].passed, norms["resolution"].met, norms["resolution"].rule) == (
        6, True, "at least 540p each")
    assert (norms["leader_share"].share, norms["leader_share"].met) == (0.3333, False)  # 2 of 6 < 33.4%
    assert norms["leader_share"].rule == "the leader records at least 33.4%"
    assert (facts.hour_videos, facts.hour_videos_needed, facts.hour_videos_met) == (3, 5, False)
    assert facts.thresholds.hour_video_rule == "10–20 minutes"
    assert facts.policy_applied == "platform defaults v1 + school csust v2, from 2026-autumn"
    assert facts.policy.sources["video_min_height_at_acceptance"].version == 2


def test_under_the_platform_defaults_videos_are_5_to_25_minutes_and_videos_per_class_hour_are_not_counted() -> None:
    units = [video("a", 5), video("b", 25), video("c", 26)]
    facts = rules.acceptance_facts(units, [], 2, [], 0, policy=PLATFORM)
    length = next(n for n in facts.norms if n.name == "length")
    assert (length.passed, length.total, length.rule) == (2, 3, "5–25 minutes each")  # seed 002's, for all
    assert (facts.hour_videos_counted, facts.hour_videos_needed, facts.hour_videos_met) == (False, 0, False)
    assert facts.thresholds == rules.Thresholds((5.0, 25.0), 720, 0.25, None, (0.0, None))
    assert facts.policy_applied == "platform defaults v1"


def test_the_acceptance_numbers_are_checked_like_every_policy_number() -> None:
    for bad in ({"video_min_height_at_acceptance": 720.5}, {"leader_video_share_min_percent": 120},
                {"video_min_minutes_at_acceptance": None}):
        with pytest.raises(InvalidArgument):
            policy.check_values(bad)
    with pytest.raises(InvalidArgument, match="video_min_minutes_at_acceptance"):  # above the maximum at acceptance
        policy.check_consistent(school_policy({"video_min_minutes_at_acceptance": 30}))


def test_a_norm_the_course_service_cannot_measure_is_never_met() -> None:
    facts = acceptance_facts([video("a", 10)], [], 1, [], 0)
    unmeasured = {n.name for n in facts.norms if not n.measured}
    assert unmeasured == {"resolution", "subtitles", "leader_share"}
    assert not any(n.met for n in facts.norms if not n.measured)
    assert all(n.note for n in facts.norms if not n.measured)


def test_every_resource_is_online_only_when_every_unit_points_at_a_usable_one() -> None:
    assert acceptance_facts([video("a", 10), Unit("m", "material", 0, True)], [], 0, [], 0).all_online
    waiting = acceptance_facts([video("a", 10), video("b", 10, usable=False)], [], 0, [], 0)
    assert (waiting.units, waiting.units_online, waiting.all_online, waiting.videos) == (2, 1, False, 1)
    emptied = acceptance_facts([video("a", 10), Unit(None, "", 0, False)], [], 0, [], 0)
    assert not emptied.all_online
    assert not acceptance_facts([], [], 0, [], 0).all_online  # an empty plan puts nothing online


def test_changshas_four_videos_of_3_to_15_minutes_per_class_hour() -> None:
    units = [video(str(n), 3 + n) for n in range(14)]  # 3..16 minutes: 13 of 3–15
    facts = acceptance_facts(units, [], 3, [], 0)
    assert (facts.hour_videos, facts.hour_videos_needed, facts.videos_per_class_hour) == (13, 12, 4.33)
    assert facts.hour_videos_met
    assert not acceptance_facts(units, [], 4, [], 0).hour_videos_met  # 16 needed
    assert rules.videos_needed(2.5, 4) == 12  # a started hour counts whole
    assert rules.videos_needed(2.5, None) == 0  # a policy that counts none
    no_hours = acceptance_facts(units, [], 0, [], 0)
    assert (no_hours.videos_per_class_hour, no_hours.hour_videos_met) == (0.0, False)


def test_material_kinds_count_documents_once_and_say_when_the_learning_service_gave_no_counts() -> None:
    units = [video("a", 10), Unit("doc", "material", 0, True), Unit("old", "material", 0, False)]
    facts = acceptance_facts(units, ["doc", "ppt"], 0, [], 0)
    kinds = {kind: (measured, count, note) for kind, measured, count, note in facts.material_kinds}
    assert (kinds["videos"], kinds["materials"]) == ((True, 1, ""), (True, 2, ""))
    for kind in rules.LEARNING_KINDS:
        assert kinds[kind] == (False, 0, rules.LEARNING_UNAVAILABLE)


def test_material_kinds_take_the_learning_services_counts() -> None:
    counts = {"in_video_quizzes": 3, "unit_tests": 2, "exams": 1, "assignments": 0, "discussion_topics": 4}
    facts = acceptance_facts([], [], 0, [], 0, counts)
    kinds = {kind: (measured, count) for kind, measured, count, _ in facts.material_kinds}
    assert kinds == {"videos": (True, 0), "materials": (True, 0), "in_video_quizzes": (True, 3),
                     "unit_tests": (True, 2), "exams": (True, 1), "assignments": (True, 0),
                     "discussion_topics": (True, 4)}


def test_runs_and_terms_so_far() -> None:
    facts = acceptance_facts([], [], 0, ["2026-spring", "2026-autumn", "2026-autumn"], 57)
    assert (facts.runs, facts.terms, facts.students) == (3, ["2026-spring", "2026-autumn"], 57)


@pytest.mark.parametrize(("role", "user", "school"), [
    ("school_admin", "x", "s1"), ("teacher", "leader", "s1")])
def test_the_leader_and_the_schools_admins_read_the_facts(role: str, user: str, school: str) -> None:
    rules.check_may_read(role, user, school, "s1", "leader")


@pytest.mark.parametrize(("role", "user", "school"), [
    ("school_admin", "x", "s2"), ("teacher", "colleague", "s1"), ("student", "leader", "s1"),
    ("center_admin", "x", "")])
def test_anyone_else_is_refused(role: str, user: str, school: str) -> None:
    with pytest.raises(PermissionDenied):
        rules.check_may_read(role, user, school, "s1", "leader")


@pytest.mark.parametrize("caller", [
    Caller("u1", "teacher", "s1", "33", "王老师"), Caller("service:media", SERVICE_ROLE, None, None, "media")])
async def test_only_the_course_services_key_reads_the_runs_activity_counts(caller: Caller) -> None:
    with pytest.raises(PermissionDenied):
        await activity_counts(None, caller, ["r1"])  # type: ignore[arg-type]  # refused before any read


def test_the_media_services_facts_measure_720p_subtitles_and_the_leaders_share() -> None:
    units = [video("a", 10), video("b", 10), video("c", 10), video("d", 10), video("gone", 10)]
    media = {"a": rules.VideoFacts(1080, True, "leader"), "b": rules.VideoFacts(720, True, "other"),
             "c": rules.VideoFacts(576, False, "other"), "d": rules.VideoFacts(720, True, "other")}
    norms = {n.name: n for n in acceptance_facts(units, [], 0, [], 0, leader_id="leader", media=media).norms}
    resolution, subtitles, leader = norms["resolution"], norms["subtitles"], norms["leader_share"]
    assert (resolution.measured, resolution.passed, resolution.total, resolution.share, resolution.met) == (
        True, 3, 4, 0.75, False)  # every video must be 720p or taller
    assert (subtitles.passed, subtitles.total, subtitles.met) == (3, 4, False)
    assert (leader.passed, leader.total, leader.share, leader.met) == (1, 4, 0.25, True)  # 25% is enough
    assert "1 of 5" in resolution.note  # the video media no longer knows is left out, and said so


def test_every_video_720p_with_subtitles_meets_those_norms_and_less_than_a_quarter_by_the_leader_does_not() -> None:
    units = [video(str(n), 10) for n in range(5)]
    media = {str(n): rules.VideoFacts(720, True, "leader" if n == 0 else "other") for n in range(5)}
    norms = {n.name: n for n in acceptance_facts(units, [], 0, [], 0, leader_id="leader", media=media).norms}
    assert norms["resolution"].met and norms["subtitles"].met
    assert (norms["leader_share"].share, norms["leader_share"].met) == (0.2, False)


def test_without_the_media_services_answer_those_norms_are_not_measured_and_say_why() -> None:
    for media, note in ((None, "the media service is down"), ({}, "knows none")):
        facts = acceptance_facts([video("a", 10)], [], 0, [], 0, leader_id="l", media=media, media_note=note)
        for norm in (n for n in facts.norms if n.name in rules.MEDIA_NORMS):
            assert (norm.measured, norm.met) == (False, False) and note in norm.note


def test_a_media_service_that_does_not_answer_leaves_its_norms_unmeasured_with_its_reason() -> None:
    import asyncio

    from servicekit.errors import Unavailable
    from services.course.service_layer.acceptance import AcceptanceHandlers

    class Silent:
        async def video_facts(self, asset_ids):  # type: ignore[no-untyped-def]
            raise Unavailable("UNAVAILABLE: connection refused")

    handlers = AcceptanceHandlers(None, None, media=Silent())  # type: ignore[arg-type]
    media, note = asyncio.run(handlers._video_facts(["a"]))
    assert media is None and rules.MEDIA_UNAVAILABLE in note and "connection refused" in note
    assert asyncio.run(AcceptanceHandlers(None, None)._video_facts(["a"])) == (  # type: ignore[arg-type]
        None, rules.MEDIA_UNAVAILABLE)


def test_the_students_evaluation_is_the_answer_weighted_mean_of_the_rated_runs() -> None:
    runs = [rules.RunEvaluation("2026-autumn", 1, 30, 70.0, "合格", True),
            rules.RunEvaluation("2027-spring", 2, 10, 90.0, "优秀", False),
            rules.RunEvaluation("2027-autumn", 3, 0, None, "", False)]
    facts = acceptance_facts([], [], 0, [], 0, evaluations=runs)
    assert (facts.evaluation_score, facts.evaluations_note) == (75.0, "")
    assert acceptance_facts([], [], 0, [], 0, evaluations=[]).evaluation_score is None
    unmeasured = acceptance_facts([], [], 0, [], 0, evaluations=None, evaluations_note="down")
    assert (unmeasured.evaluations, unmeasured.evaluation_score, unmeasured.evaluations_note) == (None, None, "down")


def test_a_learning_service_that_does_not_answer_leaves_the_evaluation_unmeasured_with_its_reason() -> None:
    import asyncio

    from servicekit.errors import Unavailable
    from services.course.service_layer.acceptance import AcceptanceHandlers

    class Silent:
        async def run_evaluations(self, run_ids):  # type: ignore[no-untyped-def]
            raise Unavailable("UNAVAILABLE: connection refused")

    handlers = AcceptanceHandlers(None, None, learning=Silent())  # type: ignore[arg-type]
    evaluations, note = asyncio.run(handlers._evaluations(["r"]))
    assert evaluations is None and rules.EVALUATION_UNAVAILABLE in note and "connection refused" in note
    assert asyncio.run(handlers._evaluations([])) == ([], "")
