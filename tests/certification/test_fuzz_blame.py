"""Contract fuzzing blames what its evidence is against, shows how to reproduce it, and never passes a
system it could not exercise.

The schemathesis command line (as certification runs it, `run_schemathesis`) against two debtor systems
that get their credentials wrong (tests/support/gatekeepers.py): one accepts requests without a valid
token, one refuses every request with 401. Each run is judged and written as a report folder the way
certification does, so results.json, junit.xml and index.html are read as a vendor would read them.
"""

from __future__ import annotations

import html
import json
import re
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.checks.fuzz import FuzzResult, run_schemathesis, vendor_contract
from contracts.profile import profile_path
from harness.certification.judge import NOT_CERTIFIED, judge
from harness.certification.pacts import PactPart
from harness.certification.report import write_report
from harness.certification.run import CertificationResult, check_outcomes
from harness.servers import ServerThread
from simulators import factory
from tests.certification.test_outcomes import assert_report_agrees
from tests.support.gatekeepers import AcceptsAnyCredentials, RefusesEveryone
from tests.support.ids import without_uuids

TOKEN = "vendor-secret-token-4711"  # never in any file of the report folder
FUZZ_REQUIREMENTS = {
    "MSG-CREDENTIALS",
    "MSG-HEADER-BLOCK",
    "MSG-MUNICIPALITY-CVR",
    "MSG-PROBLEM-JSON",
    "MSG-CONTRACT-ANSWERS",
    "MSG-CONTRACT-REQUESTS",
}
CPR = re.compile(r"(?<![0-9])[0-3][0-9][01][0-9]{3}-?[0-9]{4}(?![0-9])")


def _certify_fuzz_only(wrapper: type, folder: Path) -> tuple[CertificationResult, FuzzResult]:
    """Fuzz the wrapped KMD Opus simulator as certification does, judge the fuzzing alone, write the report."""
    folder.mkdir(parents=True)
    app = wrapper(factory("debtor")(profile="kmd-opus"))
    with ServerThread(app, name=wrapper.__name__, log_level="critical") as debtor:
        fuzz = run_schemathesis(
            vendor_contract(folder / "oir-debitor-v3.vendor.yaml"), debtor.url, folder, 1, 2, TOKEN, "fuzz-blame"
        )
    pact = PactPart(provider="oir-debitor-v3", consumers=[], files={}, seconds=0.0, interactions=[])
    judgement = judge(check_outcomes(fuzz, [], pact, None), (), date(2026, 12, 1))
    result = CertificationResult(
        profile="kmd-opus",
        product="KMD Opus",
        target=debtor.url,
        seed=1,
        contract_digest="sha256:0",
        started="2026-12-01T09:00:00+00:00",
        seconds=1.0,
        fuzz=fuzz,
        probes=[],
        debtor_url=debtor.url,
        simulated=False,
        judgement=judgement,
        profile_file=profile_path("kmd-opus"),
        pact=pact,
        scenarios=None,
    )
    write_report(result, folder, key=Ed25519PrivateKey.generate())
    return result, fuzz


@pytest.fixture(scope="module")
def lax(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificationResult, FuzzResult, Path]:
    folder = tmp_path_factory.mktemp("fuzz-lax") / "report"
    return (*_certify_fuzz_only(AcceptsAnyCredentials, folder), folder)


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificationResult, FuzzResult, Path]:
    folder = tmp_path_factory.mktemp("fuzz-refusing") / "report"
    return (*_certify_fuzz_only(RefusesEveryone, folder), folder)


def _fuzz_check(results: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in results["fuzz"]["checks"] if c["schemathesis"] == name)


def test_accepting_requests_without_credentials_fails_the_credentials_requirement_only(
    lax: tuple[CertificationResult, FuzzResult, Path],
) -> None:
    """Before: every fuzzing failure failed MSG-PROBLEM-JSON, MSG-HEADER-BLOCK and MSG-MONEY-OERE."""
    result, fuzz, folder = lax
    assert fuzz.error == "" and not fuzz.passed
    judgement = result.judgement
    assert judgement.verdict == NOT_CERTIFIED
    assert judgement.failed == ["MSG-CREDENTIALS"]
    assert "MSG-MONEY-OERE" not in judgement.failed and "MSG-PROBLEM-JSON" not in judgement.failed
    # the checks that held prove their own requirements …
    assert {"MSG-PROBLEM-JSON", "MSG-CONTRACT-ANSWERS", "MSG-CONTRACT-REQUESTS"} <= set(judgement.passed)
    # … and a header no request left out (schemathesis stops an operation at its first failure) is not proven
    header_block = judgement.outcomes["MSG-HEADER-BLOCK"]
    assert header_block.outcome == "not-verified" and "first failure" in header_block.reason
    assert result.status("schemathesis ignored_auth") == "failed"
    assert result.status("schemathesis not_a_server_error") == "passed"
    results = json.loads((folder / "results.json").read_text())
    assert results["requirements"]["failed"] == ["MSG-CREDENTIALS"]
    assert results["fuzz"]["status"] == "failed"
    ignored = _fuzz_check(results, "ignored_auth")
    assert ignored["status"] == "failed" and ignored["requirements"] == ["MSG-CREDENTIALS"]
    assert {f["operation"] for f in ignored["failures"]} >= {"POST /debitorkonti"}
    assert all(f["requirements"] == ["MSG-CREDENTIALS"] for f in ignored["failures"])
    assert _fuzz_check(results, "not_a_server_error")["status"] == "passed"


def test_each_failure_has_operation_check_and_a_masked_curl_line_in_all_three_files(
    lax: tuple[CertificationResult, FuzzResult, Path],
) -> None:
    _, fuzz, folder = lax
    failure = next(f for f in fuzz.failures if f.check == "ignored_auth" and f.operation == "POST /debitorkonti")
    assert failure.curl.startswith("curl -X POST") and failure.curl.endswith("/debitorkonti")
    assert "Authorization" not in failure.curl  # what was sent: no credentials at all, and it was accepted
    assert '"cpr": "' in failure.curl and not CPR.search(without_uuids(failure.curl).replace("-xxxx", ""))
    assert "-xxxx" in failure.curl  # the borrower's CPR, masked

    results = json.loads((folder / "results.json").read_text())
    listed = _fuzz_check(results, "ignored_auth")["failures"]
    in_results = next(f for f in listed if f["operation"] == failure.operation)
    assert in_results["curl"] == failure.curl and in_results["check"] == "ignored_auth"

    junit = ET.parse(folder / "junit.xml").getroot()
    case = next(c for c in junit.iter("testcase") if c.get("name") == "schemathesis ignored_auth")
    element = case.find("failure")
    assert element is not None and "POST /debitorkonti" in (element.get("message") or "")
    assert "MSG-CREDENTIALS" in (element.get("message") or "")
    assert failure.curl in (element.text or "")

    page = (folder / "index.html").read_text(encoding="utf-8")
    row = re.search(r'<tr data-check="schemathesis ignored_auth".*?</tr>', page, re.S)
    assert row and "FAIL" in row.group(0) and "POST /debitorkonti" in row.group(0)
    assert failure.curl in html.unescape(row.group(0))

    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert TOKEN not in text, path
            # The contract's examples are synthetic CPR numbers, so a .yaml copy may hold them.
            assert not CPR.search(without_uuids(text).replace("-xxxx", "")) or path.suffix == ".yaml", path


def test_a_vendor_refusing_every_request_is_an_error_of_the_run_never_a_pass(
    refusing: tuple[CertificationResult, FuzzResult, Path],
) -> None:
    """Before: schemathesis exits 0 (every 401 is a documented answer), so fuzzing was reported passed."""
    result, fuzz, folder = refusing
    assert fuzz.exit_code == 0  # schemathesis itself calls it a pass …
    assert not fuzz.passed and "all 7 operations answered only 401/403" in fuzz.error  # … the harness does not
    assert {result.status(c.check) for c in fuzz.checks} == {"error"}
    assert result.verdict == NOT_CERTIFIED
    assert not FUZZ_REQUIREMENTS & set(result.judgement.passed) and not result.judgement.failed
    assert FUZZ_REQUIREMENTS <= set(result.judgement.not_verified)
    assert result.errors == [f"contract fuzzing (schemathesis): {fuzz.error}"]
    results = assert_report_agrees(folder)
    assert results["fuzz"]["status"] == "error" and results["fuzz"]["error"] == fuzz.error
    reasons = {o["id"]: o.get("reason", "") for o in results["requirements"]["outcomes"]}
    assert "401/403" in reasons["MSG-CREDENTIALS"]
    # schemathesis's warning, in full: every operation named (not "1 warning")
    missing_auth = next(w for w in results["fuzz"]["warnings"] if w.startswith("missing_auth"))
    assert "7 operation(s)" in missing_auth and "POST /indbetalinger" in missing_auth
    junit = ET.parse(folder / "junit.xml").getroot()
    checks = junit.find("testsuite")
    assert checks is not None and checks.get("errors") == str(len(fuzz.checks)) and checks.get("failures") == "0"
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert 'id="fuzz-error"' in page and "401/403" in page and html.escape(missing_auth) in page


def test_schemathesis_output_is_kept_in_full_as_evidence(lax: tuple[CertificationResult, FuzzResult, Path]) -> None:
    """Before: only the last six lines of its output reached the report."""
    _, fuzz, folder = lax
    log = (folder / fuzz.log).read_text(encoding="utf-8")
    assert "FAILURES" in log and "SUMMARY" in log and "API accepts requests without authentication" in log
    assert len(log.splitlines()) > 50
    report = json.loads((folder / "schemathesis-report.json").read_text())
    assert report["operations"]["tested"] == 7
