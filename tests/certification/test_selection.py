"""A certification limited to some checks (`only`) runs those and reports every other check not run: a
requirement only unselected checks cite is not verified in that run, never passed. Against a vendor, a
requirement no behaviour of the vendor's system can break (`vendor_unverified`) is never passed either."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from contracts.requirements import vendor_unverified
from harness.certification.judge import NOT_CERTIFIED, CheckOutcome, judge
from harness.certification.run import certify_profile
from harness.certification.selection import UnknownCheckError, checks_citing


def test_a_selected_probe_runs_and_everything_else_is_not_run_nor_passed(tmp_path: Path) -> None:
    result = certify_profile("eg", tmp_path, seed=1, max_examples=2, only=["credentials"])
    assert result.status("credentials") == "passed"
    assert result.judgement.passed == ["MSG-CREDENTIALS"]
    for check in ("schemathesis", "registration", "bad-input"):
        assert result.status(check) == "not-run", check
    assert all(result.status(i.check) == "not-run" for i in result.pact.interactions)
    header = result.judgement.outcomes["MSG-HEADER-BLOCK"]
    assert header.outcome == "not-verified" and "not selected in this run (--only)" in header.reason


def test_an_unknown_check_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownCheckError, match="no-such-probe"):
        certify_profile("eg", tmp_path, seed=1, max_examples=2, only=["no-such-probe"])


def test_checks_citing_a_requirement_are_derived_from_the_checks() -> None:
    assert checks_citing("MSG-CREDENTIALS", "kmd-opus", vendor=True) == [
        "schemathesis missing_required_header",
        "schemathesis ignored_auth",
        "credentials",
    ]
    assert "scenario cpr-change" in checks_citing("B01-CHANGE-LIABLE", "kmd-opus", vendor=True)
    assert not [c for c in checks_citing("DEBT-INTEREST", "kmd-opus", vendor=True) if c.startswith("scenario")]


def test_a_requirement_no_vendor_behaviour_can_break_is_not_verified_but_can_still_fail() -> None:
    unverifiable = vendor_unverified()
    assert "FBS-FEED" in unverifiable and "B01R-RETRY" in unverifiable
    held = judge(
        [CheckOutcome("scenario x", ("FBS-FEED", "B01-ANNUL"), True)], (), date(2026, 1, 5), unverifiable=unverifiable
    )
    assert held.passed == ["B01-ANNUL"] and held.not_verified == ["FBS-FEED"]
    assert "a debtor system cannot break" in held.outcomes["FBS-FEED"].reason
    broke = judge([CheckOutcome("scenario x", ("FBS-FEED",), False)], (), date(2026, 1, 5), unverifiable=unverifiable)
    assert broke.verdict == NOT_CERTIFIED and broke.failed == ["FBS-FEED"]


def test_oir_certify_only_writes_the_results_but_no_certificate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    runner = CliRunner()
    args = ["certify", "--profile", "eg", "--out", str(tmp_path), "--no-scenarios"]
    result = runner.invoke(app, [*args, "--only", "credentials", "--only", "header-block"])
    assert result.exit_code == 0, result.output
    assert "no certificate" in result.output and "partial run" in result.output
    folder = tmp_path / "eg"
    assert (folder / "results.json").exists() and not (folder / "certificate.json").exists()
    results = json.loads((folder / "results.json").read_text())
    assert sorted(results["requirements"]["passed"]) == ["MSG-CREDENTIALS", "MSG-HEADER-BLOCK"]
    unknown = runner.invoke(app, [*args, "--only", "credentails"])
    assert unknown.exit_code == 2 and "--only 'credentails' names no check of eg" in unknown.output
    assert "did you mean 'credentials'?" in unknown.output
    assert "Traceback" not in unknown.output
