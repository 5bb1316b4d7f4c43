"""Ports handed to servers that bind them later: a run of consecutive ports is free as a whole and never
handed out again by this process, one port at a time or in another run."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest

from harness import servers


class _Draws:
    """Draws the given numbers first, then at random (so a test can make the draw hit what it chose)."""

    def __init__(self, first: list[int]) -> None:
        self._first: Iterator[int] = iter(first)
        self._rest = random.Random(7)
        self.asked: list[tuple[int, int]] = []

    def randint(self, low: int, high: int) -> int:
        self.asked.append((low, high))
        return next(self._first, None) or self._rest.randint(low, high)


def test_a_run_of_ports_is_bindable_and_none_of_it_is_handed_out_again(monkeypatch: pytest.MonkeyPatch) -> None:
    first = servers.free_ports(3)
    for port in range(first, first + 3):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # free now, every one of them
    monkeypatch.setattr(servers, "_draw", _Draws([first + 1, first + 2, first]))
    again = servers.free_port()  # the first three draws hit the run: each is skipped
    assert again not in range(first, first + 3)
    monkeypatch.setattr(servers, "_draw", _Draws([first - 1]))
    pair = servers.free_ports(2)  # first - 1 would overlap the run
    assert not set(range(pair, pair + 2)) & set(range(first, first + 3))


def test_a_run_with_a_taken_port_in_it_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        monkeypatch.setattr(servers, "_HANDED_OUT_RANGE", (1024, 65535))
        busy = taken.getsockname()[1]
        monkeypatch.setattr(servers, "_draw", _Draws([busy - 1]))
        pair = servers.free_ports(2)
        assert pair != busy - 1
        assert busy not in (pair, pair + 1)


def test_a_run_is_drawn_so_that_its_last_port_stays_in_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = _Draws([])
    monkeypatch.setattr(servers, "_draw", draws)
    low, high = servers._HANDED_OUT_RANGE
    first = servers.free_ports(3)
    assert low <= first and first + 2 <= high
    assert draws.asked and all(asked == (low, high - 2) for asked in draws.asked)
    with pytest.raises(ValueError, match="count must be"):
        servers.free_ports(0)
