"""The harness's pytest plugin (entry point `pytest11`): scenario collection from the scenario
package, with worlds made of the simulators and a real engine per scenario."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest

from contracts.profile import PROFILE_NAMES, profile_capabilities
from scenarios.pytest_plugin import (
    pytest_addhooks,
    pytest_addoption,
    pytest_collect_file,
    pytest_collection_modifyitems,
    pytest_sessionfinish,
)
from scenarios.pytest_plugin import pytest_unconfigure as _stop_scenario_worlds
from scenarios.world import WorldFactory

if TYPE_CHECKING:  # imported on first use: every pytest run loads this plugin, few run scenarios
    from .scenario_world import SimulatedWorlds

__all__ = [
    "pytest_addhooks",
    "pytest_addoption",
    "pytest_collect_file",
    "pytest_collection_modifyitems",
    "pytest_oir_scenario_worlds",
    "pytest_sessionfinish",
    "pytest_unconfigure",
]


class HarnessWorlds:
    """Simulators started on first use, once per process (once per xdist worker)."""

    profiles = PROFILE_NAMES

    def __init__(self) -> None:
        self._worlds: SimulatedWorlds | None = None

    def capabilities(self, profile: str) -> frozenset[str]:
        return profile_capabilities(profile)

    def factory(self) -> WorldFactory:
        if self._worlds is None:
            from .scenario_world import SimulatedWorlds

            self._worlds = SimulatedWorlds.start()
        return self._worlds

    def stop(self) -> None:
        if self._worlds is not None:
            self._worlds.stop()
            self._worlds = None


def pytest_unconfigure(config: pytest.Config) -> None:
    """The scenario worlds stop; then what is alive is collected once and frozen out of the collector.

    Right after the unconfigure hooks, pytest collects garbage five times over, to report what finalizers
    raise; each of those walked the whole heap (every module, app and schema of the process): ~3 s at the
    end of a serial run of the bundled suite, and at the end of every xdist worker, which execnet
    interrupts once its end takes over 5 s. One collection here finds what is garbage now, with pytest's
    hook still listening; whatever its finalizers leave behind is new, so pytest's collections see it."""
    _stop_scenario_worlds(config)
    gc.collect()
    gc.freeze()


@pytest.hookimpl
def pytest_oir_scenario_worlds(config: pytest.Config) -> HarnessWorlds:
    return HarnessWorlds()
