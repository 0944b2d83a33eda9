"""Configuration from environment variables, with safe defaults for the embedded run."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Defaults stay clear of the standard ports of what the embedded run starts
# (NATS 4222, S3 8333/9000), so `make run` works beside them.
DEFAULT_PORTS = {
    "identity": 50161,
    "course": 50162,
    "media": 50163,
    "sharing": 50164,
    "review": 50165,
    "learning": 50166,
}


class MeshSettings(BaseSettings):
    """Settings every process of the mesh shares (no prefix)."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: str = "development"
    data_dir: Path = Path("data")
    nats_url: str = "nats://127.0.0.1:14222"
    host_province: str = Field("33", description="GB/T 2260 code of the province running this deployment")
    token_issuer: str = "open-course-platform"
    identity_addr: str = f"127.0.0.1:{DEFAULT_PORTS['identity']}"
    review_addr: str = f"127.0.0.1:{DEFAULT_PORTS['review']}"
    media_addr: str = f"127.0.0.1:{DEFAULT_PORTS['media']}"
    course_addr: str = f"127.0.0.1:{DEFAULT_PORTS['course']}"
    sharing_addr: str = f"127.0.0.1:{DEFAULT_PORTS['sharing']}"
    learning_addr: str = f"127.0.0.1:{DEFAULT_PORTS['learning']}"

    @property
    def is_development(self) -> bool:
        return self.environment == "development"


class ServiceSettings:
    """The settings of one service: `<NAME>_GRPC_PORT`, `<NAME>_DATABASE_URL`, ..."""

    def __init__(self, name: str, mesh: MeshSettings | None = None) -> None:
        self.name = name
        self.mesh = mesh or MeshSettings()
        prefix = name.upper() + "_"
        env = os.environ
        self.grpc_host = env.get(prefix + "GRPC_HOST", "127.0.0.1")
        self.grpc_port = int(env.get(prefix + "GRPC_PORT", DEFAULT_PORTS[name]))
        self.database_url = env.get(prefix + "DATABASE_URL") or (
            f"sqlite+aiosqlite:///{(self.mesh.data_dir / f'{name}.db').resolve()}"
        )
        self.database_schema = env.get(prefix + "DATABASE_SCHEMA") or None
        if not self.mesh.is_development and self.database_url.startswith("sqlite"):
            raise RuntimeError(f"{prefix}DATABASE_URL must name a server database outside development")

    def env(self, key: str, default: str) -> str:
        return os.environ.get(f"{self.name.upper()}_{key}", default)
