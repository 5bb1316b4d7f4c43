"""Simulators of the seven systems around the ØiR integration: FBS, five debtor-system profiles
(one implementation, five data files), PSRM and a citizen payment solution — on one kernel."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from .errors import SimulatorError

__all__ = ["SIMULATORS", "SimulatorError", "factory"]

# name -> (module, factory, contract); factories take keyword settings and return a FastAPI app.
SIMULATORS: dict[str, tuple[str, str, str]] = {
    "fbs": ("simulators.fbs.app", "create_app", "fbs"),
    "debtor": ("simulators.debtor.app", "create_app", "oir-debitor-v3"),
    "psrm": ("simulators.psrm.app", "create_app", "psrm-fordringshaver"),
    "payment": ("simulators.payment.app", "create_app", "payment"),
}


def factory(name: str) -> Callable[..., Any]:
    module, attr, _ = SIMULATORS[name]
    return getattr(import_module(module), attr)
