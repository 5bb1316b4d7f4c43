"""The engine's clock, injected: wall time in production, a manual clock in tests and scenarios."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall time: the engine is real software and runs on the real calendar."""

    def now(self) -> datetime:
        return datetime.now(UTC)  # real time: this is the injected production clock


class ManualClock:
    """A clock that moves only when told to (tests, scenarios on virtual time)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
