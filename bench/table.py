"""The one table `python -m bench` prints: each measure of issue 16's goals, the figure as measured,
its baseline from the same run, the goal, and whether the figure meets it.

A benchmark returns `Row`s; a benchmark that could not run (no PostgreSQL, not chosen) returns a row
that says so, so the table always lists every measure and never shows a missing one as met.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

_COMPARE: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le}
HEADERS = ("measure", "figure", "baseline (same run)", "goal", "met")


@dataclass(frozen=True)
class Goal:
    """`value compare target`, e.g. scenarios/s >= 10 or seconds <= 60."""

    compare: str  # ">=" or "<="
    target: float
    unit: str = ""

    def met(self, value: float) -> bool:
        return _COMPARE[self.compare](value, self.target)

    def __str__(self) -> str:
        sign = "≥" if self.compare == ">=" else "≤"
        return f"{sign} {_number(self.target)}{(' ' + self.unit) if self.unit else ''}"


@dataclass(frozen=True)
class Row:
    """One measure. `value` is what the goal judges; `figure` and `baseline` say it in words."""

    measure: str
    goal: Goal
    value: float | None = None  # None: not measured (see `note`)
    figure: str = ""
    baseline: str = ""
    note: str = ""  # why it was not measured, or what to know about the figure

    @property
    def met(self) -> str:
        if self.value is None:
            return "not run"
        return "yes" if self.goal.met(self.value) else "no"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "goal": str(self.goal), "met": self.met}


def skipped(measure: str, goal: Goal, why: str) -> Row:
    return Row(measure, goal, None, figure="—", baseline="—", note=why)


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def render(rows: Sequence[Row]) -> str:
    """A plain-text table (fits a terminal and a README code block); notes follow, numbered."""
    notes: list[str] = []
    lines = []
    for row in rows:
        figure = row.figure
        if row.note:
            notes.append(row.note)
            figure = f"{figure} [{len(notes)}]"
        lines.append((row.measure, figure, row.baseline, str(row.goal), row.met))
    widths = [max(len(str(cells[i])) for cells in [HEADERS, *lines]) for i in range(len(HEADERS))]
    rule = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)), rule]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() for cells in lines]
    out += [f"[{n}] {note}" for n, note in enumerate(notes, 1)]
    return "\n".join(out)
