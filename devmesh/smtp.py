"""The embedded run's mail server: accepts every mail on localhost and keeps each one as an .eml
file in DATA_DIR/mail, where a person (any mail program opens .eml) and the tests read them.

    python -m devmesh.smtp --port 11025 --dir data/mail
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import signal
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class KeepInFolder:
    """aiosmtpd handler: each message becomes one file, written whole before it appears."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        now = time.time_ns()  # names sort in arrival order, to the nanosecond
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9))
        name = f"{stamp}.{now % 10**9:09d}-{uuid.uuid4().hex[:6]}.eml"
        partial = self.folder / f".{name}.part"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / name)
        return "250 Message accepted for delivery"


def read_mails(folder: Path) -> list[email.message.EmailMessage]:
    """Every kept mail, oldest first (for tests and scripts)."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(folder.glob("*.eml"))
    ]


async def serve(port: int, folder: Path) -> None:
    controller = Controller(KeepInFolder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.dir))


if __name__ == "__main__":
    main()
