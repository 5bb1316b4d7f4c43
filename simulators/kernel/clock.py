"""The virtual clock every simulator runs on.

Jobs (invoicing, reminders, receipts, nightly batches) are scheduled in virtual time so that a
scenario can live through 120 days of a debt's life in milliseconds. Each session owns one clock;
nothing in a simulator may read the wall clock for business time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..errors import SimulatorError

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=COPENHAGEN)


def local_midnight(day: date) -> datetime:
    """The instant a Danish day begins, where a simulator's daily jobs run."""
    return datetime.combine(day, time(0, 0), tzinfo=COPENHAGEN)


class ClockError(SimulatorError, ValueError):
    """A clock operation that would break monotonic virtual time."""


@dataclass
class VirtualClock:
    """A monotonic, manually driven clock in Danish local time."""

    _now: datetime = field(default=DEFAULT_START)

    def now(self) -> datetime:
        return self._now

    def today(self):
        return self._now.date()

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ClockError("the clock only accepts timezone-aware instants")
        instant = instant.astimezone(COPENHAGEN)
        if instant < self._now:
            raise ClockError(f"virtual time never runs backwards: {instant.isoformat()} < {self._now.isoformat()}")
        self._now = instant

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ClockError("cannot advance by a negative duration")
        self._now = (self._now + delta).astimezone(COPENHAGEN)
        return self._now
