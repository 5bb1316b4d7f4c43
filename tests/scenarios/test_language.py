"""The scenario language's parts: the committed JSON Schema, values, references and matchers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scenarios import load_suite
from scenarios.loader import load_scenario
from scenarios.matchers import mismatches
from scenarios.schema import SCHEMA_FILE, build_schema
from scenarios.source import read_yaml
from scenarios.values import ValueProblem, parse_duration, parse_money, resolve

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"


def test_the_committed_schema_is_what_the_vocabulary_generates() -> None:
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == build_schema(), (
        "run: python -c 'from scenarios.schema import write_schema_file; write_schema_file()'"
    )


def test_every_bundled_scenario_validates_against_the_schema_file_alone() -> None:
    validator = Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    files = sorted(SUITES.rglob("*.scenario.yaml"))
    assert len(files) >= 35
    for file in files:
        errors = list(validator.iter_errors(json.loads(json.dumps(read_yaml(file)))))
        assert errors == [], f"{file}: {errors[0].message}"


def test_the_bundled_suite_covers_the_catalogue_areas_it_claims() -> None:
    suite = load_suite([SUITES])
    covered = {rid for s in suite for rid in s.covers}
    for rid in (
        "B03-PAY",
        "PSRM-ACTION-ID-UNIQUE",
        "PSRM-HOERING-14-DAYS",
        "MIGRATION-TRIAL-FINAL",
        "FBS-EXCLUSION-LIMIT",
    ):
        assert rid in covered
    assert len({s.id for s in suite}) == len(suite)


@pytest.mark.parametrize(("text", "oere"), [(12000, 12000), ("120 kr", 12000), ("120,50 kr", 12050), ("0,5 kr", 50)])
def test_money_is_integer_oere(text: object, oere: int) -> None:
    assert parse_money(text) == oere


@pytest.mark.parametrize("text", ["lots", -5, 12.5, True, "120", "1.234,00 kr"])
def test_malformed_money_is_refused(text: object) -> None:
    with pytest.raises(ValueProblem):
        parse_money(text)


def test_durations() -> None:
    assert [parse_duration(t) for t in ("500ms", "10s", "5m", "2h")] == [0.5, 10.0, 300.0, 7200.0]
    with pytest.raises(ValueProblem):
        parse_duration("10")


def test_references_keep_types_and_reach_into_lists() -> None:
    captures = {"batch": {"claims": [{"fordringId": "F-1", "beloebOere": 100}]}}
    assert resolve("${batch.claims.0}", captures) == {"fordringId": "F-1", "beloebOere": 100}
    assert resolve("${batch.claims.0.beloebOere}", captures) == 100
    assert resolve("id ${batch.claims.-1.fordringId}!", captures) == "id F-1!"
    with pytest.raises(KeyError):
        resolve("${batch.claims.0.nope}", captures)


def test_matchers_report_every_difference() -> None:
    seen = {"saldoOere": 7000, "posteringer": [{"beloebOere": 5000}, {"beloebOere": 2000}], "status": "AABEN"}
    assert (
        mismatches(seen, {"saldoOere": "70 kr", "posteringer": {"len": 2}, "posteringer.*.beloebOere": [5000, 2000]})
        == []
    )
    assert (
        mismatches(
            seen,
            {
                "status": {"in": ["AABEN", "BETALT"]},
                "nope": {"exists": False},
                "posteringer.-1.beloebOere": {"lt": 2001},
            },
        )
        == []
    )
    problems = mismatches(seen, {"saldoOere": 0, "status": {"matches": "^BET"}, "posteringer": {"len": 1}, "x": 1})
    assert problems == [
        "saldoOere: expected 0, saw 7000",
        "status: expected matches '^BET', saw 'AABEN'",
        "posteringer: expected len 1, saw [{'beloebOere': 5000}, {'beloebOere': 2000}]",
        "x: expected 1, saw (missing)",
    ]


def _scenario(tmp_path: Path, steps: str, extra: str = "") -> Any:
    file = tmp_path / "probe.scenario.yaml"
    file.write_text(f"scenario: probe-one\ntitle: t\ncovers: [B01-CREATE-ACCOUNT]\n{extra}steps:\n{steps}", "utf-8")
    return load_scenario(file)


@pytest.mark.parametrize(
    ("steps", "extra", "against_vendor", "why"),
    [
        ("  - fbs.new_borrower: {as: a}\n  - engine.cycle: {}\n", "", True, ""),
        # PSRM stays a simulator in a certification: its simulation-only operations are fine …
        ("  - engine.cycle: {}\n  - expect: {psrm.journal: {}}\n", "", True, ""),
        # … but a scenario about PSRM alone says nothing about the vendor's debtor system
        ("  - expect: {psrm.journal: {}}\n", "", False, "concerns PSRM alone"),
        ("  - engine.cycle: {}\n  - expect: {debtor.journal: {}}\n", "", False, "debtor.journal"),
        ("  - engine.cycle: {}\n  - clock.advance: {days: 1}\n", "", False, "clock.advance"),
        ("  - fbs.new_borrower: {as: a}\n  - engine.cycle: {}\n", "start: 2026-03-02T09:00:00+01:00\n", False, "start"),
    ],
)
def test_which_scenarios_can_meet_a_vendor_s_real_system(
    tmp_path: Path, steps: str, extra: str, against_vendor: bool, why: str
) -> None:
    scenario = _scenario(tmp_path, steps, extra)
    assert scenario.runs_against_vendor() is against_vendor
    reason = scenario.why_not_against_a_vendor()
    assert (reason == "") is against_vendor and why in reason


def test_the_bundled_suite_has_scenarios_for_a_vendor_and_says_why_of_the_others() -> None:
    suite = load_suite([SUITES])
    reasons = ("concerns PSRM alone", "starts at a set virtual time", "needs the debtor simulator or virtual time (")
    for scenario in suite:
        reason = scenario.why_not_against_a_vendor()
        if not scenario.runs_against_vendor():  # a reason a vendor's engineer can read, naming what is needed
            assert reason.startswith(reasons) and not reason.endswith("()"), (scenario.id, reason)
    assert {s.id for s in suite if s.runs_against_vendor()} >= {
        "fee-to-the-right-debtor",
        "engine-crash-mid-cycle",
        "annulment-closes-the-account",
        "wrong-credentials-or-municipality",
    }
