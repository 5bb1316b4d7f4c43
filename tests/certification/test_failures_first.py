"""A report reads like a person would write it: what failed comes first — each failure with its
requirement, the request as a curl line (token as a variable, CPR masked), the answer and a scenario's
failing step — then coverage; a harness ERROR is its own status in every file, never the vendor's
failure; and the verdicts, statuses and outcomes are spelt one way (judge.py) everywhere.

Shown on a report built from a known run (milliseconds), and in a real browser, with a screenshot of
the page as it opens (saved in the report folder, its path printed; also copied into
`$OIR_SCREENSHOT_DIR` when that is set).
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.requirements import load_requirements
from harness.certification.judge import OUTCOME_LABELS, STATUS_LABELS, VERDICTS
from harness.certification.report import write_report
from tests.support.browser import rendered_dom, screenshot
from tests.support.known_run import CPR, SECRET, failing_run


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("failures-first") / "kmd-opus"
    write_report(failing_run(), folder, key=Ed25519PrivateKey.generate())
    return folder


def _page(folder: Path) -> str:
    return (folder / "index.html").read_text(encoding="utf-8")


def test_the_page_opens_on_what_failed_before_coverage(report: Path) -> None:
    """Before: index.html opened on ~66 coverage rows; the first failure came thousands of pixels down."""
    page = _page(report)
    assert page.index('id="failures"') < page.index('id="coverage"') < page.index('id="checks"')
    articles = re.findall(r'<article class="(\w+)" data-check="([^"]*)"', page)
    # failures first, then the harness's errors; nothing that passed
    assert articles == [
        ("failed", "own-accounts-only"),
        ("failed", "bad-input"),
        ("failed", "scenario annulment-closes-the-account"),
        ("error", "payment-callback"),
    ]
    first = html.unescape(page[page.index('data-check="own-accounts-only"') : page.index('data-check="bad-input"')])
    assert "B01-OWN-ACCOUNTS-ONLY" in first and load_requirements()["B01-OWN-ACCOUNTS-ONLY"].text in first
    assert "OIR-422-WRONG-MUNICIPALITY" in first  # the answer
    scenario = page[page.index('data-check="scenario annulment-closes-the-account"') :]
    assert "line 17: expect fbs.claim" in scenario and "annulment-closes-the-account.scenario.yaml:17" in scenario
    assert "no callback reached http://127.0.0.1:8701/daekningafskrivning" in scenario


def test_a_failing_request_is_a_curl_line_a_shell_can_run(report: Path) -> None:
    """Before: evidence was Python's repr (`{'cpr': …}`, `None`), which no tool reads back."""
    results = json.loads((report / "results.json").read_text())
    failure = next(f for f in results["failures"] if f["check"] == "bad-input")
    curl = failure["curl"]
    words = shlex.split(curl)
    assert words[:4] == ["curl", "-X", "POST", "https://eg-test.example/oir/debitorkonti"]
    assert "Authorization: Bearer $OIR_DEBTOR_TOKEN" in words  # expanded by the shell, never the token itself
    body = json.loads(words[words.index("--data-raw") + 1])  # JSON, not Python: null, double quotes
    assert body["haeftelse"]["cpr"] == "200152-xxxx" and body["note"] is None
    assert "x-kommune-cvr: 29189854" in words and not any(w.lower().startswith("host:") for w in words)
    assert failure["answer"].startswith("500 ") and failure["requirements"] == ["MSG-PROBLEM-JSON"]
    folder_text = "".join(p.read_text(errors="replace") for p in report.rglob("*") if p.is_file())
    assert SECRET not in folder_text and CPR not in folder_text
    assert "{'" not in _page(report) and "&#39;cpr&#39;" not in _page(report)


def test_a_harness_error_is_error_in_every_file_never_the_vendors_failure(report: Path) -> None:
    """Before: 'KeyError: delfordringer' was a FAILED check and failed B01R-PAYMENT."""
    results = json.loads((report / "results.json").read_text())
    probe = next(p for p in results["probes"] if p["name"] == "payment-callback")
    assert probe["status"] == "error"
    requirements = results["requirements"]
    assert "B01R-PAYMENT" not in requirements["failed"] and "B01R-PAYMENT" in requirements["notVerified"]
    reason = next(o["reason"] for o in requirements["outcomes"] if o["id"] == "B01R-PAYMENT")
    assert "harness error" in reason and "KeyError" in reason
    assert results["verdict"] == "NOT_CERTIFIED"  # nothing not shown is ever a pass
    assert [f["status"] for f in results["failures"]][-1] == "error"
    suite = ET.parse(report / "junit.xml").getroot()[0]
    assert (suite.get("failures"), suite.get("errors")) == ("3", "1")
    case = next(c for c in suite.iter("testcase") if c.get("name") == "payment-callback")
    assert case.find("error") is not None and case.find("failure") is None
    assert "KeyError" in (case.find("error").get("message") or "")  # type: ignore[union-attr]
    row = re.search(r'<tr data-check="payment-callback" data-status="error">.*?</tr>', _page(report), re.S)
    assert row and f">{STATUS_LABELS['error']}<" in row.group(0)


def test_one_vocabulary_of_verdicts_statuses_and_outcomes(report: Path) -> None:
    """Before: NOT_CERTIFIED, 'NOT CERTIFIED', FAIL and failed, pass and verified, for the same things."""
    page = _page(report)
    assert "NOT CERTIFIED" not in page and page.count("NOT_CERTIFIED") >= 2  # the title and the verdict
    labels = set(re.findall(r'<td class="(?:ok|fail|err|dev|skip)">([^<(]+?)\s*(?:\(|<)', page))
    assert labels and labels <= set(STATUS_LABELS.values()) | set(OUTCOME_LABELS.values())
    assert ">FAIL<" not in page and ">pass<" not in page and ">verified" not in page
    junit = (report / "junit.xml").read_text()
    skipped = re.findall(r'<skipped message="([A-Z ]+) \(not a pass\)', junit)
    assert skipped and set(skipped) <= set(STATUS_LABELS.values()) | set(OUTCOME_LABELS.values())
    results = json.loads((report / "results.json").read_text())
    assert results["verdict"] in VERDICTS


def test_every_catalogue_requirement_has_exactly_one_outcome(report: Path) -> None:
    """Before: requirements no check cited (here: most of the catalogue) appeared in no outcome."""
    results = json.loads((report / "results.json").read_text())
    outcomes = [o["id"] for o in results["requirements"]["outcomes"]]
    assert sorted(outcomes) == sorted(load_requirements()) and len(outcomes) == len(set(outcomes))
    reasons = {o["id"]: o.get("reason", "") for o in results["requirements"]["outcomes"]}
    assert reasons["B01R-WRITE-OFF"] == "no check of the harness tests it yet"
    assert "only scenarios test it" not in reasons["DEBT-INTEREST"]  # this run ran its scenarios
    certificate = json.loads((report / "certificate.json").read_text())["certificate"]["requirements"]
    listed = [r for key in ("passed", "failed", "notApplicable", "notVerified") for r in certificate[key]]
    assert sorted(listed) == sorted(load_requirements())


def test_the_failures_come_first_in_a_real_browser(report: Path) -> None:
    dom = rendered_dom(report / "index.html")
    assert dom.index('id="failures"') < dom.index('id="coverage"')
    assert "curl -X POST" in dom and "$OIR_DEBTOR_TOKEN" in dom
    png = screenshot(report / "index.html", report / "screenshot-failures-first.png")
    assert png.stat().st_size > 10_000  # a rendered page, not an empty canvas
    target = os.environ.get("OIR_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        png = Path(shutil.copy(png, Path(target) / "certification-failures-first.png"))
    print(f"screenshot of index.html (failures first): {png}")
