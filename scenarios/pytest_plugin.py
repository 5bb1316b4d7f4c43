"""pytest collects scenario files: each scenario × each vendor profile it applies to is one item.

So `-k`, markers (a scenario's tags), `pytest -n 2` and JUnit work unchanged (the Tavern model). An
authoring mistake is a collection error naming the file, line and key. Worlds come from whoever
implements the `pytest_oir_scenario_worlds` hook (the harness does, through its pytest11 entry point).
With `--scenario-report DIR` every run writes DIR/index.html, DIR/results.json and DIR/evidence/*.har
(each xdist worker saves its records; the controller writes the summary).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .errors import ScenarioError, ScenariosError
from .events import EventBus
from .loader import SCENARIO_SUFFIX, Scenario, load_scenario
from .reporters import Recorder, ScenarioRecord, write_folder
from .runner import ScenarioResult, run_scenario
from .world import WorldProvider

_PROVIDER = pytest.StashKey[WorldProvider | None]()


class _Hooks:
    @pytest.hookspec(firstresult=True)
    def pytest_oir_scenario_worlds(self, config: pytest.Config) -> WorldProvider | None:  # type: ignore[empty-body]
        """Return the provider of worlds that scenarios run in."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(_Hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oir-scenarios", "ØiR scenarios")
    group.addoption("--scenario-report", default=None, help="write index.html, results.json and evidence/*.har here")
    group.addoption(
        "--scenario-profile", action="append", default=None, help="run scenarios only against this profile (repeat)"
    )


def _provider(config: pytest.Config) -> WorldProvider:
    if _PROVIDER not in config.stash:
        config.stash[_PROVIDER] = config.hook.pytest_oir_scenario_worlds(config=config)
    provider = config.stash[_PROVIDER]
    if provider is None:
        raise pytest.UsageError("no plugin provides worlds for scenarios (install the oir-harness package)")
    return provider


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(SCENARIO_SUFFIX):
        return ScenarioFile.from_parent(parent, path=file_path)
    if file_path.suffix in (".yaml", ".yml") and _named(parent.config, file_path):
        return MisnamedFile.from_parent(parent, path=file_path)  # named on the command line: never ignored
    return None


def _named(config: pytest.Config, path: Path) -> bool:
    return any(Path(arg.split("::")[0]).resolve() == path.resolve() for arg in config.args)


class MisnamedFile(pytest.File):
    """A YAML file named on the command line that is not a scenario file by name: a collection error
    that states the suffix (pytest would otherwise say only that no tests ran)."""

    def collect(self) -> list[pytest.Item]:
        raise self.CollectError(
            ScenarioError(
                self.path, None, "(file)", f"not a scenario file: scenario files are named *{SCENARIO_SUFFIX}"
            ).render()
        )


class ScenarioFile(pytest.File):
    def collect(self) -> list[pytest.Item]:
        try:
            scenario = load_scenario(self.path)
        except ScenarioError as error:
            raise self.CollectError(error.render()) from error
        provider = _provider(self.config)
        chosen = self.config.getoption("scenario_profile") or provider.profiles
        items: list[pytest.Item] = []
        for profile in provider.profiles:
            if profile in chosen and scenario.applies_to(profile, provider.capabilities(profile)):
                item = ScenarioItem.from_parent(
                    self, name=f"{scenario.id}[{profile}]", scenario=scenario, profile=profile
                )
                for tag in ("scenario", *scenario.tags):
                    self.config.addinivalue_line("markers", f"{tag}: scenario tag")
                    item.add_marker(tag)
                items.append(item)
        return items


class ScenarioFailed(ScenariosError, AssertionError):
    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.message)
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, profile: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.profile = profile

    def runtest(self) -> None:
        provider = _provider(self.config)
        bus = EventBus()
        recorder = Recorder()
        bus.subscribe(recorder)
        result = run_scenario(self.scenario, self.profile, provider.factory(), bus)
        report = self.config.getoption("scenario_report")
        if report:
            for record in recorder.records.values():
                record.save(Path(report) / "records")
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            result = excinfo.value.result
            where = f"{self.scenario.file}:{result.failed_line}" if result.failed_line else str(self.scenario.file)
            return f"{result.outcome}: {where}\n{result.message}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"scenario {self.scenario.id} [{self.profile}]"


# Runs that take seconds where the others take a fraction (a thousand claims in one engine cycle).
HEAVY_TAG = "scale"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Scenario runs tagged `scale` go first, the rest keeping their order: on two xdist workers, the
    longest run started last kept one worker busy for seconds after the other had run out of work."""
    items.sort(key=lambda item: not (isinstance(item, ScenarioItem) and HEAVY_TAG in item.scenario.tags))


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    report = config.getoption("scenario_report")
    if report and not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        records = [ScenarioRecord.load(p) for p in sorted((Path(report) / "records").glob("*.json"))]
        if records:
            write_folder(records, Path(report))


def pytest_unconfigure(config: pytest.Config) -> None:
    provider = config.stash.get(_PROVIDER, None)
    if provider is not None:
        provider.stop()
