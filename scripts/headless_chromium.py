"""Headless Chromium as the project runs it: where the binary is, and the flags every run shares
(the tests' render and print checks in `tests/`, and `scripts/screenshots.py`).

Background networking, component updates and sync are off, so nothing leaves the machine but
what a page itself asks for. Standard library only: the screenshot script imports it as well as
the tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

BINARIES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def find_chromium() -> str | None:
    """The first Chromium binary on PATH, or None (`scripts/install-chromium.sh` installs one)."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def headless_command(binary: str, profile: Path, *extra: str) -> list[str]:
    """The command line of one headless run with its own profile folder, then `extra`."""
    return [binary, *FLAGS, f"--user-data-dir={profile}", *extra]
