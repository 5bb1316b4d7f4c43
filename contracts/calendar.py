"""Danish business days and bank days.

Business days skip weekends and public holidays (from the `holidays` package); bank days also skip
the banks' own closing days (24 and 31 December, Constitution Day 5 June, and the Friday after
Ascension Day). Nightly batches arrive on the next business day, PSRM settles on the last bank day
of the month, and scenario deadlines fall over Christmas and Easter, and a payment deadline on a closed day moves to the
next bank day; all of them ask this module.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

COPENHAGEN = ZoneInfo("Europe/Copenhagen")  # Danish wall-clock time, summer time included


@lru_cache(maxsize=64)
def _danish_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DK", years=year))


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _danish_holidays(day.year)


def next_business_day(day: date) -> date:
    """The first business day strictly after `day`."""
    candidate = day + timedelta(days=1)
    while not is_business_day(candidate):
        candidate += timedelta(days=1)
    return candidate


def add_business_days(day: date, count: int) -> date:
    for _ in range(count):
        day = next_business_day(day)
    return day


@lru_cache(maxsize=64)
def _bank_closing_days(year: int) -> frozenset[date]:
    ascension = next(
        day
        for day, name in holidays.country_holidays("DK", years=year, language="en_US").items()
        if "Ascension" in name
    )
    return frozenset({date(year, 12, 24), date(year, 12, 31), date(year, 6, 5), ascension + timedelta(days=1)})


def is_bank_day(day: date) -> bool:
    return is_business_day(day) and day not in _bank_closing_days(day.year)


def next_bank_day(day: date) -> date:
    """The first bank day strictly after `day`."""
    candidate = day + timedelta(days=1)
    while not is_bank_day(candidate):
        candidate += timedelta(days=1)
    return candidate


def add_bank_days(day: date, count: int) -> date:
    for _ in range(count):
        day = next_bank_day(day)
    return day


def deadline_on_bank_day(day: date) -> date:
    """A payment deadline (due date, SRB, a reminder's) as it stands: one that falls on a Saturday, Sunday,
    public holiday or bank-closing day moves to the next bank day, where a payment is still timely, and
    periods counted from the deadline count from there (DOMAIN.md, "Deadlines on closed days")."""
    while not is_bank_day(day):
        day += timedelta(days=1)
    return day


def last_bank_day_of_month(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    candidate = first_of_next - timedelta(days=1)
    while not is_bank_day(candidate):
        candidate -= timedelta(days=1)
    return candidate
