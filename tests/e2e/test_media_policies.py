"""The seeds' video checks in a real upload's spec report, through the gateway, picked by the school's policy in
force (platform → province → school), never by the province code: the SD source's own rung, simplified subtitles
(warned by default, refused under Changsha's school policy, with the line), Changsha's SNR and intro plus outro,
Henan's (province 41's layer) exact 25 fps and constant audio rate; each report names the policy versions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from contracts.course.v1 import course_pb2, course_pb2_grpc
from devmesh.client import Api
from devmesh.mesh import Mesh
from servicekit.clients import bearer
from servicekit.service_keys import service_metadata
from services.course.domain.policy import CHANGSHA_SCHOOL_POLICY
from tests import media_clips
from tests.e2e.conftest import CURRENT_TERM, SchoolWorld, create_account, new_code
from tests.e2e.media_support import upload_file, wait_for_state
from tests.e2e.test_auth import expect_problem

TRADITIONAL = "1\n00:00:00,000 --> 00:00:01,500\n同学们好\n\n2\n00:00:02,000 --> 00:00:03,500\n這裡講第一章\n"


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("policy-clips")


def school_in(api: Api, platform: Api, province_code: str) -> tuple[str, Api, Api]:
    """A new school of that province: its id, its admin and a teacher."""
    code = new_code()
    school = platform.post("/schools", {"code": code, "name": f"测试大学{code}", "province_code": province_code})
    _, admin = create_account(platform, api, role="school_admin", school_id=school["id"],
                              username=f"{code.lower()}-admin", name="教务处")
    teacher = create_account(admin, api, role="teacher", school_id=school["id"], number="PT1", name="规范老师")[1]
    return school["id"], admin, teacher


def teacher_in(api: Api, platform: Api, province_code: str) -> Api:
    return school_in(api, platform, province_code)[2]


def ready(teacher: Api, path: Path) -> dict:
    asset = upload_file(teacher, path)
    done = wait_for_state(teacher, asset["id"], "ready", "failed")
    assert done["state"] == "ready", done["failure_reason"]
    return done


def lines(asset: dict) -> dict[str, dict]:
    return {rule["rule"]: rule for rule in asset["spec_report"]}


def attach(teacher: Api, asset: dict, language: str, text: str) -> dict:
    return teacher.post(f"/media/assets/{asset['id']}/subtitles", data={"language": language},
                        files={"file": ("subs.srt", text.encode())})


def test_a_720x576_source_keeps_a_576p_rendition_and_traditional_subtitles_are_flagged_with_their_line(
    clips: Path, api: Api, school: SchoolWorld
) -> None:
    teacher = create_account(school.admin, api, role="teacher", school_id=school.id, number="PT0", name="标清老师")[1]
    asset = ready(teacher, media_clips.sd_576(clips))
    assert asset["remuxed"] is False and asset["renditions"] == ["360p", "576p"]
    assert lines(asset)["resolution"] == {"rule": "resolution", "status": "fail", "measured": "720×576",
                                          "limit": "1280×720 or 1920×1080"}  # the default spec has no SD grade
    assert asset["spec_profile"] == "default" and asset["spec_report"][0] == {
        "rule": "policy", "status": "pass", "measured": "platform defaults v1",
        "limit": "video spec default (platform defaults v1)"}

    with_zh = attach(teacher, asset, "zh", TRADITIONAL)  # Zhejiang's standard states no rule: a warning
    line = lines(with_zh)["subtitles_simplified_zh"]
    assert line["status"] == "warn" and line["measured"] == (
        "traditional characters on 1 line(s): line 7: 這→这, 裡→里, 講→讲")
    fixed = attach(teacher, asset, "zh", TRADITIONAL.replace("這裡講", "这里讲"))
    assert lines(fixed)["subtitles_simplified_zh"]["status"] == "pass"
    assert sum(rule["rule"] == "subtitles_simplified_zh" for rule in fixed["spec_report"]) == 1
    # the report seen by the school's admin says the same
    assert lines(school.admin.get(f"/media/assets/{asset['id']}"))["subtitles_simplified_zh"]["status"] == "pass"


def test_a_school_that_files_changshas_policy_gets_changshas_checks_wherever_it_is(
    clips: Path, api: Api, platform: Api, center: Api  # center: the province-33 term calendar
) -> None:
    school_id, admin, teacher = school_in(api, platform, "33")  # a Zhejiang school following seed 002
    filed = admin.request("PUT", f"/schools/{school_id}/policy/layer", json={
        "effective_from_term": CURRENT_TERM["code"], "numbers": CHANGSHA_SCHOOL_POLICY, "note": "seed 002"})
    assert filed["numbers"]["video_spec"] == "changsha" and filed["version"] == 1
    in_force = teacher.get(f"/schools/{school_id}/policy")["numbers"]["video_spec"]
    assert (in_force["value"], in_force["layer"], in_force["version"]) == ("changsha", "school", 1)
    applied = f"school {school_id} v1, from {CURRENT_TERM['code']}"

    asset = ready(teacher, media_clips.intro_and_outro(clips, black=3, moving=4, still=2))
    assert asset["spec_profile"] == "changsha"
    assert asset["spec_report"][0] == {"rule": "policy", "status": "pass",
                                       "measured": f"platform defaults v1 + {applied}",
                                       "limit": f"video spec changsha ({applied})"}
    report = lines(asset)
    # The school's policy sets the durations (5–15 minutes, at most 20), not the profile's acceptance 25.
    assert report["duration"]["limit"] == "5–15 min recommended, ≤ 20 min"
    assert report["intro_outro"]["measured"] == "5 s still or black (intro 3 s, outro 2 s)"
    assert report["intro_outro"]["status"] == "pass" and report["intro_outro"]["limit"] == "≤ 10 s together"
    assert report["audio_snr"]["status"] == "pass" and report["audio_snr"]["limit"] == "≥ 48 dB"
    assert "audio_bitrate_constant" not in report  # Changsha does not ask it

    problem = expect_problem(400, lambda: attach(teacher, asset, "zh", TRADITIONAL), "TRADITIONAL_CHARACTERS")
    assert "line 7: 這→这" in problem["detail"] and "长沙" in problem["detail"] and applied in problem["detail"]
    assert teacher.get(f"/media/assets/{asset['id']}")["subtitles"] == []  # nothing attached

    sd = ready(teacher, media_clips.sd_576(clips, vcodec="libx264", fmt="flv"))
    report = lines(sd)
    assert report["resolution"]["status"] == "pass" and report["resolution"]["measured"] == "720×576 (SD)"
    assert report["container"]["status"] == "pass" and report["video_bitrate"]["limit"] == "≥ 512 kbps (SD)"
    assert sd["remuxed"] is True and sd["renditions"] == ["576p"]


def test_a_school_in_province_43_without_changshas_policy_gets_the_default_checks(
    clips: Path, api: Api, platform: Api
) -> None:
    school_id, _, teacher = school_in(api, platform, "43")  # Hunan, but not Changsha University of S&T
    asset = ready(teacher, media_clips.intro_and_outro(clips, black=3, moving=4, still=2))
    assert asset["spec_profile"] == "default"
    assert asset["spec_report"][0]["measured"] == "platform defaults v1"
    report = lines(asset)
    assert "audio_snr" not in report and "intro_outro" not in report and "audio_bitrate_constant" not in report
    assert report["duration"]["limit"] == "5–15 min recommended, ≤ 20 min"
    with_zh = attach(teacher, asset, "zh", TRADITIONAL)  # a warning, not a refusal
    assert lines(with_zh)["subtitles_simplified_zh"]["status"] == "warn"
    sd = ready(teacher, media_clips.sd_576(clips, vcodec="libx264", fmt="flv"))
    assert lines(sd)["resolution"]["status"] == "fail" and lines(sd)["container"]["status"] == "fail"


def test_a_henan_school_gets_province_41s_spec_exactly_25_fps_and_a_constant_audio_rate(
    clips: Path, api: Api, platform: Api
) -> None:
    teacher = teacher_in(api, platform, "41")
    asset = ready(teacher, media_clips.make_clip(clips / "henan-30fps.mp4", seconds=5, rate=30))
    assert asset["spec_profile"] == "henan"
    # Province 41's layer names Henan's spec (its second version: the migration that made the spec a policy
    # setting) and its 5–20 minutes.
    assert asset["spec_report"][0] == {"rule": "policy", "status": "pass",
                                       "measured": "platform defaults v1 + province 41 v2",
                                       "limit": "video spec henan (province 41 v2)"}
    report = lines(asset)
    assert report["duration"]["limit"] == "5–20 min recommended, ≤ 20 min"
    assert report["frame_rate"] == {"rule": "frame_rate", "status": "fail", "measured": "30 fps", "limit": "= 25 fps"}
    assert report["audio_bitrate_constant"]["status"] == "pass", report["audio_bitrate_constant"]
    assert "audio_snr" not in report and "intro_outro" not in report
    assert asset["remuxed"] is False  # re-encoded to the 25 fps Henan asks for
    master = teacher.http.get(f"/api/v1/media/assets/{asset['id']}/hls/master.m3u8",
                              headers={"Authorization": f"Bearer {teacher.token}"})
    assert master.status_code == 200 and "FRAME-RATE=25.000" in master.text


def test_a_noisy_sound_fails_changshas_snr_and_a_switching_audio_rate_fails_henans_constant_rate(
    clips: Path, api: Api, platform: Api, center: Api  # center: the province-33 term calendar
) -> None:
    school_id, admin, changsha_teacher = school_in(api, platform, "33")
    admin.request("PUT", f"/schools/{school_id}/policy/layer", json={
        "effective_from_term": CURRENT_TERM["code"], "numbers": CHANGSHA_SCHOOL_POLICY, "note": "seed 002"})
    # A noise floor about 33 dB below the speech: the file is usable (ready), its report says the sound fails.
    noisy = ready(changsha_teacher, media_clips.speech_like(clips, noise=0.02))
    snr = lines(noisy)["audio_snr"]
    assert snr["status"] == "fail" and snr["limit"] == "≥ 48 dB", snr
    assert 28 <= float(snr["measured"].split()[0]) <= 38, snr
    quiet = ready(changsha_teacher, media_clips.speech_like(clips, noise=0.001))
    assert lines(quiet)["audio_snr"]["status"] == "pass"

    # 3 s at 64 kbps then 3 s at 192 kbps: Henan asks for a constant rate.
    switching = ready(teacher_in(api, platform, "41"), media_clips.switching_audio_rate(clips))
    assert switching["spec_profile"] == "henan"
    rate = lines(switching)["audio_bitrate_constant"]
    assert rate["status"] == "fail" and rate["measured"].startswith("6"), rate  # 6x kbps at the low end
    assert "audio_snr" not in lines(switching)


async def _policy_read(mesh: Mesh, school_id: str, metadata: tuple, method: str = "GetEffectivePolicy"):  # type: ignore[no-untyped-def]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{mesh.ports.course}") as channel:
        stub = course_pb2_grpc.CourseServiceStub(channel)
        if method == "GetEffectivePolicy":
            return await stub.GetEffectivePolicy(course_pb2.GetEffectivePolicyRequest(school_id=school_id),
                                                 metadata=metadata, timeout=10)
        return await stub.PutPolicyLayer(course_pb2.PutPolicyLayerRequest(
            layer="school", scope_id=school_id, effective_from_term=CURRENT_TERM["code"],
            numbers=[course_pb2.PolicyNumber(name="video_spec", text="changsha")]), metadata=metadata, timeout=10)


def test_the_media_service_reads_any_schools_policy_with_its_own_key_and_nothing_else(
    mesh: Mesh, api: Api, platform: Api, school: SchoolWorld
) -> None:
    """The worker's read has no user behind it: course accepts the media service's key (generated into the data
    folder in development, a Secret in production) for GetEffectivePolicy only; end users stay scoped."""
    key = (mesh.data_dir / "service-keys" / "media.key").read_text().strip()
    henan_id = school_in(api, platform, "41")[0]
    reply = asyncio.run(_policy_read(mesh, henan_id, service_metadata("media", key)))
    assert {n.name: n.text for n in reply.numbers}["video_spec"] == "henan" and reply.province_code == "41"

    def refused(code: grpc.StatusCode, metadata: tuple, method: str = "GetEffectivePolicy") -> None:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            asyncio.run(_policy_read(mesh, henan_id, metadata, method))
        assert error.value.code() == code, error.value.details()

    refused(grpc.StatusCode.UNAUTHENTICATED, service_metadata("media", "0" * 64))     # a wrong key
    refused(grpc.StatusCode.UNAUTHENTICATED, service_metadata("sharing", key))        # another service's name
    refused(grpc.StatusCode.UNAUTHENTICATED, service_metadata("media", key), "PutPolicyLayer")  # not granted
    refused(grpc.StatusCode.UNAUTHENTICATED, ())                                      # nobody
    # An end user of another school is still refused the Henan school's policy.
    refused(grpc.StatusCode.PERMISSION_DENIED, bearer(school.admin.token))
    expect_problem(403, lambda: school.admin.get(f"/schools/{henan_id}/policy"))
