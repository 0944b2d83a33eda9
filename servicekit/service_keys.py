"""Service credentials: a key a calling service presents for the few reads another service grants it, where no
user is behind the call (a media worker reading a school's policy). Each key is a secret of its own
(`<SERVICE>_SERVICE_KEY` or `<SERVICE>_SERVICE_KEY_FILE`), given only to the service that presents it and to
the services that check it; in development it is generated once into the data folder, which every process of
the embedded run shares."""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from servicekit.config import MeshSettings

SERVICE_HEADER = "x-service"
SERVICE_KEY_HEADER = "x-service-key"
SERVICE_ROLE = "service"  # the role a service caller gets: no end-user rule ever grants it anything
MIN_KEY_LENGTH = 32


def _variable(service: str) -> str:
    return f"{service.upper().replace('-', '_')}_SERVICE_KEY"


def service_key(service: str, mesh: MeshSettings | None = None) -> str:
    """The key `service` presents (and its callees check): from the environment, else (development only)
    generated into DATA_DIR/service-keys/<service>.key at the first start and reused."""
    mesh = mesh or MeshSettings()
    name = _variable(service)
    key = os.environ.get(name, "").strip()
    if not key and os.environ.get(name + "_FILE"):
        key = Path(os.environ[name + "_FILE"]).read_text(encoding="utf-8").strip()
    if not key:
        if not mesh.is_development:
            raise RuntimeError(f"{name} (or {name}_FILE) must be set outside development")
        key = _development_key(mesh.data_dir / "service-keys" / f"{service}.key")
    if len(key) < MIN_KEY_LENGTH:
        raise RuntimeError(f"{name} must have at least {MIN_KEY_LENGTH} characters")
    return key


def _development_key(path: Path) -> str:
    """Created once (exclusively, so two processes starting together agree on one key), then read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
    for _ in range(50):  # the creating process may still be writing it
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
        time.sleep(0.02)
    raise RuntimeError(f"the development service key {path} is empty")


def service_metadata(service: str, key: str) -> tuple[tuple[str, str], ...]:
    return ((SERVICE_HEADER, service), (SERVICE_KEY_HEADER, key))


class ServiceGrants:
    """Which services may call which methods with their key, and the keys to check them by."""

    def __init__(self, keys: Mapping[str, str], methods: Mapping[str, Iterable[str]]) -> None:
        self.keys = dict(keys)
        self.methods = {method: frozenset(services) for method, services in methods.items()}

    def authenticate(self, method: str, service: str, key: str) -> bool:
        expected = self.keys.get(service)
        if expected is None or service not in self.methods.get(method, ()):
            return False
        return hmac.compare_digest(expected.encode(), key.encode())
