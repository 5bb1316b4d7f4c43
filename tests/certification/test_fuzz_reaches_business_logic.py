"""Fuzzing reaches an ØiR system's business logic: each generated message goes out under its own
transaction id and, in certification, as one of the municipalities the token acts for
(`contracts/checks/fuzz_hooks.py`). Before, most requests were refused at the header block — 409 for a
transaction id reused for another message, 403/422 for a municipality the vendor does not serve — and
schemathesis itself warned "most requests collided with existing resources"."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from contracts.checks.fuzz import run_schemathesis, vendor_contract
from contracts.checks.fuzz_hooks import fresh_headers
from contracts.municipalities import for_vendor, load_municipalities
from harness.servers import ServerThread
from simulators import factory

KMD = [m.cvr for m in for_vendor("kmd-opus")]
OTHER = next(m.cvr for m in load_municipalities() if m.vendor == "eg")


def _case(body: Any, method: str = "POST", path: str = "/debitorkonti") -> Any:
    return SimpleNamespace(method=method, formatted_path=path, path_parameters={}, query=None, body=body)


def _headers(transaction: str, cvr: str = OTHER) -> dict[str, Any]:
    return {"X-Transaktion-Id": transaction, "X-Kommune-Cvr": cvr, "Authorization": "Bearer t"}


def test_each_message_gets_its_own_transaction_id_and_a_retry_the_same() -> None:
    drawn = "00000000-0000-0000-0000-000000000000"  # schemathesis draws few: many messages shared it
    first = fresh_headers(_case({"beloebOere": 1}), _headers(drawn), [])
    other = fresh_headers(_case({"beloebOere": 2}), _headers(drawn), [])
    again = fresh_headers(_case({"beloebOere": 1}), _headers(drawn), [])
    assert first["X-Transaktion-Id"] != other["X-Transaktion-Id"]
    assert first["X-Transaktion-Id"] == again["X-Transaktion-Id"]  # the very same message: a true retry
    assert uuid.UUID(first["X-Transaktion-Id"]).version == 5
    assert first["X-Kommune-Cvr"] == OTHER  # no municipalities named: the drawn one stays


def test_a_broken_header_keeps_its_breakage_and_a_known_cvr_becomes_a_certified_one() -> None:
    broken = fresh_headers(_case(None), _headers("not-a-uuid", cvr="12345678"), KMD)
    assert broken["X-Transaktion-Id"] == "not-a-uuid"
    assert broken["X-Kommune-Cvr"] == "12345678"  # no municipality's CVR: the negative case stays negative
    mapped = fresh_headers(_case(None), _headers(str(uuid.uuid4())), KMD)
    assert mapped["X-Kommune-Cvr"] in KMD
    assert fresh_headers(_case(None), _headers(str(uuid.uuid4())), KMD)["X-Kommune-Cvr"] == mapped["X-Kommune-Cvr"]


def test_fuzzing_a_conforming_debtor_reaches_its_business_logic(tmp_path: Path) -> None:
    """The share of requests a conforming system accepts, from schemathesis' own report: without the hooks
    409 conflicts outnumbered accepted requests about 75 to 1 (697 to 9 at 10 examples per operation)."""
    with ServerThread(factory("debtor")(profile="kmd-opus"), name="fuzz-depth", log_level="critical") as debtor:
        fuzz = run_schemathesis(
            vendor_contract(tmp_path / "oir-debitor-v3.vendor.yaml"),
            debtor.url,
            tmp_path,
            1,
            5,
            "oir-dev-token",
            "fuzz-depth",
            municipality_cvrs=tuple(KMD),
        )
    assert fuzz.passed, fuzz
    report = json.loads((tmp_path / "schemathesis-report.json").read_text(encoding="utf-8"))
    rates: Counter[str] = Counter()
    for phases in report["valid_rates"].values():
        for counts in phases.values():
            rates.update(counts)
    assert rates["accepted"] > 50, rates
    assert rates["conflicts"] * 10 < rates["accepted"], rates
    accepted_by_operation = {
        operation: sum(counts["accepted"] for counts in phases.values())
        for operation, phases in report["valid_rates"].items()
    }
    for operation in ("POST /debitorkonti", "POST /debitorforespoergsel", "GET /debitorkonti/{debitorkontoId}"):
        assert accepted_by_operation[operation] > 0, accepted_by_operation
