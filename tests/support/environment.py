"""The environment a test gives a process of the harness it starts: the developer's own, without any `OIR_*`
setting (a service database URL, a token in the shell) that would reach the process under test, and with the
project first on `PYTHONPATH`, ahead of (never instead of) what the developer put there."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def without_oir_settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("OIR_")}


def with_project_on_path(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (the current one by default) with the project's root first on PYTHONPATH, keeping what was there
    after it: a plugin or profiler hook the developer put on the path still reaches the process."""
    base = dict(os.environ if env is None else env)
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH", "")]))
    return base
