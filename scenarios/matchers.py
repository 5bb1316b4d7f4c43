"""Checking an observed value against an `expect`'s `that:` (and `stop_if:`) mapping.

Keys are field paths: `saldoOere`, `posteringer.0.beloebOere`, `posteringer.-1.type`,
`posteringer.*.beloebOere` (every item), `.` (the whole value), `length` (of a list). A plain value
must be equal (an amount may be written in kroner: `'120 kr'`); a mapping holds matchers:
eq, ne, gt, gte, lt, lte, in, not_in, contains, matches, len, exists.
"""

from __future__ import annotations

import re
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


def _one(operator: str, expected: Any, actual: Any) -> bool:
    if operator == "exists":
        return (actual is not _MISSING) == bool(expected)
    if actual is _MISSING:
        return False
    try:
        if operator == "eq":
            return _same(expected, actual)
        if operator == "ne":
            return not _same(expected, actual)
        if operator in ("gt", "gte", "lt", "lte"):
            bound = parse_money(expected) if isinstance(expected, str) else expected
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
                if not _one(operator, bound, actual):
                    problems.append(f"{path}: expected {operator} {bound!r}, saw {shown}")
        elif actual is _MISSING or not _same(expected, actual):
            problems.append(f"{path}: expected {expected!r}, saw {shown}")
    return problems
