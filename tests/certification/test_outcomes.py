"""Four outcomes per requirement and one status per check, the same in every file of a report folder.

results.json, junit.xml and index.html agree on every check — passed, failed, accepted deviation, not
run and not applicable — and, with certificate.json, on every requirement's outcome: verified (and
how), failed, accepted deviation, not applicable, not verified. Shown on a report built from a known
judgement, and on a real certification of EG's system in vendor mode whose callbacks are lost: the
annulment scenario then fails the callback requirement, not B01-ANNUL, and the B_03 requirements are
not applicable to EG, never passed.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from contracts.checks.pact import NOT_RUN_REASON
from contracts.profile import Deviation, profile_capabilities
from contracts.requirements import not_applicable
from harness.certification import Target, certify_profile
from harness.certification.judge import judge
from harness.certification.keys import PUBLIC_KEY_FILE
from harness.certification.pacts import PactInteraction, PactPart
from harness.certification.probes import ProbeResult
from harness.certification.report import LABELS, OUTCOME_LABELS, SKIPPED, write_report
from harness.certification.run import FuzzCheck, FuzzResult, check_outcomes
from harness.certification.scenarios import ScenarioCheck, ScenarioRun, ScenarioSkip
from harness.cli import app
from harness.servers import ServerThread
from tests.support.browser import screenshot
from tests.support.known_run import vendor_result
from tests.support.misbehaving import AsARealSystem, free_port, vendor_debtor

# One worker builds the module's expensive fixtures (scoped to the module) once for all its tests;
# with --dist loadgroup spread over two workers, each would compute them again.
pytestmark = pytest.mark.xdist_group("silent-eg")

B03 = {"B03-SEARCH", "B03-PAY", "B03-NEXT-DAY"}
CERTIFICATE_LISTS = {
    "passed": "verified",
    "failed": "failed",
    "notApplicable": "not-applicable",
    "notVerified": "not-verified",
}


# ---- reading one report folder three (four) ways -----------------------------------------------------
def _results_checks(results: dict[str, Any]) -> dict[str, str]:
    statuses = {c["check"]: c["status"] for c in results["fuzz"]["checks"]}
    statuses |= {p["name"]: p["status"] for p in results["probes"]}
    statuses |= {i["check"]: i["status"] for i in results["pact"]["interactions"]}
    scenarios = results.get("scenarios") or {}
    for key in ("runs", "notRun", "notApplicable"):
        statuses |= {s["check"]: s["status"] for s in scenarios.get(key, [])}
    for key in ("latency", "sentMessages"):  # what the run observed: answer times, the vendor's messages
        if key in results:
            statuses[results[key]["check"]] = results[key]["status"]
    return statuses


def _junit_status(case: ET.Element, skipped_kinds: dict[str, str]) -> str:
    if case.find("failure") is not None:
        return "failed"
    if case.find("error") is not None:
        return "error"
    skipped = case.find("skipped")
    if skipped is None:
        return "passed"
    message = skipped.get("message") or ""
    return next(kind for kind, prefix in skipped_kinds.items() if message.startswith(prefix))


def _junit(folder: Path) -> tuple[dict[str, str], dict[str, str], dict[str, ET.Element]]:
    root = ET.parse(folder / "junit.xml").getroot()
    assert root.tag == "testsuites"
    checks: dict[str, str] = {}
    requirements: dict[str, str] = {}
    cases: dict[str, ET.Element] = {}
    for case in root.iter("testcase"):
        kind = (case.get("classname") or "").split(".", 1)[1]
        name = case.get("name") or ""
        if kind == "requirement":
            status = _junit_status(case, SKIPPED)
            requirements[name] = "verified" if status == "passed" else status
            continue
        check = {"contract": name, "probes": name, "observed": name, "scenario": f"scenario {name}"}.get(kind)
        if check is None:  # pact.<consumer>
            check = f"pact {kind.removeprefix('pact.')}: {name}"
        checks[check] = _junit_status(case, SKIPPED)
        cases[check] = case
    return checks, requirements, cases


def _html(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    page = (folder / "index.html").read_text(encoding="utf-8")
    checks = {}
    for check, status, row in re.findall(r'<tr data-check="([^"]*)" data-status="([^"]*)">(.*?)</tr>', page, re.S):
        assert f">{LABELS[status]}<" in row, row  # what a person reads says the same
        checks[html.unescape(check)] = status
    requirements = {}
    for rid, outcome, row in re.findall(
        r'<tr data-requirement="([^"]*)" data-outcome="([^"]*)">(.*?)</tr>', page, re.S
    ):
        assert f">{OUTCOME_LABELS[outcome]}" in row, row
        requirements[rid] = outcome
    return checks, requirements


def _certificate_outcomes(folder: Path) -> dict[str, str]:
    listed = json.loads((folder / "certificate.json").read_text())["certificate"]["requirements"]
    outcomes = {rid: outcome for key, outcome in CERTIFICATE_LISTS.items() for rid in listed[key]}
    outcomes |= {d["requirement"]: "accepted-deviation" for d in listed["acceptedDeviations"]}
    return outcomes


def assert_report_agrees(folder: Path) -> dict[str, Any]:
    """Every check has the same status, and every requirement the same outcome, in every file; each
    requirement is in exactly one of the certificate's lists. Returns results.json."""
    results = json.loads((folder / "results.json").read_text())
    junit_checks, junit_requirements, _ = _junit(folder)
    html_checks, html_requirements = _html(folder)
    from_results = _results_checks(results)
    assert junit_checks == from_results
    assert html_checks == from_results
    outcomes = {o["id"]: o["outcome"] for o in results["requirements"]["outcomes"]}
    assert junit_requirements == outcomes
    assert html_requirements == outcomes
    assert _certificate_outcomes(folder) == {rid: o for rid, o in outcomes.items()}
    certificate = json.loads((folder / "certificate.json").read_text())["certificate"]["requirements"]
    listed = [rid for key in CERTIFICATE_LISTS for rid in certificate[key]]
    listed += [d["requirement"] for d in certificate["acceptedDeviations"]]
    assert len(listed) == len(set(listed))
    assert set(certificate["verifiedHow"]) == set(certificate["passed"])
    return results


# ---- a report from a known judgement: every status at once, in milliseconds ----------------------------
@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fuzz = FuzzResult(
        passed=True,
        exit_code=0,
        summary="all checks passed",
        checks=[FuzzCheck("schemathesis not_a_server_error", "not_a_server_error", ["MSG-PROBLEM-JSON"], 12)],
    )
    probes = [
        ProbeResult("registration", ["B01-CREATE-ACCOUNT", "B02-LOOKUP"], True, "registered"),
        ProbeResult("bad-input", ["MSG-PROBLEM-JSON"], False, "answered 500", ["POST /debitorkonti -> 500"]),
        ProbeResult("payment-callback", ["B01R-PAYMENT"], False, "no bank transfer possible", ran=False),
    ]
    pact = PactPart(
        provider="oir-debitor-v3",
        consumers=["oir-engine"],
        files={},
        seconds=1.0,
        interactions=[
            PactInteraction("pact oir-engine: held", "oir-engine", "held", ["B01-WRITE-DOWN"], True),
            PactInteraction("pact oir-engine: broke", "oir-engine", "broke", ["B01-CHANGE-LIABLE"], False, ["x"]),
            PactInteraction(
                "pact oir-engine: waits", "oir-engine", "waits", ["B01-ADD-CLAIMS"], False, [NOT_RUN_REASON], ran=False
            ),
            # ran, but concerns only B_03, which EG does not offer: not applicable, never "failed"
            PactInteraction("pact oir-payment: pays", "oir-payment", "pays", ["B03-PAY"], False, ["no /indbetalinger"]),
        ],
    )
    scenarios = ScenarioCheck(
        runs=[
            ScenarioRun("routing", "Routing", ["ROUTE-PER-MUNICIPALITY"], True, "passed"),
            ScenarioRun(
                "annulment",
                "Annulment",
                ["B01-ANNUL", "B01R-ACCOUNT-CLOSED", "FBS-FEED"],
                False,
                "failed",
                "kontoLukket: expected True",
                "scenarios/suites/x.scenario.yaml",
                17,
                blamed=["B01R-ACCOUNT-CLOSED"],
            ),
        ],
        not_run=[ScenarioSkip("interest", "needs virtual time (clock.advance)", ["DEBT-INTEREST"])],
        not_applicable=[
            ScenarioSkip("full-payment", "requires b03_payment, which eg does not declare", ["B01R-PAYMENT"])
        ],
    )
    deviation = Deviation(requirement="MSG-PROBLEM-JSON", owner="EG", reason="fix in 24.2", expires=date(2027, 1, 1))
    judgement = judge(
        check_outcomes(fuzz, probes, pact, scenarios),
        (deviation,),
        date(2026, 12, 1),
        not_applicable=not_applicable(profile_capabilities("eg")),
    )
    result = vendor_result("eg", "EG", fuzz, probes, pact, scenarios, judgement)
    folder = tmp_path_factory.mktemp("known") / "eg"
    write_report(result, folder, key=Ed25519PrivateKey.generate())
    return folder


def test_every_file_says_the_same_of_every_check_and_requirement(known: Path) -> None:
    results = assert_report_agrees(known)
    statuses = _results_checks(results)
    assert set(statuses.values()) == {"passed", "failed", "accepted-deviation", "not-run", "not-applicable"}
    assert statuses["scenario full-payment"] == "not-applicable" and statuses["pact oir-engine: waits"] == "not-run"
    outcomes = {o["id"]: o for o in results["requirements"]["outcomes"]}
    assert {o["outcome"] for o in outcomes.values()} == {
        "verified",
        "failed",
        "accepted-deviation",
        "not-applicable",
        "not-verified",
    }
    assert outcomes["B01-ANNUL"]["outcome"] == "verified" and outcomes["B01-ANNUL"]["how"] == "real time"
    assert outcomes["B01R-ACCOUNT-CLOSED"]["outcome"] == "failed"
    assert outcomes["B03-PAY"]["outcome"] == "not-applicable" and "b03_payment" in outcomes["B03-PAY"]["reason"]
    assert "no bank transfer possible" in outcomes["B01R-PAYMENT"]["reason"]  # not run, and why


def test_a_probe_that_names_the_rule_it_saw_broken_fails_that_rule_only() -> None:
    """Before: a failed probe blamed every requirement it cites, so a test control that answered without a
    token failed TC-BANK-TRANSFER and TC-SENT-MESSAGES too. A probe that says which rule broke fails that
    one; the others it cites it stopped before judging (not verified by it, never passed)."""
    fuzz = FuzzResult(passed=True, exit_code=0, summary="", checks=[])
    tc = ["TC-AUTH", "TC-BUSINESS-DATE", "TC-BANK-TRANSFER"]
    probe = ProbeResult(
        "test-control", tc, False, "answered 200 without the token", blamed=["TC-AUTH"], unproven=tc[1:]
    )
    checks = check_outcomes(fuzz, [probe], PactPart("oir-debitor-v3", [], {}, 0.0, []), None)
    judgement = judge(checks, (), date(2026, 12, 1))
    assert judgement.verdict == "NOT_CERTIFIED" and judgement.failed == ["TC-AUTH"]
    assert judgement.not_verified == ["TC-BANK-TRANSFER", "TC-BUSINESS-DATE"] and judgement.passed == []
    everything = check_outcomes(
        fuzz, [ProbeResult("test-control", tc, False, "x")], PactPart("p", [], {}, 0.0, []), None
    )
    assert judge(everything, (), date(2026, 12, 1)).failed == sorted(tc)  # no rule named: all it cites


def test_junit_does_not_call_a_pact_interaction_that_was_not_run_failed(known: Path) -> None:
    """Before: its JUnit text said 'pact interaction failed', contradicting results.json."""
    _, _, cases = _junit(known)
    skipped = cases["pact oir-engine: waits"].find("skipped")
    assert skipped is not None and cases["pact oir-engine: waits"].find("failure") is None
    message = skipped.get("message") or ""
    assert message.startswith("NOT RUN (not a pass)") and "failed" not in message
    assert NOT_RUN_REASON in message
    broke = cases["pact oir-engine: broke"].find("failure")
    assert broke is not None and "pact interaction failed" in (broke.get("message") or "")
    annulment = cases["scenario annulment"].find("failure")
    assert annulment is not None and "fails B01R-ACCOUNT-CLOSED" in (annulment.get("message") or "")


def test_no_junit_or_html_text_contradicts_the_status(known: Path) -> None:
    """A check that passed, was not run or does not apply is never worded as failed in junit.xml or
    index.html (before: a not-applicable pact interaction read "pact interaction failed")."""
    junit_statuses, _, cases = _junit(known)
    assert junit_statuses["pact oir-payment: pays"] == "not-applicable"
    for check, case in cases.items():
        if junit_statuses[check] in ("passed", "not-run", "not-applicable"):
            text = " ".join((element.get("message") or "") for element in case if element.tag != "properties")
            assert "fail" not in text.lower(), (check, text)
    page = (known / "index.html").read_text(encoding="utf-8")
    for check, status, row in re.findall(r'<tr data-check="([^"]*)" data-status="([^"]*)">(.*?)</tr>', page, re.S):
        if status in ("passed", "not-run", "not-applicable"):
            assert "FAIL" not in row and "fails " not in row, (check, row)


# ---- a real certification: EG's system in vendor mode, its callbacks lost ------------------------------
@pytest.fixture(scope="module")
def silent_eg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """EG's debtor system, as a vendor runs it (no /_sim/, no sessions), that believes it sent its
    callbacks but never does (`drop_callbacks`), certified with its scenarios."""
    psrm_port, callback_port = free_port(), free_port()
    app_ = AsARealSystem(
        vendor_debtor("eg", psrm_port=psrm_port, callback_port=callback_port, misbehaviour="drop_callbacks")
    )
    folder = tmp_path_factory.mktemp("silent-eg") / "eg"
    with ServerThread(app_, name="silent-vendor", log_level="critical") as debtor:
        result = certify_profile(
            "eg",
            folder,
            seed=1,
            max_examples=2,
            callback_timeout=10,
            target=Target(debtor_url=debtor.url, psrm_port=psrm_port, callback_port=callback_port),
            scenarios=True,
        )
    write_report(result, folder, key=Ed25519PrivateKey.generate())  # its public key is written beside it
    yield folder


def test_a_lost_callback_fails_the_callback_requirement_not_the_annulment(silent_eg: Path) -> None:
    """Before: the annulment scenario's failure was reported as B01-ANNUL (and FBS-FEED) failed too."""
    results = json.loads((silent_eg / "results.json").read_text())
    assert results["verdict"] == "NOT_CERTIFIED"
    run = next(r for r in results["scenarios"]["runs"] if r["scenario"] == "annulment-closes-the-account")
    assert run["status"] == "failed" and "kontoLukket" in run["message"]
    assert run["blamed"] == ["B01R-ACCOUNT-CLOSED"] and run["unproven"] == []
    assert run["file"].endswith("annulment-closes-the-account.scenario.yaml") and run["line"]
    assert all(r["status"] == "passed" for r in results["scenarios"]["runs"] if r is not run)
    requirements = results["requirements"]
    assert "B01R-ACCOUNT-CLOSED" in requirements["failed"]
    assert "B01-ANNUL" in requirements["passed"]
    # FBS's feed is the harness's own: no vendor's system can break it, so a vendor run never passes it
    assert "FBS-FEED" in requirements["notVerified"] and "FBS-FEED" not in requirements["passed"]
    assert "B01-ANNUL" not in requirements["failed"] and "FBS-FEED" not in requirements["failed"]
    certificate = json.loads((silent_eg / "certificate.json").read_text())["certificate"]
    assert "B01-ANNUL" not in certificate["requirements"]["failed"]
    assert certificate["requirements"]["failed"] == requirements["failed"]
    page = (silent_eg / "index.html").read_text()
    row = re.search(r'<tr data-check="scenario annulment-closes-the-account"[^>]*>.*?</tr>', page, re.S)
    assert row and "FAIL" in row.group(0) and "fails B01R-ACCOUNT-CLOSED" in row.group(0)
    assert (silent_eg / "scenarios" / "index.html").exists()


def test_a_lost_callback_names_the_callback_url_that_received_nothing(silent_eg: Path) -> None:
    """Before: only 'kontoLukket: expected True, saw False after 20 s', and no journal of the receiver."""
    journal = json.loads((silent_eg / "evidence" / "callbacks.json").read_text())
    url = journal["callbackUrl"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/daekningafskrivning")
    assert not [e for e in journal["received"] if "preflight" not in e["outcome"]]  # nothing came from the system
    results = json.loads((silent_eg / "results.json").read_text())
    failure = next(f for f in results["failures"] if f["check"] == "scenario annulment-closes-the-account")
    assert f"no callback reached {url} during this scenario" in failure["message"]
    assert "kontoLukket" in failure["message"] and failure["step"].startswith("line ")
    assert failure["curl"].startswith("curl -X GET ") and "/_sim/" not in failure["curl"] and failure["answer"]
    page = (silent_eg / "index.html").read_text()
    assert page.index('id="failures"') < page.index('id="coverage"')
    png = screenshot(silent_eg / "index.html", silent_eg / "screenshot-lost-callbacks.png")
    target = os.environ.get("OIR_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        png = Path(shutil.copy(png, Path(target) / "certification-eg-lost-callbacks.png"))
    print(f"screenshot of a real NOT_CERTIFIED report (EG, callbacks lost): {png}")


def test_egs_b03_requirements_are_not_applicable_never_passed(silent_eg: Path) -> None:
    results = json.loads((silent_eg / "results.json").read_text())
    requirements = results["requirements"]
    assert B03 <= set(requirements["notApplicable"]) and not B03 & set(requirements["passed"])
    # the probe that proves B_03 absent cites the absence's own requirements, not B_03's
    capability = next(p for p in results["probes"] if p["name"] == "payment-capability")
    assert capability["status"] == "passed"
    assert capability["requirements"] == ["PROFILE-B03-CAPABILITY", "B03-ABSENT-NO-PAY-BUTTON"]
    assert "B03-ABSENT-NO-PAY-BUTTON" in requirements["passed"]
    not_applicable_runs = {s["scenario"]: s for s in results["scenarios"]["notApplicable"]}
    assert "b03_payment" in not_applicable_runs["full-payment-in-payment-solution"]["reason"]
    assert not B03 & {rid for s in not_applicable_runs.values() for rid in s["requirements"]}
    certificate = json.loads((silent_eg / "certificate.json").read_text())["certificate"]
    assert B03 <= set(certificate["requirements"]["notApplicable"])
    assert not B03 & set(certificate["requirements"]["passed"])
    assert set(certificate["requirements"]["verifiedHow"].values()) == {"real time"}


def test_the_real_reports_files_agree(silent_eg: Path) -> None:
    results = assert_report_agrees(silent_eg)
    assert {"passed", "failed", "not-run", "not-applicable"} <= set(_results_checks(results).values())


def test_the_certificate_of_the_real_run_verifies(silent_eg: Path) -> None:
    key = silent_eg / PUBLIC_KEY_FILE
    verified = CliRunner().invoke(
        app, ["verify-certificate", str(silent_eg / "certificate.json"), "--public-key", str(key)]
    )
    # genuine, but NOT_CERTIFIED: valid (not 1), and not a pass (not 0)
    assert verified.exit_code == 3 and "VALID, NOT A PASS" in verified.output, verified.output
