"""Consumer run set-up: the pact folder is cleared once per run, by the controlling process only.

`Pact.write_file` merges into an existing file, so interactions a test no longer records would
linger. Clearing in a session fixture would run once per xdist worker and delete other workers'
files; `pytest_configure` on the controller (no `workerinput`) runs exactly once.
"""

from __future__ import annotations

import os

import pytest

from contracts.checks.pact import PACT_DIR

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    PACT_DIR.mkdir(parents=True, exist_ok=True)
    for stale in PACT_DIR.glob("*.json"):
        stale.unlink()
