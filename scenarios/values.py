"""The small value types of the language: money, durations, dates and `${...}` references.

Money is written as integer øre (`12000`) or kroner (`120 kr`, `120,50 kr`) and is always integer øre
inside. Durations are `500ms`, `10s`, `5m`, `2h`. A reference `${name}` or `${name.field.0}` reads
a value captured by an earlier step (`as: name`).
"""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta
from typing import Any

from contracts.calendar import deadline_on_bank_day

from .errors import ScenariosError

_MONEY = re.compile(r"^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*kr\.?\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_æøåÆØÅ-]+)*)\}")
_WHOLE_REFERENCE = re.compile(r"^\$\{[^}]*\}$")


class ValueProblem(ScenariosError, ValueError):
    """A value that does not parse; the loader adds file, line and key."""


def parse_money(value: Any) -> int:
    """Integer øre from `12000`, `"120 kr"` or `"120,50 kr"`."""
    if isinstance(value, bool):
        raise ValueProblem(f"{value!r} is not an amount; write øre (12000) or kroner ('120 kr')")
    if isinstance(value, int):
        if value < 0:
            raise ValueProblem(f"{value} is negative; amounts are positive øre")
        return value
    if isinstance(value, str):
        match = _MONEY.match(value)
        if match:
            kroner, oere = match.groups()
            return int(kroner) * 100 + int((oere or "0").ljust(2, "0"))
    raise ValueProblem(f"{value!r} is not an amount; write øre (12000) or kroner ('120 kr', '120,50 kr')")


def parse_duration(value: Any) -> float:
    """Seconds from `500ms`, `10s`, `5m` or `2h`."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    raise ValueProblem(f"{value!r} is not a duration; write e.g. 500ms, 10s, 5m or 2h")


def parse_date(value: Any) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueProblem(f"{value!r} is not a date; write YYYY-MM-DD")


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and bool(_WHOLE_REFERENCE.match(value.strip()))


def references_in(value: Any) -> list[str]:
    """The capture names a value refers to, anywhere inside it."""
    if isinstance(value, str):
        return [match.group(1) for match in REFERENCE.finditer(value)]
    if isinstance(value, dict):
        return [name for item in value.values() for name in references_in(item)]
    if isinstance(value, list):
        return [name for item in value for name in references_in(item)]
    return []


def resolve(value: Any, captures: dict[str, Any]) -> Any:
    """Replace references by captured values; a whole-string reference keeps the value's type."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value.strip())
        if whole:
            return _lookup(whole.group(1), whole.group(2), captures)
        return REFERENCE.sub(lambda m: str(_lookup(m.group(1), m.group(2), captures)), value)
    if isinstance(value, dict):
        return {key: resolve(item, captures) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, captures) for item in value]
    return value


def _lookup(name: str, path: str, captures: dict[str, Any]) -> Any:
    if name not in captures:
        raise KeyError(f"${{{name}}} was never captured")
    value = captures[name]
    if isinstance(value, Deadlines):
        return value.resolve(path)
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, list) and part.lstrip("-").isdigit():
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(f"${{{name}{path}}}: no '{part}' in the captured value")
    return value


DAY = "day"  # the built-in capture: ${day.N} is the date N days after the day the world's scenario started
_DAYS_AHEAD = 1000


@functools.lru_cache(maxsize=16)
def day_offsets(start: date) -> dict[str, str]:
    """What `${day.N}` resolves to in a run that started on `start`: the ISO date N days later (N up to 1000).
    A scenario that asserts dates relative to its start runs unchanged on the simulators' epoch and on a
    vendor's business date, wherever earlier runs left it. Made once per start day and shared by the runs
    that start on it (only ever read)."""
    return {str(n): (start + timedelta(days=n)).isoformat() for n in range(_DAYS_AHEAD + 1)}


DEADLINE = "deadline"  # built in: ${deadline.30.14} is a chain of deadlines from the scenario's start


class Deadlines(dict[str, Any]):
    """`${deadline.A.B…}`: a chain of payment deadlines counted from the day the scenario started — A days
    after the start, moved to the next bank day if it falls on a closed day, then B days after that, moved
    likewise, and so on (DOMAIN.md, "Deadlines on closed days"; `contracts.calendar.deadline_on_bank_day`).
    `${deadline.30}` is the SRB of an invoice issued on the start day; `${deadline.30.14.20}` the second
    reminder's deadline of a profile that reminds 14 and then 20 days after. At the simulators' epoch most
    chains equal `${day.N}`; on a vendor's business date (test control) they follow its calendar."""

    def __init__(self, start: date) -> None:
        super().__init__()
        self.start = start

    def resolve(self, path: str) -> str:
        parts = [p for p in path.split(".") if p]
        if not parts or not all(p.isdigit() for p in parts):
            raise KeyError(f"${{deadline{path}}}: write ${{deadline.N}} or ${{deadline.N.M…}} with whole days")
        day = self.start
        for part in parts:
            day = deadline_on_bank_day(day + timedelta(days=int(part)))
        return day.isoformat()


def days(count: int) -> timedelta:
    return timedelta(days=count)
