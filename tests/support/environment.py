"""The environment a test gives a process of the harness it starts: the developer's own, without any `OIR_*`
setting (a service database URL, a token in the shell) that would reach the process under test, and with the
project first on `PYTHONPATH`, ahead of (never instead of) what the developer put there."""

from __future__ import annotations

import os

from bench.processes import ROOT, with_project_on_path

__all__ = ["ROOT", "with_project_on_path", "without_oir_settings"]


def without_oir_settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("OIR_")}
