"""Reading the policy in force for a school (three layers, several versions each) through the gateway, and a
course's credit figures that depend on it; beside a plain GET /me in the same run, 50 concurrent clients.

    python -m bench.policies
"""

from __future__ import annotations

import asyncio
import tempfile

import httpx

from bench.__main__ import bench_mesh, make_center, new_user, setup
from bench.load import run
from devmesh.client import Api
from services.course.domain.policy import CHANGSHA_SCHOOL_POLICY

TERMS = [("2026-autumn", "2026-09-01", "2027-01-20"), ("2027-spring", "2027-02-20", "2027-07-10"),
         ("2027-autumn", "2027-09-01", "2028-01-20")]


async def measure(gateway_url: str, token: str, school_id: str, course_id: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
    async with httpx.AsyncClient(base_url=gateway_url, limits=limits, timeout=60, headers=headers) as http:
        async def get(path: str, **params: str) -> None:
            response = await http.get(f"/api/v1{path}", params=params)
            assert response.status_code == 200, response.text

        policy = await run("GET /schools/{id}/policy (3 layers, 7 versions)",
                           lambda: get(f"/schools/{school_id}/policy"), total=600)
        in_term = await run("GET /schools/{id}/policy?term_code=2027-autumn",
                            lambda: get(f"/schools/{school_id}/policy", term_code="2027-autumn"), total=600)
        course = await run("GET /courses/{id} (credit figures by the policy)",
                           lambda: get(f"/courses/{course_id}"), total=600)
        me = await run("GET /me (baseline)", lambda: get("/me"), total=600)
    print("\n== the policy in force, through the gateway, 50 concurrent clients")
    for figures in (policy, in_term, course, me):
        print(figures.line())
    print(f"policy read / GET /me: p50 latency {policy.p50_ms / me.p50_ms:.2f}x, "
          f"throughput {policy.rps / me.rps:.2f}x")


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        mesh = bench_mesh(data)
        try:
            api, school, admin = setup(mesh)
            center = make_center(api)
            for code, starts_on, ends_on in TERMS:
                center.post("/terms", {"code": code, "name": code, "starts_on": starts_on, "ends_on": ends_on})
            for code, *_ in TERMS:  # a province version and a school version for each term, one more today
                center.request("PUT", "/provinces/33/policy/layer",
                               json={"effective_from_term": code, "numbers": {"video_recommended_max_minutes": 20}})
                admin.request("PUT", f"/schools/{school['id']}/policy/layer",
                              json={"effective_from_term": code, "numbers": CHANGSHA_SCHOOL_POLICY})
            admin.request("PUT", f"/schools/{school['id']}/policy/layer",
                          json={"effective_from_term": TERMS[0][0], "numbers": {"minutes_per_credit": 150}})
            teacher = new_user(api, admin, school, "teacher", "BP1", "基准负责人")
            course = teacher.post("/courses", {"kind": "spoc_independent", "name": "学分课", "category": "专业课"})
            teacher.request("PATCH", f"/courses/{course['id']}", json={"online_credits": 2, "total_credits": 3})
            token = teacher.token
            assert Api(mesh.gateway_url, token).get(f"/schools/{school['id']}/policy")["numbers"][
                "minutes_per_credit"]["value"] == 150
            asyncio.run(measure(mesh.gateway_url, token, school["id"], course["id"]))
        finally:
            mesh.stop()


if __name__ == "__main__":
    main()
