"""The harness's pytest plugin (entry point `pytest11`): scenario collection from the scenario
package, with worlds made of the simulators and a real engine per scenario."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from contracts.profile import PROFILE_NAMES, profile_capabilities
from scenarios.pytest_plugin import (
    pytest_addhooks,
    pytest_addoption,
    pytest_collect_file,
    pytest_collection_modifyitems,
    pytest_sessionfinish,
    pytest_unconfigure,
)
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


@pytest.hookimpl
def pytest_oir_scenario_worlds(config: pytest.Config) -> HarnessWorlds:
    return HarnessWorlds()
