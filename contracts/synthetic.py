"""Synthetic, seeded test people and organisations: never real personal data.

Faker (`da_DK`) gives Danish names and addresses; CPR numbers are fictitious but of valid format
(the century digit agrees with the birth year; modulus 11 is not applied, as for real CPRs since
2007); CVR numbers carry a correct check digit. The same seed gives the same sequence.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from faker import Faker

from .identity import cvr_check_digit, is_valid_cpr


@dataclass(frozen=True)
class Person:
    cpr: str
    name: str
    address: str
    postcode: str
    city: str


@dataclass(frozen=True)
class Company:
    cvr: str
    name: str
    address: str


def _century_digit(year: int, rng: random.Random) -> int:
    """The 7th CPR digit: 0-3 for 1900-1999; 4 or 9 for 1937-2036; 5-8 for 2000-2057."""
    if year < 2000:
        return rng.choice((0, 1, 2, 3))
    return rng.choice((4, 9)) if year <= 2036 else rng.choice((5, 6, 7, 8))


class SyntheticData:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._faker = Faker("da_DK")
        self._faker.seed_instance(seed)

    def cpr(self, birth_from: date = date(1940, 1, 1), birth_to: date = date(2008, 12, 31)) -> str:
        born = birth_from + timedelta(days=self._rng.randrange((birth_to - birth_from).days + 1))
        serial = f"{_century_digit(born.year, self._rng)}{self._rng.randrange(1000):03d}"
        value = f"{born:%d%m%y}{serial}"
        assert is_valid_cpr(value)
        return value

    def cvr(self) -> str:
        while True:
            first7 = f"{self._rng.randrange(1, 10)}{self._rng.randrange(10**6):06d}"
            digit = cvr_check_digit(first7)
            if digit is not None:
                return f"{first7}{digit}"

    def person(self) -> Person:
        return Person(
            cpr=self.cpr(),
            name=self._faker.name(),
            address=self._faker.street_address(),
            postcode=self._faker.postcode(),
            city=self._faker.city(),
        )

    def company(self) -> Company:
        return Company(cvr=self.cvr(), name=self._faker.company(), address=self._faker.street_address())

    def borrower_id(self) -> str:
        """An FBS borrower number (lånernummer): never a CPR, safe in URLs."""
        return "L" + "".join(self._rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
