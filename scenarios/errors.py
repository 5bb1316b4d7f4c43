"""The scenario package's errors under one root, and the authoring errors of the scenario language,
each naming the file, the line and the key.

    ScenariosError (Exception)                root
    ├── ScenarioLanguageError                 an authoring error (the file is wrong)
    │   └── ScenarioError                     located by file, line and key
    ├── ScenarioRunError                      a scenario could not be run (the world broke; the file is fine)
    ├── StepFailure (AssertionError)          a step did not do what the scenario says (context.py)
    ├── ValueProblem (ValueError)             a value (amount, date, reference) cannot be read (values.py)
    ├── KeywordError (ValueError)             an `oir run -k` expression cannot be read (keyword.py)
    └── ScenarioFailed (AssertionError)       a scenario's pytest item failed (pytest_plugin.py)

A scenario author (a vendor's engineer, a KOMBIT tester) must be able to fix a mistake from the
message alone: where it is, what is wrong, and the nearest valid name when there is one. Nothing in
the loader may surface as a bare traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class ScenariosError(Exception):
    """Root of the scenario package's errors."""


class ScenarioLanguageError(ScenariosError):
    """An authoring error: the scenario file is wrong (root of the language's errors)."""


class ScenarioError(ScenarioLanguageError):
    """A mistake in a scenario file, located by file, line and key."""

    def __init__(self, file: Path | str, line: int | None, key: str, message: str, suggestion: str | None = None):
        self.file = str(file)
        self.line = line
        self.key = key
        self.message = message
        self.suggestion = suggestion
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: key '{self.key}': {self.message}"
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        return text


class ScenarioRunError(ScenariosError):
    """A scenario could not be run (not a failed expectation: the world itself broke)."""


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest valid name to a misspelt one, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None
