"""The gateway's own behaviour: health, documents, problems, limits, pagination; and the services' gRPC face."""

from __future__ import annotations

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from contracts.identity.v1 import identity_pb2, identity_pb2_grpc
from devmesh.client import Api
from devmesh.mesh import Mesh
from tests.e2e.test_auth import expect_problem


def test_health_openapi_and_docs(mesh: Mesh) -> None:
    with httpx.Client(base_url=mesh.gateway_url) as http:
        health = http.get("/healthz")
        assert health.status_code == 200
        assert health.json()["services"] == {"identity": "SERVING", "review": "SERVING", "media": "SERVING",
                                              "course": "SERVING", "sharing": "SERVING",
                                              "learning": "SERVING"}
        paths = http.get("/openapi.json").json()["paths"]
        assert all(path.startswith(("/api/v1/", "/healthz", "/.well-known")) for path in paths)
        for route in ("/api/v1/auth/login", "/api/v1/schools/{school_id}/imports", "/api/v1/reviews/{item_id}/decision",
                      "/api/v1/school-applications", "/api/v1/registrations/teachers"):
            assert route in paths
        assert "swagger" in http.get("/docs").text.lower()
        jwks = http.get("/.well-known/jwks.json").json()
        assert jwks["keys"][0]["kty"] == "OKP"


def test_errors_are_problem_documents(mesh: Mesh) -> None:
    with httpx.Client(base_url=mesh.gateway_url) as http:
        response = http.post("/api/v1/auth/login", json={"login": "x"})
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "password"
        unauthorised = http.get("/api/v1/me")
        assert unauthorised.headers["www-authenticate"] == "Bearer"
        assert unauthorised.headers["content-type"] == "application/problem+json"
        assert http.get("/api/v1/nowhere").status_code == 404


def test_bodies_over_the_limit_are_refused_before_reaching_a_service(mesh: Mesh) -> None:
    with httpx.Client(base_url=mesh.gateway_url) as http:
        big = b'{"login": "' + b"x" * (2 * 1024 * 1024) + b'", "password": "y"}'
        response = http.post("/api/v1/auth/login", content=big, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["status"] == 413

        def chunks():  # type: ignore[no-untyped-def]
            for _ in range(40):  # no content-length: counted as it streams
                yield b"x" * 65536

        streamed = http.post("/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413


def test_every_list_is_paginated(api: Api, platform: Api) -> None:
    for i in range(3):
        platform.post("/schools", {"code": f"PG{i}X{id(api) % 100000}", "name": f"分页大学{i}-{id(api)}"})
    seen, token = [], ""
    while True:
        page = api.get("/schools", params={"page_size": 2, "page_token": token})
        assert len(page["items"]) <= 2
        seen += [s["id"] for s in page["items"]]
        token = page["next_page_token"]
        if not token:
            break
    assert len(seen) == len(set(seen)) == page["total"] >= 3
    expect_problem(400, lambda: api.get("/schools", params={"page_size": 1000}))


def test_services_refuse_calls_without_a_token_and_serve_health_and_reflection(mesh: Mesh) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{mesh.ports.identity}") as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        try:
            stub.GetMe(identity_pb2.GetMeRequest(), timeout=5)
            raise AssertionError("GetMe without a token succeeded")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        try:
            stub.ListUsers(identity_pb2.ListUsersRequest(), metadata=(("authorization", "Bearer nonsense"),), timeout=5)
            raise AssertionError("ListUsers with a bad token succeeded")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name for reply in replies for s in reply.list_services_response.service}
        assert "identity.v1.IdentityService" in names
