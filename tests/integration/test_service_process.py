"""A service process: serves health, and stops gracefully on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from devmesh.mesh import REPO_ROOT, _free_port, _grpc_serving
from tests.support import NatsServer


def test_a_service_serves_health_and_exits_cleanly_on_sigterm(nats_server: NatsServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = _free_port(set(), twin=False)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DATA_DIR": str(tmp_path), "NATS_URL": nats_server.url,
           "REVIEW_GRPC_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "services.review"], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _grpc_serving(port):
            assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the service did not come up"
            time.sleep(0.1)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert time.monotonic() - started < 8
        output = process.stdout.read().decode()  # type: ignore[union-attr]
        assert "review: stopping" in output and "Traceback" not in output
    finally:
        if process.poll() is None:
            process.kill()
