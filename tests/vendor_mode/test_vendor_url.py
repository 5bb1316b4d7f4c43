"""`oir certify --profile P --debtor-url URL` certifies a system the harness did not start: it runs PSRM
and the callback relay on the given ports, says which URLs to configure, runs FBS, the payment solution
and a real engine per scenario around the vendor's system, and judges a debtor system that breaks a
rule as NOT certified, naming the requirement and the evidence in the report."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.servers import ServerThread
from simulators import factory
from tests.support.misbehaving import AsARealSystem, certify_vendor, free_port, misbehaving_debtor, vendor_debtor

runner = CliRunner()


def test_debtor_url_needs_exactly_one_profile() -> None:
    for profiles in ([], ["--profile", "kmd-opus", "--profile", "eg"]):
        result = runner.invoke(app, ["certify", *profiles, "--debtor-url", "http://127.0.0.1:9"])
        assert result.exit_code == 2, result.output
        assert "--debtor-url needs exactly one --profile" in result.output
        assert "Traceback" not in result.output


def test_an_unreachable_debtor_url_is_a_usage_error(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = runner.invoke(
        app, ["certify", "--profile", "eg", "--debtor-url", f"http://127.0.0.1:{port}", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert f"http://127.0.0.1:{port} is unreachable" in result.output
    assert not (tmp_path / "eg").exists()
    bad = runner.invoke(app, ["certify", "--profile", "eg", "--debtor-url", "ftp://example"])
    assert bad.exit_code == 2 and "is not an http(s) URL" in bad.output


@pytest.mark.parametrize(
    ("mode", "probe", "requirement", "evidence"),
    [
        ("500-on-bad-input", "bad-input", "MSG-PROBLEM-JSON", "-> 500"),
        ("b03-missing", "payment-capability", "PROFILE-B03-CAPABILITY", "/indbetaling/soeg"),
        ("ignores-municipality", "own-accounts-only", "B01-OWN-ACCOUNTS-ONLY", "-> 200"),
    ],
)
def test_a_misbehaving_debtor_is_not_certified_and_the_report_names_the_rule(
    tmp_path: Path, mode: str, probe: str, requirement: str, evidence: str
) -> None:
    psrm_port, callback_port = free_port(), free_port()
    with misbehaving_debtor(mode, "kmd-opus", psrm_port=psrm_port, callback_port=callback_port) as debtor:
        result = certify_vendor(tmp_path, debtor.url, psrm_port, callback_port, "--no-scenarios")
    assert result.exit_code == 1, result.output
    assert f"http://127.0.0.1:{psrm_port}" in result.output and f"http://127.0.0.1:{callback_port}" in result.output
    assert "NOT_CERTIFIED" in result.output
    folder = tmp_path / "kmd-opus"
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "NOT_CERTIFIED" and results["certified"] is False
    assert results["target"] == debtor.url
    assert requirement in results["requirements"]["failed"]
    failed = next(p for p in results["probes"] if p["name"] == probe)
    assert failed["status"] == "failed" and any(evidence in line for line in failed["evidence"])
    html = (folder / "index.html").read_text()
    row = re.search(rf"<tr[^>]*><td>{probe}</td>.*?</tr>", html, re.S)
    assert row and requirement in row.group(0) and "FAIL" in row.group(0)
    assert evidence.replace(">", "&gt;") in row.group(0)
    certificate = json.loads((folder / "certificate.json").read_text())["certificate"]
    assert certificate["verdict"] == "NOT_CERTIFIED" and requirement in certificate["requirements"]["failed"]
    assert certificate["target"] == {"debtorUrl": debtor.url, "simulated": False}


@pytest.fixture
def conforming_debtor() -> Iterator[tuple[ServerThread, int, int]]:
    psrm_port, callback_port = free_port(), free_port()
    app_ = vendor_debtor(
        "kmd-opus", psrm_port=psrm_port, callback_port=callback_port, callback_token="vendor-callback-secret"
    )
    with ServerThread(AsARealSystem(app_), name="vendor", log_level="critical") as debtor:
        yield debtor, psrm_port, callback_port


def test_a_conforming_vendor_system_is_certified_with_tokens_from_the_environment(
    tmp_path: Path, conforming_debtor: tuple[ServerThread, int, int]
) -> None:
    debtor, psrm_port, callback_port = conforming_debtor
    env = {"OIR_DEBTOR_TOKEN": "oir-dev-token", "OIR_CALLBACK_TOKEN": "vendor-callback-secret"}
    # --no-wait: the run completes today (test_waiting_session.py waits for the next bank day and resumes)
    result = certify_vendor(tmp_path, debtor.url, psrm_port, callback_port, "--no-wait", env=env)
    assert result.exit_code == 0, result.output
    assert "vendor-callback-secret" not in result.output  # a secret from the environment is not echoed
    results = json.loads((tmp_path / "kmd-opus" / "results.json").read_text())
    runs = {run["scenario"]: run["status"] for run in results["scenarios"]["runs"]}
    # the scenarios that can meet a real system ran against it, with FBS, the payment solution and an engine;
    # the vendor's KONTO_LUKKET reached FBS only through the relay and the scenario's engine
    assert {"fee-to-the-right-debtor", "engine-crash-mid-cycle", "annulment-closes-the-account"} <= set(runs)
    assert set(runs.values()) == {"passed"}
    not_run = {n["scenario"]: n["reason"] for n in results["scenarios"]["notRun"]}
    assert "clock.advance" in not_run["interest"] and "concerns PSRM alone" in not_run["psrm-under-100-kr-rejected"]
    # … and one that needs time to pass says waiting does not help: it needs test control
    assert "`oir certify --resume` resumes the probes only" in not_run["interest"]
    assert "test control" in not_run["interest"] and "test control" not in not_run["psrm-under-100-kr-rejected"]
    assert not set(not_run) & set(runs)
    # in real time a new claim is payable only tomorrow: without waiting the payment probe cannot run, and
    # says how a session that waits would complete it
    probe = next(p for p in results["probes"] if p["name"] == "payment-callback")
    assert probe["status"] == "not-run" and "real time" in probe["message"]
    assert "oir certify --resume SESSION" in probe["message"]
    # … and the payment pacts' states need a day to pass too: not run, never a pass
    not_run_pacts = {i["description"] for i in results["pact"]["interactions"] if i["status"] == "not-run"}
    assert not_run_pacts == {"ForetagIndbetaling of a payable sub-claim", "SoegDelfordringTilIndbetaling for a citizen"}
    assert {"B01R-PAYMENT", "B03-PAY", "B03-NEXT-DAY"} <= set(results["requirements"]["notVerified"])
    # what only the scenarios that could not run cover is not verified either (interest, reminders, handover …)
    assert {"DEBT-INTEREST", "B01R-EXACTLY-ONCE"} <= set(results["requirements"]["notVerified"])
    assert not set(results["requirements"]["notVerified"]) & set(results["requirements"]["passed"])
    certificate = tmp_path / "kmd-opus" / "certificate.json"
    assert json.loads(certificate.read_text())["certificate"]["verdict"] == "CERTIFIED"
    verified = runner.invoke(app, ["verify-certificate", str(certificate)])
    assert verified.exit_code == 0 and "VALID" in verified.output

    # A real test system keeps what every run registered: certifying it again meets no earlier run's
    # borrowers, claims, accounts or CPRs, and comes to the same verdict.
    again = certify_vendor(tmp_path / "again", debtor.url, psrm_port, callback_port, "--no-wait", env=env)
    assert again.exit_code == 0, again.output
    rerun = json.loads((tmp_path / "again" / "kmd-opus" / "results.json").read_text())
    assert rerun["requirements"] == results["requirements"]
    assert {r["scenario"]: r["status"] for r in rerun["scenarios"]["runs"]} == runs

    wrong = certify_vendor(
        tmp_path / "wrong", debtor.url, psrm_port, callback_port, "--no-scenarios", env={"OIR_DEBTOR_TOKEN": "nope"}
    )
    assert wrong.exit_code == 2, wrong.output  # the token is really used: preflight refuses a wrong one
    assert "preflight: the debtor system" in wrong.output and "refused the token" in wrong.output


def test_a_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    with ServerThread(factory("psrm")(), name="reachable", log_level="critical") as reachable:
        busy = reachable.port  # taken: the callback receiver cannot listen there
        args = ["certify", "--profile", "eg", "--debtor-url", reachable.url, "--callback-port", str(busy)]
        result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"cannot start the callback receiver on port {busy}" in result.output
    assert "Traceback" not in result.output


def test_without_b03_the_payment_probe_is_not_run_against_a_vendor_and_never_counts_as_passed(tmp_path: Path) -> None:
    psrm_port, callback_port = free_port(), free_port()
    app_ = AsARealSystem(vendor_debtor("eg", psrm_port=psrm_port, callback_port=callback_port))
    with ServerThread(app_, name="vendor-eg", log_level="critical") as debtor:
        result = certify_vendor(tmp_path, debtor.url, psrm_port, callback_port, "--no-scenarios", profile="eg")
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "eg" / "results.json").read_text())
    probe = next(p for p in results["probes"] if p["name"] == "payment-callback")
    assert probe["status"] == "not-run" and "cannot make" in probe["message"]
    assert "B01R-PAYMENT" in results["requirements"]["notVerified"]
    assert "B01R-PAYMENT" not in results["requirements"]["passed"]
    certificate = json.loads((tmp_path / "eg" / "certificate.json").read_text())["certificate"]
    assert "B01R-PAYMENT" in certificate["requirements"]["notVerified"]
    junit = (tmp_path / "eg" / "junit.xml").read_text()
    assert 'name="payment-callback"><properties>' in junit and "NOT RUN (not a pass)" in junit
