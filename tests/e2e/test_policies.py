"""Policies per school, through the gateway: platform defaults → province → school, versioned, effective from a
term; online credits enforced at publish time under the policy in force, naming the numbers and the version."""

from __future__ import annotations

import pytest

from devmesh.client import Api
from services.course.domain.policy import CHANGSHA_SCHOOL_POLICY
from tests.e2e.conftest import CURRENT_TERM, NEXT_TERM, SchoolWorld, create_account, review_item
from tests.e2e.test_auth import expect_problem
from tests.e2e.test_courses import approved_video, clips, leader  # noqa: F401  (fixtures)
from tests.e2e.test_sharing import new_term


def layer_put(admin: Api, path: str, numbers: dict, term: str = CURRENT_TERM["code"], note: str = "") -> dict:
    return admin.request("PUT", path, json={"effective_from_term": term, "numbers": numbers, "note": note})


def test_a_run_is_published_only_when_its_credits_are_covered_under_the_policy_in_force(
    clips, center: Api, leader: Api, school: SchoolWorld  # noqa: F811  (center: the term calendar)
) -> None:
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "学分课", "category": "专业课"})
    path = f"/courses/{course['id']}"
    updated = leader.request("PATCH", path, json={"online_credits": 0.1, "total_credits": 2, "class_hours": 2})
    assert updated["class_hours"] == 2 and updated["missing_video_minutes"] == 24  # 0.1 × 240 (platform)
    assert updated["credit_policy"] == "platform defaults v1"
    chapter = leader.post(f"{path}/plan/nodes", {"kind": "chapter", "title": "第一章"})["nodes"][0]["id"]
    video = approved_video(clips, leader, school.admin, seconds=6)
    leader.post(f"{path}/plan/nodes", {"kind": "unit", "title": "1.1", "parent_id": chapter,
                                       "resource_id": video["id"]})
    run = leader.post(f"{path}/runs", {"term_code": CURRENT_TERM["code"]})
    publish = {"term_code": CURRENT_TERM["code"]}

    # Too few minutes under the platform defaults (Zhejiang's 240 per credit): refused with the numbers.
    refused = expect_problem(409, lambda: leader.post(f"/runs/{run['id']}/publish", publish), "CREDITS_NOT_COVERED")
    assert "0.1 online credits need 24 minutes of approved video and run 1 has 0.1" in refused["detail"]
    assert "minutes_per_credit 240 (platform defaults v1)" in refused["detail"]
    assert leader.get(f"/runs/{run['id']}")["state"] == "draft"  # nothing changed

    # The school's own policy lowers the minutes but counts class hours: now the class hours fall short.
    school_layer = f"/schools/{school.id}/policy/layer"
    first = layer_put(school.admin, school_layer, {"minutes_per_credit": 0.5, "min_class_hours_per_credit": 30})
    assert (first["version"], first["effective_from_term"]) == (1, CURRENT_TERM["code"])
    refused = expect_problem(409, lambda: leader.post(f"/runs/{run['id']}/publish", publish), "CREDITS_NOT_COVERED")
    assert "0.1 online credits need 3 class hours and run 1 has 2" in refused["detail"]
    assert f"min_class_hours_per_credit 30 (school {school.id} v1, from {CURRENT_TERM['code']})" in refused["detail"]
    assert "minutes of approved video" not in refused["detail"]  # the minutes are covered now

    # A second version for the same term replaces the first; the first is kept.
    layer_put(school.admin, school_layer, {"minutes_per_credit": 0.5, "min_class_hours_per_credit": 16})
    assert leader.post(f"/runs/{run['id']}/publish", publish)["state"] == "pending_review"
    # The reviewer sees what the passed check applied.
    check = review_item(school.admin, "course_run", run["id"])["snapshot"]["credits_check"]
    assert "0.05 minutes of approved video needed, 0.1 approved; 1.6 class hours needed, 2 set" in check
    assert f"school {school.id} v2, from {CURRENT_TERM['code']}" in check
    history = school.admin.get(school_layer)
    assert [v["version"] for v in history["versions"]] == [2, 1] and history["version_in_force"] == 2
    assert history["versions"][1]["numbers"] == {"minutes_per_credit": 0.5, "min_class_hours_per_credit": 30}

    # A version effective from a future term does not apply now, and applies in that term.
    layer_put(school.admin, school_layer, {"minutes_per_credit": 1000}, term=NEXT_TERM["code"])
    now = leader.get(f"/schools/{school.id}/policy")
    assert now["term_code"] == CURRENT_TERM["code"]
    assert now["numbers"]["minutes_per_credit"]["value"] == 0.5 and now["numbers"]["minutes_per_credit"]["version"] == 2
    later = leader.get(f"/schools/{school.id}/policy", params={"term_code": NEXT_TERM["code"]})
    assert (later["numbers"]["minutes_per_credit"]["value"], later["numbers"]["minutes_per_credit"]["version"]) == (
        1000, 3)
    # A layer's version in force replaces its earlier versions whole: what version 3 does not name comes from the
    # layers below (class hours: the platform's "not counted"), not from version 2.
    assert later["numbers"]["min_class_hours_per_credit"] == {
        "value": None, "meaning": later["numbers"]["min_class_hours_per_credit"]["meaning"], "layer": "platform",
        "scope_id": "", "version": 1, "effective_from_term": ""}
    rerun = leader.post(f"{path}/runs", {"term_code": NEXT_TERM["code"]})
    refused = expect_problem(409, lambda: leader.post(f"/runs/{rerun['id']}/publish",
                                                      {"term_code": NEXT_TERM["code"]}), "CREDITS_NOT_COVERED")
    assert "need 100 minutes of approved video and run 2 has 0.1" in refused["detail"]
    assert f"school {school.id} v3, from {NEXT_TERM['code']}" in refused["detail"]
    assert leader.get(path)["missing_video_minutes"] == 0  # today: version 2, 0.05 minutes needed


def test_the_effective_policy_names_the_layer_and_version_of_every_number(
    api: Api, platform: Api, center: Api, school: SchoolWorld
) -> None:
    # Seed 002 (Changsha University of Science & Technology) as one school's policy.
    layer_put(school.admin, f"/schools/{school.id}/policy/layer", CHANGSHA_SCHOOL_POLICY, note="seed 002")
    policy = school.admin.get(f"/schools/{school.id}/policy")
    numbers = {name: shown["value"] for name, shown in policy["numbers"].items()}
    assert numbers == CHANGSHA_SCHOOL_POLICY
    assert {shown["layer"] for shown in policy["numbers"].values()} == {"school"}
    assert [layer["layer"] for layer in policy["layers"]] == ["platform", "school"]
    assert center.get(f"/schools/{school.id}/policy")["numbers"]["minutes_per_credit"]["value"] == 120
    assert platform.get(f"/schools/{school.id}/policy")["numbers"]["max_concurrent_online_courses"]["value"] == 4

    # Henan's standard (seed 004 annex 2) is province 41's policy: a Henan school gets its 5–20 minutes.
    henan = platform.post("/schools", {"code": f"HN{school.code}", "name": f"河南测试大学{school.code}",
                                       "province_code": "41"})
    _, henan_admin = create_account(platform, api, role="school_admin", school_id=henan["id"],
                                    username=f"hn{school.code.lower()}-admin", name="教务处")
    henan_policy = henan_admin.get(f"/schools/{henan['id']}/policy")["numbers"]
    assert henan_policy["video_recommended_max_minutes"]["value"] == 20
    assert (henan_policy["video_recommended_max_minutes"]["layer"],
            henan_policy["video_recommended_max_minutes"]["scope_id"]) == ("province", "41")
    assert henan_policy["minutes_per_credit"]["value"] == 240 and henan_policy["minutes_per_credit"]["layer"] == (
        "platform")
    # A province-33 center reads neither Henan's schools nor Henan's layer.
    expect_problem(403, lambda: center.get(f"/schools/{henan['id']}/policy"))
    expect_problem(403, lambda: center.get("/provinces/41/policy/layer"))
    assert platform.get("/provinces/41/policy/layer")["versions"][0]["numbers"]["video_recommended_max_minutes"] == 20


def test_only_the_center_edits_its_province_and_only_the_school_admin_edits_its_school(
    api: Api, platform: Api, center: Api, school: SchoolWorld, other_school: SchoolWorld, leader: Api  # noqa: F811
) -> None:
    school_layer = f"/schools/{school.id}/policy/layer"
    numbers = {"minutes_per_credit": 120}
    anonymous = Api(leader.base_url)
    expect_problem(401, lambda: layer_put(anonymous, school_layer, numbers))
    expect_problem(401, lambda: anonymous.get(f"/schools/{school.id}/policy"))
    expect_problem(401, lambda: layer_put(anonymous, "/provinces/33/policy/layer", numbers))
    expect_problem(403, lambda: layer_put(leader, school_layer, numbers))            # a teacher
    expect_problem(403, lambda: layer_put(other_school.admin, school_layer, numbers))  # another school's admin
    expect_problem(403, lambda: layer_put(center, school_layer, numbers))            # the center
    expect_problem(403, lambda: layer_put(platform, school_layer, numbers))
    expect_problem(403, lambda: other_school.admin.get(f"/schools/{school.id}/policy"))
    expect_problem(403, lambda: other_school.admin.get(school_layer))
    expect_problem(403, lambda: leader.get(school_layer))  # the layer's history is the admins'
    assert leader.get(f"/schools/{school.id}/policy")["numbers"]["minutes_per_credit"]["value"] == 240
    expect_problem(403, lambda: layer_put(school.admin, "/provinces/33/policy/layer", numbers))
    expect_problem(403, lambda: layer_put(center, "/provinces/41/policy/layer", numbers))  # not its province

    # Bad input: a clear 400, nothing filed.
    for bad, reason in (({"minutes_per_hour": 1}, "UNKNOWN_POLICY_NUMBER"),
                        ({"minutes_per_credit": None}, "BAD_POLICY_NUMBER"),
                        ({"minutes_per_credit": -5}, "BAD_POLICY_NUMBER"),
                        ({"video_recommended_max_minutes": 40}, "INCONSISTENT_POLICY")):
        expect_problem(400, lambda: layer_put(school.admin, school_layer, bad), reason)  # noqa: B023
    expect_problem(400, lambda: layer_put(school.admin, school_layer, numbers, term="1999-autumn"), "UNKNOWN_TERM")
    assert school.admin.get(school_layer) == {"layer": "school", "scope_id": school.id, "version_in_force": 0,
                                              "versions": []}

    # The center's province layer, versioned, for a future term of its calendar: kept, not in force now.
    term = new_term(center)
    province_layer = "/provinces/33/policy/layer"
    before = len(center.get(province_layer)["versions"])
    filed = layer_put(center, province_layer, {"max_concurrent_online_courses": 5}, term=term, note="试行")
    assert filed["version"] == before + 1 and filed["note"] == "试行"
    layer = school.admin.get(province_layer)
    assert layer["versions"][0]["version"] == filed["version"] and len(layer["versions"]) == before + 1
    assert platform.get(province_layer)["versions"][0]["effective_from_term"] == term
    now = school.admin.get(f"/schools/{school.id}/policy")["numbers"]["max_concurrent_online_courses"]
    assert now["value"] is None and now["layer"] == "platform"
    then = school.admin.get(f"/schools/{school.id}/policy", params={"term_code": term})["numbers"]
    assert then["max_concurrent_online_courses"]["value"] == 5
    assert (then["max_concurrent_online_courses"]["layer"], then["max_concurrent_online_courses"]["version"]) == (
        "province", filed["version"])
    expect_problem(400, lambda: school.admin.get(f"/schools/{school.id}/policy", params={"term_code": "1999-spring"}))


@pytest.mark.parametrize("numbers", [{"minutes_per_credit": 0}, {"max_concurrent_online_courses": 2.5}])
def test_a_center_cannot_file_bad_numbers(center: Api, numbers: dict) -> None:
    before = center.get("/provinces/33/policy/layer")["versions"]
    expect_problem(400, lambda: layer_put(center, "/provinces/33/policy/layer", numbers), "BAD_POLICY_NUMBER")
    assert center.get("/provinces/33/policy/layer")["versions"] == before


def test_a_run_whose_class_hours_lack_their_videos_of_a_class_hours_length_is_refused_at_publish(
    clips, center: Api, leader: Api, school: SchoolWorld  # noqa: F811  (center: the term calendar)
) -> None:
    """Seed 002's at least 4 videos of 3–15 minutes per class hour, in small numbers so that the clips stay short:
    2 videos of 3–12 seconds (0.05–0.2 minutes) per class hour."""
    numbers = {"minutes_per_credit": 0.05, "min_class_hours_per_credit": 1, "videos_per_class_hour_min": 2,
               "video_per_class_hour_min_minutes": 0.05, "video_per_class_hour_max_minutes": 0.2}
    layer_put(school.admin, f"/schools/{school.id}/policy/layer", numbers, note="seed 002, in seconds")
    course = leader.post("/courses", {"kind": "spoc_independent", "name": "学时视频课", "category": "专业课"})
    path = f"/courses/{course['id']}"
    leader.request("PATCH", path, json={"online_credits": 1, "total_credits": 2, "class_hours": 1})
    chapter = leader.post(f"{path}/plan/nodes", {"kind": "chapter", "title": "第一章"})["nodes"][0]["id"]
    fitting = approved_video(clips, leader, school.admin, seconds=6)
    too_short = approved_video(clips, leader, school.admin, seconds=2)
    for title, video in (("1.1", fitting), ("1.1（重放）", fitting), ("1.2", too_short)):
        leader.post(f"{path}/plan/nodes", {"kind": "unit", "title": title, "parent_id": chapter,
                                           "resource_id": video["id"]})
    run = leader.post(f"{path}/runs", {"term_code": CURRENT_TERM["code"]})
    publish = {"term_code": CURRENT_TERM["code"]}

    # The minutes are covered (0.13 of 0.05) and so are the class hours (1 of 1), but of the two videos a class
    # hour needs, only one has a class hour's length: the 2-second one is too short, a video used twice counts once.
    refused = expect_problem(409, lambda: leader.post(f"/runs/{run['id']}/publish", publish), "CREDITS_NOT_COVERED")
    applied = f"school {school.id} v1, from {CURRENT_TERM['code']}"
    assert (f"1 class hours need 2 approved videos of 0.05-0.2 minutes and run 1 has 1 "
            f"(videos_per_class_hour_min 2 ({applied})") in refused["detail"]
    assert "minutes of approved video and" not in refused["detail"] and "need 1 class hours" not in refused["detail"]
    assert leader.get(f"/runs/{run['id']}")["state"] == "draft"

    # A second video of a class hour's length in the run's plan: published.
    another = approved_video(clips, leader, school.admin, seconds=10)
    leader.post(f"{path}/plan/nodes?run_id={run['id']}", {"kind": "unit", "title": "1.3", "parent_id": leader.get(
        f"{path}/plan", params={"run_id": run["id"]})["nodes"][0]["id"], "resource_id": another["id"]})
    assert leader.post(f"/runs/{run['id']}/publish", publish)["state"] == "pending_review"
