"""A real headless browser (Debian's chromium) for tests that check what a person sees in a report.

Skips with a reason where chromium is not installed (`.ci/run` installs it). The flags keep it off
the network: this machine has none, and chromium would otherwise try to reach its update servers.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless browser: apt-get install chromium")


def _run(page: Path, *extra: str) -> str:
    with tempfile.TemporaryDirectory(prefix="oir-chromium-") as profile:
        run = subprocess.run(
            [_chromium(), *_FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if run.returncode != 0:
        raise AssertionError(f"chromium failed ({run.returncode}): {run.stderr[-2000:]}")
    return run.stdout


def rendered_dom(page: Path) -> str:
    """The page's DOM after the browser loaded and rendered it."""
    return _run(page, "--dump-dom")


def screenshot(page: Path, png: Path) -> Path:
    _run(page, f"--screenshot={png}", "--window-size=1200,1600")
    return png
