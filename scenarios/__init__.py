"""The scenario language: declarative YAML that drives FBS, the engine, the debtor systems, PSRM and
the payment solution end to end, one pytest item per scenario and vendor profile.

`load_scenario(path)` parses and checks a file (every mistake names its file, line and key);
`run_scenario(...)` runs one against a world and emits typed events that reporters consume.
"""

from .errors import ScenarioError, ScenarioLanguageError, ScenarioRunError, ScenariosError
from .loader import SCENARIO_SUFFIX, Scenario, Step, SuiteLoad, collect_suite, load_scenario, load_suite
from .runner import ScenarioResult, run_scenario

__all__ = [
    "SCENARIO_SUFFIX",
    "Scenario",
    "ScenarioError",
    "ScenarioLanguageError",
    "ScenarioResult",
    "ScenarioRunError",
    "ScenariosError",
    "Step",
    "SuiteLoad",
    "collect_suite",
    "load_scenario",
    "load_suite",
    "run_scenario",
]
