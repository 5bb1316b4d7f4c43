"""`-k EXPR` for `oir run`, as pytest reads it: words matched case-insensitively as substrings of a
run's names (`scenario-id[profile]`, the file name, the tags), combined with `and`, `or`, `not` and
parentheses — `-k "payment and not eg"`. The same expression selects the same runs under pytest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from .errors import ScenariosError

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


class KeywordError(ScenariosError, ValueError):
    """A -k expression that cannot be read (a usage error)."""


Matcher = Callable[[Iterable[str]], bool]


def compile_keyword(expression: str) -> Matcher:
    """A function that says whether a run with these names is selected by `expression`."""
    tokens = [t for t in _TOKEN.findall(expression) if t]
    if not tokens:
        raise KeywordError("-k needs an expression, e.g. -k 'payment and not eg'")
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise KeywordError(f"-k {expression!r}: the expression ends too early")
        position += 1
        return token

    def either() -> Callable[[str], bool]:
        parts = [both()]
        while peek() == "or":
            take()
            parts.append(both())
        return lambda names: any(p(names) for p in parts)

    def both() -> Callable[[str], bool]:
        parts = [negation()]
        while peek() == "and":
            take()
            parts.append(negation())
        return lambda names: all(p(names) for p in parts)

    def negation() -> Callable[[str], bool]:
        if peek() == "not":
            take()
            inner = negation()
            return lambda names: not inner(names)
        token = take()
        if token == "(":
            inner = either()
            if take() != ")":
                raise KeywordError(f"-k {expression!r}: a '(' is not closed")
            return inner
        if token in (")", "and", "or"):
            raise KeywordError(f"-k {expression!r}: unexpected {token!r}")
        word = token.lower()
        return lambda names: word in names

    matcher = either()
    if peek() is not None:
        raise KeywordError(f"-k {expression!r}: unexpected {peek()!r}")
    return lambda names: matcher("\n".join(names).lower())
