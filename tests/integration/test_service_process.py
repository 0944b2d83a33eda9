"""A service process: serves health, and stops gracefully on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from devmesh.mesh import REPO_ROOT, _free_port, _grpc_serving
from tests.support import NatsServer


def test_a_service_serves_health_and_exits_cleanly_on_sigterm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Its own NATS: the session's server holds other tests' events, which this fresh service would consume and log.
    # Its output goes to a file, never an unread pipe: a process blocked writing a full pipe cannot stop (CI once
    # saw it hang past 15 s that way).
    nats = NatsServer(tmp_path / "nats")
    nats.start()
    port = _free_port(set(), twin=False)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DATA_DIR": str(tmp_path), "NATS_URL": nats.url,
           "REVIEW_GRPC_PORT": str(port)}
    log = tmp_path / "review.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "services.review"], cwd=REPO_ROOT, env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _grpc_serving(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the service did not come up"
            time.sleep(0.1)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(15) == 0, log.read_text()[-5000:]
        except subprocess.TimeoutExpired:
            pytest.fail(f"the service did not stop within 15 s: {log.read_text()[-5000:]}")
        assert time.monotonic() - started < 8
        text = log.read_text()
        assert "review: stopping" in text and "Traceback" not in text, text[-5000:]
    finally:
        if process.poll() is None:
            process.kill()
        nats.stop()
