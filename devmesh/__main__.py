"""`make run`: starts the whole mesh on the embedded default, loads demo data, waits for Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from devmesh import demo
from devmesh.client import Api
from devmesh.mesh import Mesh


def main() -> None:
    data_dir = Path(os.environ.get("DATA_DIR", "data")).resolve()
    mesh = Mesh(
        data_dir=data_dir,
        extra_env={
            "IDENTITY_BOOTSTRAP_ADMIN_USERNAME": demo.PLATFORM_ADMIN,
            "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": demo.DEMO_PASSWORD,
            "HOST_PROVINCE": demo.HOST_PROVINCE,
        },
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"Starting the mesh (data in {data_dir}, logs in {data_dir / 'logs'}) ...", flush=True)
    try:
        mesh.start()
        demo.load(Api(mesh.gateway_url), data_dir)
        print(demo.describe(mesh.gateway_url), flush=True)
        print(f"Mail (password resets, new schools' admin accounts): SMTP on 127.0.0.1:{mesh.ports.smtp} "
              f"(SMTP_PORT), each mail kept as an .eml file in {mesh.mail_dir}", flush=True)
        stop.wait()
    except KeyboardInterrupt:
        pass
    except Exception as error:
        print(f"make run failed: {error}", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        mesh.stop()
        sys.exit(1)
    # A second Ctrl-C (or the terminal's signal reaching us twice) must not cut the stop short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("\nStopping ...", flush=True)
    mesh.stop()
    print("Stopped. Data kept in", data_dir)


if __name__ == "__main__":
    if sys.argv[1:2] in (["backup"], ["restore"]):  # `make backup`, `make restore` (devmesh.backup)
        from devmesh.backup import cli

        sys.exit(cli(sys.argv[1:]))
    main()
