"""Checking an observed value against an `expect`'s `that:` (and `stop_if:`) mapping.

Keys are field paths: `saldoOere`, `posteringer.0.beloebOere`, `posteringer.-1.type`,
`posteringer.*.beloebOere` (every item), `.` (the whole value), `length` (of a list). A plain value
must be equal (an amount may be written in kroner: `'120 kr'`); a mapping holds matchers:
eq, ne, gt, gte, lt, lte, in, not_in, contains, not_contains, matches, len, exists, every, none.
gt/gte/lt/lte compare numbers, amounts (`'100 kr'`) and dates (`'2026-12-28'` against an ISO date or
instant); `in`/`not_in` compare one value, so on a list they fail saying so (use contains,
not_contains, every or none); `every`/`none` hold a `that:`-style mapping that every item of a list
(or no item) must satisfy, e.g. `posteringer: {every: {beloebOere: {gt: 0}}}`, `'.'` for the item itself.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from .values import ValueProblem, parse_money

_MISSING = object()


def observe(value: Any, path: str) -> Any:
    if path == ".":
        return value
    current = value
    for index, part in enumerate(path.split(".")):
        if part == "*" and isinstance(current, list):
            rest = ".".join(path.split(".")[index + 1 :])
            return [observe(item, rest) if rest else item for item in current]
        if part == "length" and isinstance(current, list):
            current = len(current)
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return _MISSING
    return current


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, int) and not isinstance(actual, bool):
        try:
            return parse_money(expected) == actual
        except ValueProblem:
            return False
    return bool(expected == actual)


def _as_date(value: Any) -> date | None:
    """An ISO date or instant as a date (None if it is neither)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return datetime.fromisoformat(value).date() if len(value) > 10 else date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _ordered(expected: Any, actual: Any) -> tuple[Any, Any]:
    """The bound and the observed value in comparable form: dates as dates, amounts in øre."""
    bound_date, actual_date = _as_date(expected), _as_date(actual)
    if bound_date is not None and actual_date is not None:
        return bound_date, actual_date
    return (parse_money(expected) if isinstance(expected, str) else expected), actual


def _one(operator: str, expected: Any, actual: Any) -> bool:
    return not _why_not(operator, expected, actual)


def _why_not(operator: str, expected: Any, actual: Any) -> str:
    """Why the matcher does not hold ("" when it does): the line a failure shows after the path."""
    shown = "(missing)" if actual is _MISSING else repr(actual)
    if operator == "exists":
        return "" if (actual is not _MISSING) == bool(expected) else f"expected exists {expected!r}, saw {shown}"
    if actual is _MISSING:
        return f"expected {operator} {expected!r}, saw {shown}"
    if operator in ("every", "none"):
        if not isinstance(actual, list):
            return f"{operator} needs a list, saw {shown}"
        failing = [(index, mismatches(item, expected)) for index, item in enumerate(actual)]
        if operator == "every":
            broken = [f"item {index}: {'; '.join(problems)}" for index, problems in failing if problems]
            return "every item must match: " + " | ".join(broken) if broken else ""
        matching = [str(index) for index, problems in failing if not problems]
        return f"no item may match {expected!r}, but item(s) {', '.join(matching)} do" if matching else ""
    if operator in ("in", "not_in") and isinstance(actual, list):
        return f"{operator} compares one value, but the field is a list {shown}: use (not_)contains, every or none"
    return "" if _holds(operator, expected, actual) else f"expected {operator} {expected!r}, saw {shown}"


def _holds(operator: str, expected: Any, actual: Any) -> bool:
    try:
        if operator == "eq":
            return _same(expected, actual)
        if operator == "ne":
            return not _same(expected, actual)
        if operator in ("gt", "gte", "lt", "lte"):
            bound, actual = _ordered(expected, actual)
            return {
                "gt": actual > bound,
                "gte": actual >= bound,
                "lt": actual < bound,
                "lte": actual <= bound,
            }[operator]
        if operator == "in":
            return any(_same(option, actual) for option in expected)
        if operator == "not_in":
            return not any(_same(option, actual) for option in expected)
        if operator == "contains":
            return (
                any(_same(expected, item) for item in actual)
                if isinstance(actual, list)
                else str(expected) in str(actual)
            )
        if operator == "not_contains":
            return (
                not any(_same(expected, item) for item in actual)
                if isinstance(actual, list)
                else str(expected) not in str(actual)
            )
        if operator == "matches":
            return re.search(str(expected), str(actual)) is not None
        if operator == "len":
            return len(actual) == expected
    except (TypeError, ValueProblem):
        return False
    raise ValueError(f"unknown matcher {operator}")


def mismatches(observed: Any, expectations: dict[str, Any]) -> list[str]:
    """What does not hold, one line each (empty when everything does)."""
    problems = []
    for path, expected in expectations.items():
        actual = observe(observed, path)
        shown = "(missing)" if actual is _MISSING else repr(actual)
        if isinstance(expected, dict):
            for operator, bound in expected.items():
                why = _why_not(operator, bound, actual)
                if why:
                    problems.append(f"{path}: {why}")
        elif actual is _MISSING or not _same(expected, actual):
            problems.append(f"{path}: expected {expected!r}, saw {shown}")
    return problems
