"""A Chromium for the console's browser tests, found or installed by itself (make test needs no manual step):
a Chromium already on the machine; else, as root with apt (CI here), Debian's chromium and a CJK font; else
Playwright's own download (a machine with internet)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# The real binaries, not the /usr/bin wrapper scripts (the Debian wrapper adds flags Playwright does not expect).
CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/lib/chromium-browser/chromium-browser", "/opt/google/chrome/chrome")
APT_PACKAGES = ("chromium", "fonts-noto-cjk")


def _found() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def _apt_install(packages: tuple[str, ...]) -> bool:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", "-q", *packages]
    if subprocess.run(command, env=env, capture_output=True, check=False).returncode == 0:
        return True
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)  # stale package lists
    return subprocess.run(command, env=env, capture_output=True, check=False).returncode == 0


def ensure_chromium() -> str | None:
    """The Chromium binary to launch, or None for Playwright's own (installed here if it must be)."""
    found = _found()
    if found:
        if not _has_cjk_font():
            _apt_install(("fonts-noto-cjk",))  # without it Chinese renders as boxes; the tests still run
        return found
    if _apt_install(APT_PACKAGES):
        found = _found()
        if found:
            return found
    subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=True)
    return None
