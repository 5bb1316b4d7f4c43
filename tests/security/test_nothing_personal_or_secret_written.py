"""Every file a certification writes — reports, certificate, evidence, scenario records — is
searched for unmasked CPR numbers and for the tokens the run used (issue 11: tokens in evidence,
personal data at rest).

A CPR is found by its shape (DDMMYY with a real date, then four digits, with or without the dash),
and every file is read as bytes, so SQLite files and binary evidence are searched too.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from tests.support.certified import CALLBACK_TOKEN as _CALLBACK_TOKEN
from tests.support.ids import without_uuids_in_bytes

# One full certification per test session (tests/conftest.py): under `-n 2` every test that reads it
# runs on the same worker (`--dist loadgroup`), so it is made once, not once per worker.
pytestmark = pytest.mark.xdist_group("certified-prisme-2009")


_CPR = re.compile(rb"(?<![0-9])([0-3][0-9])([01][0-9])([0-9]{2})-?([0-9]{4})(?![0-9])")
_PUBLIC_DEV_TOKEN = b"oir-dev-token"
CALLBACK_TOKEN = _CALLBACK_TOKEN.encode()
CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "openapi"


def _cprs_in(data: bytes) -> list[str]:
    """CPR-shaped runs whose first six digits are a real date and that are not masked."""
    found = []
    for match in _CPR.finditer(without_uuids_in_bytes(data)):
        day, month, year = (int(g) for g in match.groups()[:3])
        try:
            date(2000 + year, month, day)
        except ValueError:
            continue
        found.append(match.group(0).decode())
    return found


def test_the_cpr_finder_finds_what_it_must_and_leaves_masks_alone() -> None:
    assert _cprs_in(b'{"cpr": "0101901234"}') == ["0101901234"]
    assert _cprs_in(b"cpr 010190-1234 in text") == ["010190-1234"]
    assert _cprs_in(b"010190-xxxx and id FBS-101-0000001 and 2026-01-05") == []
    assert _cprs_in(b'"5775d739-1ee4-4e9f-a1ec-ad0101342279"') == []
    assert _cprs_in(b"0101901234 5775d739-1ee4-4e9f-a1ec-0101901234ab") == ["0101901234"]


@pytest.fixture
def certified(certified_prisme_2009: Path) -> Path:
    return certified_prisme_2009


def _contract_examples() -> set[str]:
    """CPR-shaped example values the published contracts themselves carry (fictitious, public)."""
    return {cpr for spec in CONTRACTS.glob("*.yaml") for cpr in _cprs_in(spec.read_bytes())}


def test_no_file_a_certification_writes_holds_an_unmasked_cpr_or_a_token(certified: Path) -> None:
    files = [path for path in certified.rglob("*") if path.is_file()]
    assert len(files) > 10 and any(p.suffix == ".har" for p in files), [p.name for p in files]
    examples = _contract_examples()
    leaks = []
    for path in files:
        data = path.read_bytes()
        leaks += [f"{path.relative_to(certified)}: CPR {cpr}" for cpr in _cprs_in(data) if cpr not in examples]
        # The copy of the vendor's contract documents the simulators' public token; nothing else may name it.
        tokens = (CALLBACK_TOKEN,) if path.name.endswith(".vendor.yaml") else (CALLBACK_TOKEN, _PUBLIC_DEV_TOKEN)
        for token in tokens:
            if token in data:
                leaks.append(f"{path.relative_to(certified)}: token {token.decode()}")
    assert leaks == [], "\n".join(leaks[:40])
