"""Parent course and course run rules: registry, credits, overview, SPOC→MOOC, update ratio, states, terms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from servicekit.errors import FailedPrecondition, InvalidArgument, NotFound
from services.course.domain import courses, runs

CST = timezone(timedelta(hours=8))


# --- registry and kinds --------------------------------------------------------------------------


def test_a_mooc_matching_its_registry_entry_is_accepted() -> None:
    courses.check_registry_match("Data Science", "u1", "张三", "e1", "Data Science", "u1", "张三")


def test_registry_match_ignores_case_and_full_width_spaces() -> None:
    courses.check_registry_match("　data  SCIENCE ", "u1", " 张三\u3000", "e1", "Data Science", "", "张三")
    courses.check_registry_match("ＤＡＴＡ Science", "u1", "张三", "e1", "Data Science", "", "张三")


def test_a_registry_leader_is_compared_by_account_not_by_name() -> None:
    # Two teachers called 张三: only the picked account leads the MOOC.
    with pytest.raises(FailedPrecondition, match="course leader differs") as error:
        courses.check_registry_match("数据科学", "u2", "张三", "e1", "数据科学", "u1", "张三")
    assert error.value.reason == "REGISTRY_MISMATCH"
    # The picked account leads it even after identity renamed it.
    courses.check_registry_match("数据科学", "u1", "张三丰", "e1", "数据科学", "u1", "张三")


def test_an_entry_filed_before_leaders_were_picked_matches_the_leader_by_name() -> None:
    courses.check_registry_match("数据科学", "u9", "张三", "e1", "数据科学", "", "张三")
    with pytest.raises(FailedPrecondition, match="course leader differs"):
        courses.check_registry_match("数据科学", "u9", "李四", "e1", "数据科学", "", "张三")


def test_a_registry_leader_is_an_active_teacher_of_the_school() -> None:
    courses.check_registry_leader("s1", "teacher", "active", "s1")
    refused = [("s1", "student", "active", "s1"), ("s1", "school_admin", "active", "s1"),
               ("s1", "teacher", "pending", "s1"), ("s1", "teacher", "active", "s2"), ("s1", "", "", ""),
               ("", "teacher", "active", "")]
    for school, role, status, user_school in refused:
        with pytest.raises(InvalidArgument, match="active teacher account of the school") as error:
            courses.check_registry_leader(school, role, status, user_school)
        assert error.value.reason == "LEADER_NOT_A_TEACHER"


def test_course_categories_start_from_the_seeds_seven() -> None:
    assert courses.SEED_CATEGORIES == (
        "公共基础课", "学科基础课", "专业课", "学校特色课", "通识课", "创新创业教育课", "思想政治理论课")


def test_a_course_category_comes_from_the_provinces_list_and_the_refusal_names_the_list() -> None:
    listed = ["公共基础课", "专业课"]
    assert courses.check_listed_category(" 专业课 ", listed) == "专业课"
    with pytest.raises(InvalidArgument) as error:
        courses.check_listed_category("计算机", listed)
    assert error.value.reason == "UNKNOWN_COURSE_CATEGORY"
    assert "'计算机' is not in your province's list" in error.value.message
    assert "公共基础课, 专业课" in error.value.message


def test_a_category_name_has_1_to_50_characters() -> None:
    assert courses.check_category_name("  人工智能 通识 ") == "人工智能 通识"
    for bad in ("", "   ", "x" * 51):
        with pytest.raises(InvalidArgument, match="1 to 50") as error:
            courses.check_category_name(bad)
        assert error.value.reason == "BAD_COURSE_CATEGORY"


def test_a_mooc_with_a_different_name_names_the_name() -> None:
    with pytest.raises(FailedPrecondition) as error:
        courses.check_registry_match("数据科学导论", "u1", "张三", "e1", "数据科学", "u1", "张三")
    assert "the course name differs from the registry entry: '数据科学导论' vs '数据科学'" in error.value.message
    assert "leader" not in error.value.message
    assert error.value.reason == "REGISTRY_MISMATCH"


def test_a_mooc_with_a_different_leader_names_the_leader_and_the_change_request_route() -> None:
    with pytest.raises(FailedPrecondition) as error:
        courses.check_registry_match("数据科学", "u2", "李四", "e42", "数据科学", "", "张三")
    message = error.value.message
    assert "the course leader differs from the registry entry: '李四' vs '张三'" in message
    assert "course name" not in message
    assert "POST /api/v1/registry/e42/change-requests" in message
    assert "provincial center's approval" in message
    assert error.value.reason == "REGISTRY_MISMATCH"


def test_a_mooc_differing_in_both_names_both() -> None:
    with pytest.raises(FailedPrecondition, match="course name differs.*course leader differs"):
        courses.check_registry_match("A", "u1", "B", "e1", "C", "u2", "D")


def test_a_synchronous_spoc_is_read_only() -> None:
    with pytest.raises(FailedPrecondition, match="follows its MOOC run and cannot be edited") as error:
        courses.check_editable(courses.SPOC_SYNCHRONOUS)
    assert error.value.reason == "READ_ONLY_SPOC"
    for kind in (courses.MOOC, courses.SPOC_INDEPENDENT, courses.SPOC_ASYNCHRONOUS):
        courses.check_editable(kind)


def test_an_unknown_course_kind_is_refused() -> None:
    assert set(courses.COURSE_KINDS) == {"mooc", "spoc_independent", "spoc_synchronous", "spoc_asynchronous"}
    with pytest.raises(InvalidArgument):
        courses.check_editable("spoc")


def test_course_fields_are_stripped_and_bounded() -> None:
    assert courses.check_course_fields("  高等数学 ", " 理学 ") == ("高等数学", "理学")
    with pytest.raises(InvalidArgument, match="name"):
        courses.check_course_fields("  ", "理学")
    with pytest.raises(InvalidArgument, match="name"):
        courses.check_course_fields("x" * 101, "理学")
    with pytest.raises(InvalidArgument, match="category"):
        courses.check_course_fields("高等数学", "y" * 51)


# --- credits -------------------------------------------------------------------------------------


# The credit numbers come from the policy in force: tests/unit/test_policies.py.


def test_online_credits_are_bounded_by_the_total() -> None:
    courses.check_online_credits(1.5, 2)
    courses.check_online_credits(0, 20)
    with pytest.raises(InvalidArgument, match="cannot exceed"):
        courses.check_online_credits(3, 2)
    with pytest.raises(InvalidArgument, match="at most 20"):
        courses.check_online_credits(1, 20.5)
    with pytest.raises(InvalidArgument, match="negative"):
        courses.check_online_credits(-1, 2)
    with pytest.raises(InvalidArgument, match="one decimal"):
        courses.check_online_credits(1.25, 2)
    with pytest.raises(InvalidArgument, match="at most 20"):  # was an OverflowError (a 500)
        courses.check_online_credits(1e308, 3)


# --- overview ------------------------------------------------------------------------------------


def test_a_blank_overview_has_every_heading_in_order() -> None:
    assert tuple(courses.blank_overview()) == courses.OVERVIEW_HEADINGS
    assert set(courses.blank_overview().values()) == {""}


def test_overview_text_under_a_heading_can_change() -> None:
    result = courses.updated_overview(courses.blank_overview(), {"课程目标": "掌握微积分"})
    assert result["课程目标"] == "掌握微积分"
    assert tuple(result) == courses.OVERVIEW_HEADINGS


def test_overview_headings_cannot_be_renamed_or_removed() -> None:
    with pytest.raises(InvalidArgument, match="'课程介绍'.*课程简介, 课程目标"):
        courses.updated_overview(courses.blank_overview(), {"课程介绍": "x"})
    partial = courses.updated_overview({"课程简介": "intro"}, {})
    assert tuple(partial) == courses.OVERVIEW_HEADINGS
    assert partial["课程简介"] == "intro"


def test_overview_text_is_at_most_5000_characters() -> None:
    courses.updated_overview({}, {"常见问题": "问" * 5000})
    with pytest.raises(InvalidArgument, match="5000"):
        courses.updated_overview({}, {"常见问题": "问" * 5001})


# --- SPOC → MOOC ---------------------------------------------------------------------------------


def test_an_independent_spoc_with_enough_video_and_a_run_may_apply() -> None:
    courses.spoc_may_apply_for_mooc(courses.SPOC_INDEPENDENT, 240, 1, 240)


def test_synchronous_and_asynchronous_spocs_cannot_apply_for_mooc() -> None:
    for kind in (courses.SPOC_SYNCHRONOUS, courses.SPOC_ASYNCHRONOUS):
        with pytest.raises(FailedPrecondition, match="only an independent SPOC") as error:
            courses.spoc_may_apply_for_mooc(kind, 1000, 5, 240)
        assert error.value.reason == "NOT_INDEPENDENT_SPOC"


def test_a_mooc_cannot_apply_to_become_a_mooc() -> None:
    with pytest.raises(FailedPrecondition, match="already a MOOC"):
        courses.spoc_may_apply_for_mooc(courses.MOOC, 1000, 5, 240)


def test_an_independent_spoc_with_too_few_minutes_is_told_how_many() -> None:
    with pytest.raises(FailedPrecondition, match=r"needs 240 minutes of approved video; it has 95.5 \(the policy\)"):
        courses.spoc_may_apply_for_mooc(courses.SPOC_INDEPENDENT, 95.5, 1, 240, "the policy")
    courses.spoc_may_apply_for_mooc(courses.SPOC_INDEPENDENT, 0.1, 1, 0.1)  # the policy in force sets the minutes


def test_an_independent_spoc_without_a_run_cannot_apply() -> None:
    with pytest.raises(FailedPrecondition, match="needs at least 1 run; it has 0"):
        courses.spoc_may_apply_for_mooc(courses.SPOC_INDEPENDENT, 300, 0, 240)


# --- update ratio --------------------------------------------------------------------------------


def test_a_school_year_runs_from_september_to_september() -> None:
    start, end = courses.school_year_bounds(datetime(2027, 3, 10, tzinfo=CST))
    assert (start, end) == (datetime(2026, 9, 1, tzinfo=CST), datetime(2027, 9, 1, tzinfo=CST))
    start, _ = courses.school_year_bounds(datetime(2027, 9, 1, tzinfo=CST))
    assert start == datetime(2027, 9, 1, tzinfo=CST)
    with pytest.raises(InvalidArgument):
        courses.school_year_bounds(datetime(2027, 3, 10))


def test_update_ratio_counts_resources_added_this_school_year() -> None:
    start, end = courses.school_year_bounds(datetime(2027, 3, 10, tzinfo=CST))
    old = datetime(2025, 10, 1, tzinfo=CST)
    resources = [(f"r{i}", old) for i in range(18)]
    resources += [("new1", datetime(2026, 9, 1, tzinfo=CST)), ("new2", datetime(2027, 8, 31, tzinfo=UTC))]
    resources += [("later", datetime(2027, 9, 1, tzinfo=CST))]
    ratio = courses.resource_update_ratio(resources, start, end)
    assert ratio == pytest.approx(2 / 21)
    low, high = courses.UPDATE_RATIO_TARGET
    assert low <= ratio <= high


def test_a_resource_listed_twice_counts_once_from_its_first_addition() -> None:
    start, end = courses.school_year_bounds(datetime(2027, 3, 10, tzinfo=CST))
    resources = [("r1", datetime(2025, 1, 1, tzinfo=CST)), ("r1", datetime(2027, 1, 1, tzinfo=CST))]
    assert courses.resource_update_ratio(resources, start, end) == 0.0


def test_update_ratio_is_zero_without_resources() -> None:
    start, end = courses.school_year_bounds(datetime(2027, 3, 10, tzinfo=CST))
    assert courses.resource_update_ratio([], start, end) == 0.0


# --- runs ----------------------------------------------------------------------------------------


def test_a_draft_run_is_submitted_for_review_and_nothing_else() -> None:
    runs.check_transition(runs.DRAFT, runs.PENDING_REVIEW)
    for target in (runs.PUBLISHED, runs.RUNNING, runs.ENDED, runs.REJECTED, runs.TAKEN_DOWN):
        with pytest.raises(FailedPrecondition, match=f"a run that is draft cannot become {target}"):
            runs.check_transition(runs.DRAFT, target)


def test_a_run_under_review_is_published_or_rejected() -> None:
    runs.check_transition(runs.PENDING_REVIEW, runs.PUBLISHED)
    runs.check_transition(runs.PENDING_REVIEW, runs.REJECTED)
    with pytest.raises(FailedPrecondition):
        runs.check_transition(runs.PENDING_REVIEW, runs.RUNNING)


def test_a_rejected_run_can_be_resubmitted() -> None:
    runs.check_transition(runs.REJECTED, runs.PENDING_REVIEW)
    with pytest.raises(FailedPrecondition):
        runs.check_transition(runs.REJECTED, runs.PUBLISHED)


def test_a_school_admin_can_take_a_published_or_running_run_down() -> None:
    runs.check_transition(runs.PUBLISHED, runs.TAKEN_DOWN)
    runs.check_transition(runs.RUNNING, runs.TAKEN_DOWN)
    with pytest.raises(FailedPrecondition):
        runs.check_transition(runs.ENDED, runs.TAKEN_DOWN)


def test_ended_and_taken_down_runs_stay_so() -> None:
    for current in (runs.ENDED, runs.TAKEN_DOWN):
        for target in runs.RUN_STATES:
            with pytest.raises(FailedPrecondition):
                runs.check_transition(current, target)


def test_an_unknown_run_state_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        runs.check_transition("archived", runs.DRAFT)


def test_a_published_run_runs_once_its_term_starts() -> None:
    start, end = date(2027, 3, 1), date(2027, 7, 10)
    assert runs.state_on(runs.PUBLISHED, start, end, date(2027, 2, 28)) == runs.PUBLISHED
    assert runs.state_on(runs.PUBLISHED, start, end, start) == runs.RUNNING
    assert runs.state_on(runs.PUBLISHED, start, end, end) == runs.RUNNING


def test_a_run_ends_once_its_term_is_over() -> None:
    start, end = date(2027, 3, 1), date(2027, 7, 10)
    assert runs.state_on(runs.RUNNING, start, end, date(2027, 7, 11)) == runs.ENDED
    assert runs.state_on(runs.PUBLISHED, start, end, date(2027, 7, 11)) == runs.ENDED


def test_other_run_states_do_not_follow_the_calendar() -> None:
    start, end = date(2027, 3, 1), date(2027, 7, 10)
    for state in (runs.DRAFT, runs.PENDING_REVIEW, runs.REJECTED, runs.TAKEN_DOWN, runs.ENDED):
        assert runs.state_on(state, start, end, date(2027, 5, 1)) == state


def test_a_valid_term_is_accepted() -> None:
    term = runs.check_term("2027-spring", " 2027 春季学期 ", date(2027, 2, 20), date(2027, 7, 10))
    assert term == runs.Term("2027-spring", "2027 春季学期", date(2027, 2, 20), date(2027, 7, 10))


def test_a_term_code_names_a_year_and_season() -> None:
    for code in ("2027-fall", "27-spring", "2027spring", "2027-Spring"):
        with pytest.raises(InvalidArgument, match="2027-spring"):
            runs.check_term(code, "t", date(2027, 2, 20), date(2027, 7, 10))


def test_a_term_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidArgument, match="end after it starts"):
        runs.check_term("2027-spring", "t", date(2027, 7, 10), date(2027, 7, 10))


def test_a_term_lasts_at_most_eight_months() -> None:
    runs.check_term("2027-autumn", "t", date(2027, 9, 1), date(2028, 5, 1))
    with pytest.raises(InvalidArgument, match="at most 8 months"):
        runs.check_term("2027-autumn", "t", date(2027, 9, 1), date(2028, 5, 2))


def test_a_term_at_the_calendars_end_is_checked_not_crashed() -> None:  # year 10000 was a 500
    runs.check_term("9999-autumn", "t", date(9999, 9, 1), date(9999, 12, 31))


def test_team_permissions_are_known_sorted_and_unique() -> None:
    assert runs.check_permissions(["grade", "edit_content", "grade"]) == ("edit_content", "grade")
    with pytest.raises(InvalidArgument, match="unknown permission 'delete_course'"):
        runs.check_permissions(["grade", "delete_course"])


def test_every_run_has_a_public_class() -> None:
    assert runs.PUBLIC_CLASS_NAME == "公共班级"


def test_a_chapter_release_time_must_carry_a_time_zone() -> None:
    runs.check_release(None)
    runs.check_release(datetime(2027, 3, 1, 8, tzinfo=CST))
    with pytest.raises(InvalidArgument, match="time zone"):
        runs.check_release(datetime(2027, 3, 1, 8))


def test_a_chapter_without_a_release_time_is_released_now() -> None:
    now = datetime(2027, 3, 1, tzinfo=UTC)
    assert runs.is_released(None, now)
    assert runs.is_released(now - timedelta(hours=1), now)
    assert not runs.is_released(now + timedelta(hours=1), now)


# --- review gates: files a course uses, runs that take students, runs that end --------------------


def test_a_course_uses_a_ready_and_approved_file_of_its_own_school() -> None:
    courses.check_usable_file("s1", "s1", True, "")


@pytest.mark.parametrize("why", ["the school has not approved it (unreviewed)",
                                 "the school has not approved it (rejected)", "the asset is transcoding, not ready",
                                 "the asset was deleted"])
def test_a_course_cannot_use_an_unreviewed_rejected_unready_or_deleted_file(why: str) -> None:
    with pytest.raises(FailedPrecondition) as error:
        courses.check_usable_file("s1", "s1", False, why)
    assert error.value.reason == "ASSET_NOT_REFERENCEABLE" and why in error.value.message


def test_a_course_cannot_use_another_schools_file_even_an_approved_one() -> None:
    with pytest.raises(NotFound):
        courses.check_usable_file("s1", "s2", True, "")
    with pytest.raises(NotFound):
        courses.check_usable_file("s1", "", True, "")


@pytest.mark.parametrize("state", [runs.PUBLISHED, runs.RUNNING])
def test_an_approved_run_takes_students(state: str) -> None:
    runs.check_takes_students(state, "students join")


@pytest.mark.parametrize("state", [runs.DRAFT, runs.PENDING_REVIEW, runs.REJECTED, runs.TAKEN_DOWN, runs.ENDED])
def test_a_run_not_approved_or_over_takes_no_students_rosters_or_releases(state: str) -> None:
    with pytest.raises(FailedPrecondition) as error:
        runs.check_takes_students(state, "rosters are imported")
    assert error.value.reason == "RUN_NOT_APPROVED" and state in error.value.message


def test_an_approved_run_ends_the_day_after_its_term_and_only_an_approved_one() -> None:
    end = date(2027, 1, 20)
    assert not runs.has_ended(runs.RUNNING, end, end)
    assert runs.has_ended(runs.RUNNING, end, end + timedelta(days=1))
    assert runs.has_ended(runs.PUBLISHED, end, end + timedelta(days=1))
    for state in (runs.DRAFT, runs.PENDING_REVIEW, runs.REJECTED, runs.TAKEN_DOWN, runs.ENDED):
        assert not runs.has_ended(state, end, end + timedelta(days=1))
