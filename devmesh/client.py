"""A small HTTP client of the gateway, for the demo data, the tests and the benchmarks."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.problem = response.json() if response.headers.get("content-type", "").endswith("json") else {}
        super().__init__(f"{response.request.method} {response.request.url.path}: {self.status} {self.problem}")


class Api:
    def __init__(self, base_url: str, token: str = "", client: httpx.Client | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.http = client or httpx.Client(base_url=base_url, timeout=60)

    def as_user(self, token: str) -> Api:
        return Api(self.base_url, token, self.http)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = self.http.request(method, "/api/v1" + path, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise ApiError(response)
        return response.json() if response.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def login(self, login: str, password: str) -> Api:
        tokens = self.post("/auth/login", {"login": login, "password": password})
        return self.as_user(tokens["access_token"])

    def first_login(self, login: str, one_time_password: str, new_password: str) -> Api:
        """Signs in with an admin-made password and sets a password of one's own."""
        tokens = self.post("/auth/login", {"login": login, "password": one_time_password})
        changed = self.as_user(tokens["access_token"]).post(
            "/auth/password",
            {"old_password": one_time_password, "new_password": new_password, "refresh_token": tokens["refresh_token"]},
        )
        return self.as_user(changed["access_token"])
