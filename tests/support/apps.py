"""Build every simulator app by name, the way the contract tests fuzz and compare them."""

from __future__ import annotations

from typing import Any

from contracts.profile import PROFILE_NAMES
from simulators import SIMULATORS, factory

# (test id, simulator name, factory kwargs, contract name)
APP_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("fbs", "fbs", {}, SIMULATORS["fbs"][2]),
    ("psrm", "psrm", {}, SIMULATORS["psrm"][2]),
    ("payment", "payment", {}, SIMULATORS["payment"][2]),
    *[(f"debtor-{p}", "debtor", {"profile": p}, "oir-debitor-v3") for p in PROFILE_NAMES],
]


def build(name: str, **kwargs: Any) -> Any:
    return factory(name)(**kwargs)
