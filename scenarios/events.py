"""The typed event stream of a scenario run.

The runner only emits events; reporters (console, JSON, HTML, HAR) only consume them. No reporter can
change what runs, and a new reporter needs no change to the runner (the Schemathesis model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class ScenarioStarted:
    scenario: str
    profile: str
    title: str
    file: str
    covers: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class StepStarted:
    scenario: str
    profile: str
    index: int
    action: str
    line: int


@dataclass(frozen=True)
class StepFinished:
    scenario: str
    profile: str
    index: int
    action: str
    line: int
    passed: bool
    seconds: float
    message: str = ""
    observed: Any = None
    polls: int = 0
    covers: tuple[str, ...] = ()  # the requirements the step asserts (its step-level `covers:`)


@dataclass(frozen=True)
class HttpExchange:
    scenario: str
    profile: str
    system: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    response_headers: dict[str, str]
    response_body: Any
    seconds: float
    started: str  # virtual time of the request


@dataclass(frozen=True)
class ScenarioFinished:
    scenario: str
    profile: str
    outcome: Outcome
    seconds: float
    message: str = ""
    failed_step: int | None = None
    failed_line: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)  # journals of the systems, CPR masked
    blamed: tuple[str, ...] = ()  # not passed: the requirements the failure is evidence against
    unproven: tuple[str, ...] = ()  # not passed: the requirements the run stopped before judging


Event = ScenarioStarted | StepStarted | StepFinished | HttpExchange | ScenarioFinished


class EventBus:
    """Fan-out of events to every subscribed reporter, in order."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], None]] = []

    def subscribe(self, subscriber: Callable[[Event], None]) -> None:
        self._subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in self._subscribers:
            subscriber(event)
