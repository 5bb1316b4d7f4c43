"""The simulator kernel's pieces on their own: clock, fault rules, Danish business days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.calendar import deadline_on_bank_day
from simulators.kernel import FaultKind, FaultRuleIn, VirtualClock
from simulators.kernel.calendar import is_bank_day, is_business_day, last_bank_day_of_month, next_business_day
from simulators.kernel.clock import ClockError
from simulators.kernel.faults import CALLBACK_FAULTS, REQUEST_FAULTS, FaultBook


def test_the_clock_only_moves_forward_and_stays_in_copenhagen_time() -> None:
    clock = VirtualClock()
    start = clock.now()
    clock.advance(timedelta(days=90))
    assert clock.now() - start == timedelta(days=90) and clock.now().utcoffset() == timedelta(hours=2)  # summer time
    with pytest.raises(ClockError):
        clock.set(start)
    with pytest.raises(ClockError):
        clock.set(datetime(2030, 1, 1))  # naive
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert clock.now().hour == 1


def test_a_fault_fires_count_times_for_its_operation_only() -> None:
    book = FaultBook()
    book.add(FaultRuleIn(operation="OpretDebitorkonto", kind=FaultKind.ERROR, count=2))
    assert book.take("HentDebitorkonto", REQUEST_FAULTS) is None
    fired = [book.take("OpretDebitorkonto", REQUEST_FAULTS) for _ in range(3)]
    assert [r is not None for r in fired] == [True, True, False]
    assert book.take("OpretDebitorkonto", CALLBACK_FAULTS) is None


def test_fault_probability_is_seeded() -> None:
    def pattern(seed: int) -> list[bool]:
        book = FaultBook(seed)
        book.add(FaultRuleIn(kind=FaultKind.LATENCY, probability=0.3))
        return [book.take("x", REQUEST_FAULTS) is not None for _ in range(200)]

    assert pattern(1) == pattern(1) and pattern(1) != pattern(2)
    assert 30 < sum(pattern(1)) < 90


def test_danish_business_days() -> None:
    assert not is_business_day(date(2026, 12, 25)) and not is_business_day(date(2026, 4, 3))  # Christmas, Good Friday
    assert next_business_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert next_business_day(date(2026, 1, 9)) == date(2026, 1, 12)  # Friday -> Monday
    assert is_business_day(date(2026, 12, 24)) and not is_bank_day(date(2026, 12, 24))  # banks close on the 24th
    assert not is_bank_day(date(2026, 5, 15))  # Friday after Ascension
    assert last_bank_day_of_month(2026, 5) == date(2026, 5, 29)  # 31st is a Sunday
    assert last_bank_day_of_month(2026, 12) == date(2026, 12, 30)  # 31st: banks closed


def test_a_deadline_on_a_closed_day_moves_to_the_next_bank_day() -> None:
    assert deadline_on_bank_day(date(2026, 12, 24)) == date(2026, 12, 28)  # closed, two holidays, a Sunday
    assert deadline_on_bank_day(date(2026, 12, 31)) == date(2027, 1, 4)  # closed, New Year, a weekend
    assert deadline_on_bank_day(date(2026, 5, 15)) == date(2026, 5, 18)  # the Friday after Ascension
    assert deadline_on_bank_day(date(2026, 6, 5)) == date(2026, 6, 8)  # Constitution Day, then a weekend
    assert deadline_on_bank_day(date(2026, 2, 4)) == date(2026, 2, 4)  # a bank day stays put
