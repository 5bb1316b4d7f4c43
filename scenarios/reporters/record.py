"""The recorder: turns the runner's event stream into one record per scenario run, which every file
reporter (results.json, index.html, HAR evidence) reads.

A record can be saved as JSON and read back, so parallel pytest workers each save theirs and one
process writes the summary. Everything written passes through CPR masking.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contracts.identity import mask_cpr_in_text

from ..events import Event, HttpExchange, ScenarioFinished, ScenarioStarted, StepFinished


@dataclass
class ScenarioRecord:
    scenario: str
    profile: str
    title: str
    file: str
    covers: list[str]
    tags: list[str]
    outcome: str = "running"
    message: str = ""
    seconds: float = 0.0
    failed_line: int | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    blamed: list[str] = field(default_factory=list)  # not passed: the requirements the failure is evidence against
    unproven: list[str] = field(default_factory=list)  # not passed: those the run stopped before judging

    @property
    def key(self) -> str:
        return f"{self.scenario}[{self.profile}]"

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.key}.json"
        path.write_text(masked_json(asdict(self)), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> ScenarioRecord:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class Recorder:
    """Turns the event stream into one record per scenario run."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], ScenarioRecord] = {}

    def __call__(self, event: Event) -> None:
        key = (event.scenario, event.profile)
        if isinstance(event, ScenarioStarted):
            self.records[key] = ScenarioRecord(
                event.scenario, event.profile, event.title, event.file, list(event.covers), list(event.tags)
            )
            return
        record = self.records.get(key)
        if record is None:
            return
        if isinstance(event, StepFinished):
            record.steps.append(
                {
                    "index": event.index,
                    "line": event.line,
                    "action": event.action,
                    "passed": event.passed,
                    "seconds": round(event.seconds, 3),
                    "message": event.message,
                    "polls": event.polls,
                    "covers": list(event.covers),
                    "observed": event.observed if not event.passed else None,
                }
            )
        elif isinstance(event, HttpExchange):
            record.exchanges.append(asdict(event))
        elif isinstance(event, ScenarioFinished):
            record.outcome = event.outcome
            record.message = event.message
            record.seconds = round(event.seconds, 3)
            record.failed_line = event.failed_line
            record.evidence = event.evidence
            record.blamed = list(event.blamed)
            record.unproven = list(event.unproven)


def masked_json(value: Any) -> str:
    """JSON for a report file, every CPR in it masked."""
    return mask_cpr_in_text(json.dumps(value, indent=2, ensure_ascii=False, default=str))
