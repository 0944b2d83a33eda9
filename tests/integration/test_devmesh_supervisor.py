"""The embedded launcher restarts what crashes, as Kubernetes does: with a growing delay, logged."""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path

from devmesh.mesh import Mesh, Ports
from tests.support import wait_until


def test_a_process_that_keeps_crashing_is_restarted_with_a_doubling_delay(tmp_path: Path) -> None:
    mesh = Mesh(data_dir=tmp_path, ports=Ports.free())
    mesh.RESTART_BACKOFF_FIRST = 0.1  # type: ignore[misc]
    mesh.RESTART_BACKOFF_MAX = 0.4  # type: ignore[misc]
    mesh._spawn("smtp", [sys.executable, "-c", "import sys; sys.exit(3)"])
    mesh._supervisor = threading.Thread(target=mesh._watch, daemon=True)
    mesh._supervisor.start()
    try:
        wait_until(lambda: mesh.restarts.get("smtp", 0) >= 4, timeout=15)
    finally:
        mesh.stop()
    log = mesh.log_tail("smtp", 100)
    delays = [float(d) for d in re.findall(r"devmesh: smtp exited with 3; restarting in ([\d.]+)s", log)]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.4]
    assert "devmesh: smtp restarted (restart 1)" in log


def test_a_process_stopped_on_purpose_stays_stopped(tmp_path: Path) -> None:
    mesh = Mesh(data_dir=tmp_path, ports=Ports.free())
    mesh.RESTART_BACKOFF_FIRST = 0.1  # type: ignore[misc]
    mesh._spawn("smtp", [sys.executable, "-c", "import time; time.sleep(60)"])
    mesh._supervisor = threading.Thread(target=mesh._watch, daemon=True)
    mesh._supervisor.start()
    try:
        mesh.stop_process("smtp")
        time.sleep(1.0)  # five times the first restart delay
        assert "smtp" not in mesh.processes and not mesh.restarts
    finally:
        mesh.stop()
