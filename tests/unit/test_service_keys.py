"""Service keys: a service's own credential, accepted only for the methods granted to that service."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicekit.config import MeshSettings
from servicekit.service_keys import ServiceGrants, service_key

METHOD = "/course.v1.CourseService/GetEffectivePolicy"
KEY = "k" * 64


def test_a_key_opens_only_the_methods_granted_to_its_service() -> None:
    grants = ServiceGrants({"media": KEY}, {METHOD: ("media",)})
    assert grants.authenticate(METHOD, "media", KEY)
    assert not grants.authenticate(METHOD, "media", KEY[:-1] + "x")  # a wrong key
    assert not grants.authenticate("/course.v1.CourseService/PutPolicyLayer", "media", KEY)  # not granted
    assert not grants.authenticate(METHOD, "sharing", KEY)  # another service, even with media's key
    assert not grants.authenticate(METHOD, "media", "")


def test_outside_development_a_missing_or_short_key_stops_the_service(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MEDIA_SERVICE_KEY", raising=False)
    monkeypatch.delenv("MEDIA_SERVICE_KEY_FILE", raising=False)
    production = MeshSettings(environment="production", data_dir=tmp_path)
    with pytest.raises(RuntimeError, match="MEDIA_SERVICE_KEY"):
        service_key("media", production)
    monkeypatch.setenv("MEDIA_SERVICE_KEY", "short")
    with pytest.raises(RuntimeError, match="at least 32"):
        service_key("media", production)
    (tmp_path / "key").write_text(KEY + "\n")
    monkeypatch.delenv("MEDIA_SERVICE_KEY")
    monkeypatch.setenv("MEDIA_SERVICE_KEY_FILE", str(tmp_path / "key"))
    assert service_key("media", production) == KEY


def test_in_development_the_key_is_generated_once_into_the_data_folder(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MEDIA_SERVICE_KEY", raising=False)
    monkeypatch.delenv("MEDIA_SERVICE_KEY_FILE", raising=False)
    development = MeshSettings(environment="development", data_dir=tmp_path)
    first = service_key("media", development)
    assert len(first) == 64 and service_key("media", development) == first  # the course service reads the same
    assert (tmp_path / "service-keys" / "media.key").stat().st_mode & 0o777 == 0o600
