"""A vendor whose test system offers test control (`oir-testkontrol-v1`), certified with
`oir certify --debtor-url URL --test-control`: the debtor simulator wrapped as a real system (no `/_sim/`,
no sessions) that still offers test control. Every scenario that applies to the profile runs against it
— but those the README lists as not verifiable against any vendor, each with its reason — and a vendor
whose jobs misbehave is not certified, the failed requirements naming what broke."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contracts.profile import PROFILE_NAMES
from contracts.requirements import vendor_unverified
from harness.cli import app
from harness.servers import ServerThread
from simulators import factory
from tests.support.misbehaving import AsARealSystem, certify_vendor, free_port, vendor_debtor

runner = CliRunner()

# Scenarios that stay NOT RUN against a vendor even with test control, with why (README: "Certifying a
# vendor with test control"): a fixed start date, or the debtor's own simulator (its faults, its settings).
STILL_NOT_RUN = {
    "business-days-over-christmas": "starts at a set date",
    "deadlines-over-danish-holidays": "starts at a set date",
    "nightly-batch-next-business-day": "starts at a set date",
    "deadline-on-christmas-eve": "starts at a set date",
    "payment-hold-until-a-closed-day": "starts at a set date",
    "balance-statement-shows-debtor-payments": "starts at a set date",
    "engine-down-while-callbacks-arrive": "debtor.callbacks",
    "engine-crash-at-callback-intake": "debtor.callbacks",
    "duplicated-callback-posted-once": "faults.add",
    "lost-callback-repaired-by-reconciliation": "faults.add",
    "out-of-order-callbacks": "faults.add",
    "debtor-outage": "faults.add",
    "slow-answers": "faults.add",
    "rejected-then-corrected": "debtor.settings",
    "write-off-reaches-fbs": "debtor.write_off",
}
# Requirements only those scenarios cover: NOT VERIFIED against a vendor, each listed in the README.
README_NOT_VERIFIED = {
    "B01-REJECT-WITH-REASON",  # rejected-then-corrected: the debtor's sortiment switched by its simulator
    "FBS-REJECTION-CORRECTED",  # the same scenario
    "PSRM-ACTION-ID-UNIQUE",  # PSRM's own rules: the harness's PSRM simulator, not the vendor's system
    "PSRM-NO-MERGE",
    "B01R-RETRY",  # a callback that failed and is delivered later: a fault injected into the debtor
    "B01R-WRITE-OFF",  # write-off-reaches-fbs: a caseworker's write-off, made through the debtor's simulator
    "PROFILE-PRISME2009-NIGHTLY-BATCH",  # the batch scenarios start on a set Friday / before Easter
    "DEBT-DEADLINE-ON-BANK-DAY",  # deadline-on-christmas-eve starts on a set date (a claim made on 24 November)
}


def certify(out: Path, profile: str, *extra: str, **settings: Any) -> tuple[int, str, dict[str, Any], float]:
    """Certify a wrapped simulator of `profile` offering test control; the exit code, output, results and
    how long it took (real time)."""
    psrm_port, callback_port = free_port(), free_port()
    debtor = vendor_debtor(profile, psrm_port=psrm_port, callback_port=callback_port, **settings)
    with ServerThread(AsARealSystem(debtor), name=f"vendor-{profile}", log_level="critical") as server:
        started = time.monotonic()  # real time: how long a vendor-mode certification takes
        result = certify_vendor(
            out, server.url, psrm_port, callback_port, *extra, env={"OIR_TEST_CONTROL": "1"}, profile=profile
        )
        seconds = time.monotonic() - started
    folder = out / profile
    results = json.loads((folder / "results.json").read_text()) if (folder / "results.json").exists() else {}
    return result.exit_code, result.output, results, seconds


@pytest.fixture(scope="module", params=PROFILE_NAMES)
def certified(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, str, dict[str, Any], float]:
    """One certification per profile (a fixture per profile, so two workers share the five)."""
    profile = request.param
    run = certify(tmp_path_factory.mktemp(f"test-control-{profile}"), profile)
    print(f"{profile}: vendor-mode certification with test control took {run[3]:.0f} s")
    return run


def test_every_applicable_scenario_runs_against_a_vendor_with_test_control(
    certified: tuple[int, str, dict[str, Any], float],
) -> None:
    code, output, results, _ = certified
    assert code == 0, output
    assert "test control: the vendor's business date is" in output
    scenarios = results["scenarios"]
    runs = {run["scenario"]: run["status"] for run in scenarios["runs"]}
    assert set(runs.values()) == {"passed"}, runs
    # the clock, bank transfers and the journal went through test control: interest, reminders, handover …
    assert {"interest", "reminders-with-fees", "handover-after-srb-reminders-notice", "partial-payments"} <= set(runs)
    not_run = {n["scenario"]: n["reason"] for n in scenarios["notRun"]}
    for scenario, reason in not_run.items():
        assert scenario in STILL_NOT_RUN or "concerns PSRM alone" in reason, (scenario, reason)
        if scenario in STILL_NOT_RUN:
            assert STILL_NOT_RUN[scenario] in reason, (scenario, reason)
    requirements = results["requirements"]
    # and what the catalogue says no debtor system can break (`vendor_unverified:`, e.g. the engine's routing)
    allowed = README_NOT_VERIFIED | set(vendor_unverified())
    assert set(requirements["notVerified"]) <= allowed, set(requirements["notVerified"]) - allowed
    assert {"DEBT-INTEREST", "B01R-PAYMENT", "B01R-EXACTLY-ONCE"} <= set(requirements["passed"])
    assert {"TC-AUTH", "TC-BUSINESS-DATE", "TC-ADVANCE-RUNS-JOBS", "TC-BANK-TRANSFER", "TC-SENT-MESSAGES"} <= set(
        requirements["passed"]
    )
    probes = {p["name"]: p["status"] for p in results["probes"]}
    assert probes["payment-callback"] == "passed" and probes["test-control"] == "passed"
    assert not [i for i in results["pact"]["interactions"] if i["status"] == "not-run"]
    assert {o.get("how") for o in requirements["outcomes"] if o["outcome"] == "verified"} == {"vendor's test clock"}


@pytest.mark.parametrize(
    ("switch", "requirement", "check"),
    [
        ("no_interest", "DEBT-INTEREST", "scenario interest"),
        ("handover_before_srb", "DEBT-HANDOVER-AFTER-REMINDERS", "scenario handover-after-srb-reminders-notice"),
        ("drop_every_second_callback", "B01R-PAYMENT", "scenario partial-payments"),
    ],
)
def test_a_vendor_whose_jobs_misbehave_is_not_certified(
    tmp_path: Path, switch: str, requirement: str, check: str
) -> None:
    """Limited to the check that must catch it (`--only`: seconds, not a whole certification); the same
    checks pass against the conforming system above."""
    code, output, results, _ = certify(tmp_path, "kmd-opus", "--only", check, misbehaviour=switch)
    assert code == 1, output
    assert results["verdict"] == "NOT_CERTIFIED"
    failed = results["requirements"]["failed"]
    print(f"{switch}: failed {failed}")
    assert requirement in failed, failed
    statuses = {p["name"]: p["status"] for p in results["probes"]} | {
        f"scenario {r['scenario']}": r["status"] for r in results["scenarios"]["runs"]
    }
    assert statuses[check] == "failed", statuses


def test_test_control_is_a_vendor_s_declaration_checked_before_anything_runs(tmp_path: Path) -> None:
    alone = runner.invoke(app, ["certify", "--profile", "eg", "--test-control", "--out", str(tmp_path)])
    assert alone.exit_code == 2 and "--test-control is a vendor's declaration: it needs --debtor-url" in alone.output
    # a system that does not offer it (here: a PSRM simulator has no /testkontrol) is refused with what it answered
    with ServerThread(factory("psrm")(), name="no-test-control", log_level="critical") as other:
        refused = runner.invoke(
            app,
            ["certify", "--profile", "eg", "--debtor-url", other.url, "--test-control", "--out", str(tmp_path)],
        )
    assert refused.exit_code == 2, refused.output
    assert "/testkontrol/forretningsdato answered 404" in refused.output and "Traceback" not in refused.output
    assert not (tmp_path / "eg").exists()
