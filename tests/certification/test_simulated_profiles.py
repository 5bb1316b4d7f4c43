"""Certification judges: the simulated profiles pass, and a debtor system that breaks a rule fails
the probes that cite that rule, with the evidence in the report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from contracts.municipalities import for_vendor
from harness.callback_relay import CallbackRelay
from harness.certification.probes import DebtorConversation, run_probes
from harness.servers import ServerThread
from simulators import factory
from tests.support.browser import rendered_dom
from tests.support.ids import without_uuids
from tests.support.misbehaving import Misbehaving

# One full certification per test session (tests/conftest.py): under `-n 2` every test that reads it
# runs on the same worker (`--dist loadgroup`), so it is made once, not once per worker.
pytestmark = pytest.mark.xdist_group("certified-prisme-2009")


def _probe(mode: str, profile: str = "kmd-opus") -> dict[str, Any]:
    inbox = CallbackRelay("t")
    municipalities = for_vendor(profile)
    with ServerThread(inbox.app, name="inbox") as fagsystem:
        app = Misbehaving(factory("debtor")(profile=profile, callback_url=fagsystem.url, callback_token="t"), mode)
        with ServerThread(app, name="broken") as debtor:
            import httpx

            def advance(days: int) -> bool:
                httpx.post(
                    f"{debtor.url}/_sim/clock/advance",
                    json={"days": days},
                    headers={"Authorization": "Bearer oir-dev-token", "X-Sim-Session": "c"},
                ).raise_for_status()
                return True

            results = run_probes(
                lambda: DebtorConversation(debtor.url, "oir-dev-token", municipalities[0], "c"),
                neighbour=municipalities[1],
                b03=True,
                inbox=inbox,
                advance=advance,
                callback_timeout=5,
            )
    return {r.name: r for r in results}


def test_a_debtor_answering_500_to_bad_input_fails_the_problem_json_requirement() -> None:
    results = _probe("500-on-bad-input")
    assert not results["bad-input"].passed and "expected 4xx" in results["bad-input"].message
    assert "MSG-PROBLEM-JSON" in results["bad-input"].requirements
    assert any("-> 500" in line for line in results["bad-input"].evidence)
    assert not results["problem-json"].passed and "MSG-PROBLEM-JSON" in results["problem-json"].requirements
    assert not results["foreign-credentials"].ran  # no other municipality's token was given to the probes
    assert all(
        r.passed for name, r in results.items() if name not in ("bad-input", "problem-json", "foreign-credentials")
    )


def test_a_debtor_without_the_declared_payment_solution_fails_b03() -> None:
    results = _probe("b03-missing")
    assert not results["payment-capability"].passed and not results["payment-callback"].passed
    assert "PROFILE-B03-CAPABILITY" in results["payment-capability"].requirements
    assert results["registration"].passed


@pytest.fixture
def certified(certified_prisme_2009: Path) -> Path:
    return certified_prisme_2009


def test_a_simulated_profile_is_certified_with_a_complete_report(certified: Path) -> None:
    results = json.loads((certified / "results.json").read_text())
    assert results["certified"] is True and results["profile"] == "prisme-2009"
    assert results["verdict"] == "CERTIFIED" and results["requirements"]["failed"] == []
    assert results["fuzz"]["passed"] and all(p["passed"] for p in results["probes"])
    html = (certified / "index.html").read_text()
    assert "CERTIFIED" in html and "PROFILE-B03-CAPABILITY" in html and "B01R-PAYMENT" in html
    junit = (certified / "junit.xml").read_text()
    checks, requirements = ET.fromstring(junit.encode())  # the checks' suite, then the requirements'
    not_applicable = len(results["scenarios"]["notApplicable"])  # the B_03 scenarios, other profiles' quirks
    not_applicable += results["latency"]["status"] == "not-applicable"  # prisme-2009 has no answer-time limit
    assert (checks.get("failures"), checks.get("skipped")) == ("0", str(not_applicable)) and not_applicable
    assert 'name="payment-callback"' in junit and requirements.get("failures") == "0"
    certificate = json.loads((certified / "certificate.json").read_text())["certificate"]
    assert certificate["verdict"] == "CERTIFIED" and certificate["target"]["simulated"] is True
    assert "B01R-PAYMENT" in certificate["requirements"]["passed"] and certificate["requirements"]["failed"] == []
    # prisme-2009 has no payment solution: the B_03 rules do not apply to it, and are never passed
    b03 = {"B03-SEARCH", "B03-PAY", "B03-NEXT-DAY"}
    assert b03 <= set(certificate["requirements"]["notApplicable"]) and not b03 & set(results["requirements"]["passed"])
    assert set(certificate["requirements"]["verifiedHow"].values()) == {"simulator's virtual time"}
    # nothing a check of the run cited is left unverified; what is, no check of the run cites (with why)
    outcomes = {o["id"]: o for o in results["requirements"]["outcomes"]}
    cited = {rid for name in ("fuzz",) for rid in results[name]["requirements"]}
    cited |= {rid for p in results["probes"] for rid in p["requirements"]}
    cited |= {rid for i in results["pact"]["interactions"] for rid in i["requirements"]}
    cited |= {rid for r in results["scenarios"]["runs"] for rid in r["requirements"]}
    assert not cited & set(certificate["requirements"]["notVerified"])
    assert all(outcomes[rid]["reason"] for rid in certificate["requirements"]["notVerified"])
    pact = results["pact"]
    assert pact["passed"] and pact["consumers"] == ["oir-engine"]  # prisme-2009 has no payment solution
    assert {i["description"] for i in pact["interactions"]} >= {"OpretDebitorkonto for a borrower's new fee"}
    assert all(i["status"] == "passed" for i in pact["interactions"])
    assert "B01-CHANGE-LIABLE" in certificate["requirements"]["passed"]  # cited by the engine's pact only
    assert set(certificate["digests"]["pacts"]) == {"oir-engine-oir-debitor-v3"}
    assert 'classname="prisme-2009.pact.oir-engine"' in junit and 'id="pact"' in html
    vendor_contract = (certified / "oir-debitor-v3.vendor.yaml").read_text()
    assert "/simulering/" not in vendor_contract and "/debitorkonti" in vendor_contract
    import re

    results = without_uuids((certified / "results.json").read_text())
    assert not re.search(r"\b[0-3]\d[01]\d{3}-?\d{4}\b", results.replace("-xxxx", ""))


def test_every_catalogue_requirement_is_in_exactly_one_outcome_in_every_file(certified: Path) -> None:
    """Before: a dozen requirements (no check of the harness cites them, or only scenarios that do not
    apply to the profile) appeared in none of passed, failed or not verified, anywhere."""
    from contracts.requirements import load_requirements

    catalogue = sorted(load_requirements())
    results = json.loads((certified / "results.json").read_text())
    assert sorted(o["id"] for o in results["requirements"]["outcomes"]) == catalogue
    certificate = json.loads((certified / "certificate.json").read_text())["certificate"]["requirements"]
    listed = [rid for key in ("passed", "failed", "notApplicable", "notVerified") for rid in certificate[key]]
    assert sorted(listed + [d["requirement"] for d in certificate["acceptedDeviations"]]) == catalogue
    _, requirements = ET.fromstring((certified / "junit.xml").read_bytes())
    assert sorted(case.get("name") or "" for case in requirements) == catalogue
    html = (certified / "index.html").read_text()
    assert sorted(re.findall(r'<tr data-requirement="([^"]+)"', html)) == catalogue
    not_verified = {o["id"]: o["reason"] for o in results["requirements"]["outcomes"] if o["outcome"] == "not-verified"}
    # every rule a machine can check is checked: nothing is left "no check of the harness tests it yet"
    assert not_verified == {}, not_verified
    outcomes = results["requirements"]["outcomes"]
    not_applicable = {o["id"]: o["reason"] for o in outcomes if o["outcome"] == "not-applicable"}
    assert "binds the rollout, not the debtor system" in not_applicable["ROLLOUT-ORDER"]
    assert "binds FBS, not the debtor system" in not_applicable["FBS-NO-PAYMENTS"]
    # Prisme 2009 waits for any answer as long as it takes: a receipt can never outlast its wait
    assert "answer_time_limit" in not_applicable["PSRM-SLOW-RECEIPT"]


def test_the_callback_receivers_journal_is_evidence(certified: Path) -> None:
    """Before: the callback receiver kept what arrived in memory only."""
    journal = json.loads((certified / "evidence" / "callbacks.json").read_text())
    assert journal["callbackUrl"].endswith("/daekningafskrivning")
    accepted = [e for e in journal["received"] if e["status"] == 202]
    assert accepted and all(e["received"] and e["outcome"].startswith("accepted") for e in accepted)
    assert {e["message"]["type"] for e in accepted} >= {"DAEKNING"}  # the payment probe's callback


def test_the_profiles_scenarios_are_checks_of_the_certification(certified: Path) -> None:
    results = json.loads((certified / "results.json").read_text())
    runs = {r["scenario"]: r for r in results["scenarios"]["runs"]}
    assert results["scenarios"]["passed"] and len(runs) >= 30
    assert "nightly-batch-next-business-day" in runs  # Prisme 2009's own quirk
    assert "full-payment-in-payment-solution" not in runs  # it has no payment solution: not applicable
    assert all(r["status"] == "passed" for r in runs.values())
    assert "PROFILE-PRISME2009-NIGHTLY-BATCH" in results["requirements"]["passed"]
    junit = (certified / "junit.xml").read_text()
    assert 'classname="prisme-2009.scenario" name="nightly-batch-next-business-day"' in junit
    assert json.loads((certified / "scenarios" / "results.json").read_text())["verdict"] == "PASSED"
    certificate = json.loads((certified / "certificate.json").read_text())["certificate"]
    assert certificate["verdict"] == "CERTIFIED"


def test_the_probes_leave_har_evidence_with_cpr_masked_and_tokens_redacted(certified: Path) -> None:
    raw = (certified / "evidence" / "probes.har").read_text()
    entries = json.loads(raw)["log"]["entries"]
    assert len(entries) >= 8 and {e["request"]["method"] for e in entries} >= {"GET", "POST"}
    assert any(e["request"]["url"].endswith("/debitorkonti") and e["response"]["status"] == 201 for e in entries)
    assert "oir-dev-token" not in raw and "Bearer ***" in raw
    import re

    unmasked = re.search(r"(?<!\d)[0-3]\d[01]\d{3}-?\d{4}(?!\d)", without_uuids(raw).replace("-xxxx", ""))
    assert "-xxxx" in raw and not unmasked


def test_the_certification_report_in_a_real_browser(certified: Path) -> None:
    dom = rendered_dom(certified / "index.html")
    assert "CERTIFIED" in dom and "NOT_CERTIFIED" not in dom
    assert 'id="scenarios"' in dom and "nightly-batch-next-business-day" in dom
    assert 'href="scenarios/index.html"' in dom and 'id="pact"' in dom
    assert "PROFILE-B03-CAPABILITY" in dom and "B01R-PAYMENT" in dom
    scenario_dom = rendered_dom(certified / "scenarios" / "index.html")
    assert 'id="verdict" class="verdict PASSED">PASSED<' in scenario_dom
