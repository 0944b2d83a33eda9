"""Policies: platform defaults → province → school, versioned, effective from a term; and the credit rule."""

from __future__ import annotations

from datetime import date

import pytest

from servicekit.errors import FailedPrecondition, InvalidArgument
from services.course.domain import policy
from services.course.domain.policy import LayerVersion

AUTUMN = date(2026, 9, 1)
SPRING = date(2027, 2, 20)


def province(version: int, values: dict, term: str = "", starts: date | None = None) -> LayerVersion:
    return LayerVersion(policy.PROVINCE, "43", version, values, term, starts)


def school(version: int, values: dict, term: str = "", starts: date | None = None) -> LayerVersion:
    return LayerVersion(policy.SCHOOL, "csust", version, values, term, starts)


def test_without_layers_the_platform_defaults_are_zhejiangs_240_minutes_per_credit() -> None:
    resolved = policy.resolve([], [], AUTUMN)
    assert resolved["minutes_per_credit"] == 240 and resolved["min_class_hours_per_credit"] is None
    assert resolved.sources["minutes_per_credit"].describe() == "platform defaults v1"
    assert policy.missing_video_minutes(resolved, 2, 400) == 80
    assert policy.missing_video_minutes(resolved, 2, 480) == 0
    assert policy.missing_class_hours(resolved, 2, 0) == 0  # not counted


def test_a_school_overrides_its_province_which_overrides_the_platform_number_by_number() -> None:
    resolved = policy.resolve([province(1, {"video_recommended_max_minutes": 20, "minutes_per_credit": 200})],
                              [school(1, {"minutes_per_credit": 120})], AUTUMN)
    assert resolved["minutes_per_credit"] == 120
    assert resolved.sources["minutes_per_credit"].level == policy.SCHOOL
    assert resolved["video_recommended_max_minutes"] == 20
    assert resolved.sources["video_recommended_max_minutes"].describe() == "province 43 v1"
    assert resolved["video_max_minutes"] == 20 and resolved.sources["video_max_minutes"].level == policy.PLATFORM
    assert [layer.level for layer in resolved.layers] == [policy.PLATFORM, policy.PROVINCE, policy.SCHOOL]


def test_seed_002_is_a_school_policy_120_minutes_and_16_class_hours_per_credit() -> None:
    resolved = policy.resolve([], [school(1, policy.CHANGSHA_SCHOOL_POLICY, "2026-autumn", AUTUMN)], AUTUMN)
    assert (resolved["minutes_per_credit"], resolved["min_class_hours_per_credit"]) == (120, 16)
    assert resolved["max_concurrent_online_courses"] == 4
    assert (resolved["videos_per_class_hour_min"], resolved["video_per_class_hour_min_minutes"],
            resolved["video_per_class_hour_max_minutes"]) == (4, 3, 15)
    assert (resolved["video_max_minutes"], resolved["video_max_minutes_at_acceptance"]) == (20, 25)
    assert policy.missing_video_minutes(resolved, 1.5, 100) == 80
    assert policy.missing_class_hours(resolved, 1.5, 20) == 4


def test_henan_is_province_41s_policy_with_videos_of_5_to_20_minutes() -> None:
    henan = LayerVersion(policy.PROVINCE, "41", 1, policy.HENAN_PROVINCE_POLICY)
    resolved = policy.resolve([henan], [], AUTUMN)
    assert (resolved["video_recommended_min_minutes"], resolved["video_recommended_max_minutes"]) == (5, 20)
    assert resolved["minutes_per_credit"] == 240  # Henan states none: the platform's


def test_a_version_effective_from_a_future_term_does_not_apply_before_it() -> None:
    versions = [school(1, {"minutes_per_credit": 120}, "2026-autumn", AUTUMN),
                school(2, {"minutes_per_credit": 60}, "2027-spring", SPRING)]
    assert policy.resolve([], versions, AUTUMN)["minutes_per_credit"] == 120
    assert policy.resolve([], versions, SPRING)["minutes_per_credit"] == 60
    assert policy.resolve([], versions, date(2026, 8, 31))["minutes_per_credit"] == 240  # before either


def test_a_later_edit_for_the_same_term_replaces_the_earlier_but_not_a_planned_later_term() -> None:
    versions = [school(1, {"minutes_per_credit": 120}, "2026-autumn", AUTUMN),
                school(2, {"minutes_per_credit": 150}, "2027-spring", SPRING),
                school(3, {"minutes_per_credit": 130}, "2026-autumn", AUTUMN)]
    autumn = policy.resolve([], versions, AUTUMN)
    assert autumn["minutes_per_credit"] == 130 and autumn.sources["minutes_per_credit"].version == 3
    assert policy.resolve([], versions, SPRING)["minutes_per_credit"] == 150


def test_layer_numbers_are_checked_by_name_range_and_kind() -> None:
    assert policy.check_values({"minutes_per_credit": 120, "min_class_hours_per_credit": None}) == {
        "minutes_per_credit": 120.0, "min_class_hours_per_credit": None}
    with pytest.raises(InvalidArgument, match="unknown policy number"):
        policy.check_values({"minutes_per_hour": 1})
    with pytest.raises(InvalidArgument, match="always counts"):
        policy.check_values({"minutes_per_credit": None})
    with pytest.raises(InvalidArgument, match="more than 0"):
        policy.check_values({"minutes_per_credit": 0})
    with pytest.raises(InvalidArgument, match="whole number"):
        policy.check_values({"max_concurrent_online_courses": 2.5})
    with pytest.raises(InvalidArgument, match="must be a number"):
        policy.check_values({"minutes_per_credit": float("nan")})


def test_the_video_spec_is_a_name_the_media_service_knows_resolved_through_the_layers() -> None:
    assert policy.check_values({"video_spec": "changsha"}) == {"video_spec": "changsha"}
    for bad in ("hunan", "", None, 1, "Changsha"):
        with pytest.raises(InvalidArgument, match="video_spec .* is one of default, zhejiang, henan, changsha"):
            policy.check_values({"video_spec": bad})
    with pytest.raises(InvalidArgument, match="must be a number"):
        policy.check_values({"minutes_per_credit": "changsha"})  # a number stays a number

    assert policy.resolve([], [], AUTUMN)["video_spec"] == "default"  # platform: the strictest common spec
    henan = LayerVersion(policy.PROVINCE, "41", 2, policy.HENAN_PROVINCE_POLICY)
    resolved = policy.resolve([henan], [], AUTUMN)
    assert resolved["video_spec"] == "henan" and resolved.sources["video_spec"].describe() == "province 41 v2"
    # A school in Henan that files Changsha's rules follows Changsha's spec; its durations come with it.
    resolved = policy.resolve([henan], [school(1, policy.CHANGSHA_SCHOOL_POLICY, "2026-autumn", AUTUMN)], AUTUMN)
    assert resolved["video_spec"] == "changsha"
    assert resolved.describe("video_spec", "video_max_minutes") == (
        "video_spec changsha (school csust v1, from 2026-autumn); video_max_minutes 20 (school csust v1, from "
        "2026-autumn)")
    # A province's layer in force without a spec leaves the platform's, whatever an older version said.
    resolved = policy.resolve([henan, LayerVersion(policy.PROVINCE, "41", 3, {"minutes_per_credit": 200}, "2026-autumn",
                                                   AUTUMN)], [], AUTUMN)
    assert resolved["video_spec"] == "default"


def test_a_policy_whose_ranges_cross_is_refused() -> None:
    crossed = policy.resolve([], [school(1, {"video_recommended_max_minutes": 30})], AUTUMN)
    with pytest.raises(InvalidArgument, match="cannot exceed video_max_minutes"):
        policy.check_consistent(crossed)
    policy.check_consistent(policy.resolve([], [school(1, policy.CHANGSHA_SCHOOL_POLICY)], AUTUMN))


def test_credits_not_covered_are_refused_with_the_numbers_and_the_policy_applied() -> None:
    resolved = policy.resolve([], [school(2, {"minutes_per_credit": 120, "min_class_hours_per_credit": 16},
                                          "2026-autumn", AUTUMN)], AUTUMN)
    with pytest.raises(FailedPrecondition) as refused:
        policy.check_credits_covered(resolved, 2, 100.5, 20, what="run 1", term_code="2026-autumn")
    message = refused.value.message
    assert "need 240 minutes of approved video and run 1 has 100.5 (139.50 missing" in message
    assert "need 32 class hours and run 1 has 20" in message
    assert "school csust v2, from 2026-autumn" in message and "in 2026-autumn" in message
    assert refused.value.reason == "CREDITS_NOT_COVERED"
    policy.check_credits_covered(resolved, 2, 240, 32)
    policy.check_credits_covered(resolved, 0, 0, 0)  # no online credits claimed, nothing to cover


def test_a_passed_credit_check_says_what_it_applied() -> None:
    resolved = policy.resolve([], [school(1, policy.CHANGSHA_SCHOOL_POLICY, "2026-autumn", AUTUMN)], AUTUMN)
    summary = policy.credits_covered_summary(resolved, 1, 130, 16, "2026-autumn")
    assert summary.startswith("1 online credits: 120 minutes of approved video needed, 130 approved; "
                              "16 class hours needed, 16 set")
    assert "policy in force in 2026-autumn: platform defaults v1 + school csust v1, from 2026-autumn" in summary


def test_class_hours_are_bounded_numbers_with_one_decimal() -> None:
    assert policy.check_class_hours(32) == 32.0
    for bad in (-1, 1001, 1.25, float("inf")):
        with pytest.raises(InvalidArgument):
            policy.check_class_hours(bad)


def test_seed_002_class_hours_need_four_videos_of_3_to_15_minutes_each() -> None:
    resolved = policy.resolve([], [school(1, policy.CHANGSHA_SCHOOL_POLICY, "2026-autumn", AUTUMN)], AUTUMN)
    assert policy.videos_per_class_hour_needed(resolved, 16) == 64
    assert policy.videos_of_class_hour_length(resolved, [2.99, 3, 9, 15, 15.01, 60]) == 3
    fitting = [10.0] * 64
    policy.check_credits_covered(resolved, 1, 640, 16, video_minutes=fitting)
    with pytest.raises(FailedPrecondition, match="16 class hours need 64 approved videos of 3-15 minutes and run 1 "
                                                 "has 63"):
        policy.check_credits_covered(resolved, 1, 640, 16, what="run 1", video_minutes=fitting[:63] + [20])
    # Where the policy sets no such number (the platform defaults), videos per class hour are not counted.
    assert policy.videos_per_class_hour_needed(policy.resolve([], [], AUTUMN), 16) is None
    policy.check_credits_covered(policy.resolve([], [], AUTUMN), 0, 0, 16)
