"""The environment a test gives a process of the harness it starts: the developer's own, without any `OIR_*`
setting (a service database URL, a token in the shell) that would reach the process under test."""

from __future__ import annotations

import os


def without_oir_settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("OIR_")}
