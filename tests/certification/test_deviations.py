"""A profile's known deviations: a failure citing only requirements under an unexpired deviation is an
ACCEPTED DEVIATION — never a pass — in results.json, junit.xml, index.html and the certificate; once the
deviation has expired the same failure fails the certification again."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.profile import Profile, profile_path
from harness.certification import Target, certify_profile
from harness.certification.report import write_report
from harness.servers import ServerThread
from tests.support.misbehaving import free_port, misbehaving_debtor

# what a debtor answering 500 to bad input breaks: the bad-input probe (ID-CPR-FORMAT, MSG-HEADER-BLOCK,
# MSG-MONEY-OERE, MSG-PROBLEM-JSON) and the contract fuzzing's checks, each blaming its own requirement
# (not_a_server_error: MSG-PROBLEM-JSON; status_code_conformance: the undocumented 500, MSG-CONTRACT-ANSWERS;
# missing_required_header: a missing X-Kommune-Cvr answered 500, MSG-MUNICIPALITY-CVR)
BROKEN = [
    "ID-CPR-FORMAT",
    "MSG-CONTRACT-ANSWERS",
    "MSG-HEADER-BLOCK",
    "MSG-MONEY-OERE",
    "MSG-MUNICIPALITY-CVR",
    "MSG-PROBLEM-JSON",
]


def _profile_file(folder: Path, expires: str) -> Path:
    """kmd-opus as a vendor would submit it, with deviations for everything the broken debtor breaks."""
    raw = yaml.safe_load(profile_path("kmd-opus").read_text(encoding="utf-8"))
    raw["deviations"] = [
        {
            "requirement": rid,
            "owner": "KMD (J. Jensen)",
            "reason": "500 on bad input; fix in release 24.2",
            "expires": expires,
        }
        for rid in BROKEN
    ]
    path = folder / "kmd-opus.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def broken() -> Iterator[tuple[ServerThread, Target]]:
    psrm_port, callback_port = free_port(), free_port()
    with misbehaving_debtor("500-on-bad-input", psrm_port=psrm_port, callback_port=callback_port) as debtor:
        yield debtor, Target(debtor_url=debtor.url, psrm_port=psrm_port, callback_port=callback_port)


def _run(folder: Path, target: Target, expires: str) -> Path:
    profile_file = _profile_file(folder, expires)
    profile = Profile.model_validate(yaml.safe_load(profile_file.read_text(encoding="utf-8")))
    result = certify_profile(
        "kmd-opus",
        folder / "report",
        seed=3,
        max_examples=2,
        target=target,
        profile=profile,
        profile_file=profile_file,
        now=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        callback_timeout=10,
    )
    write_report(result, folder / "report", key=Ed25519PrivateKey.generate())
    return folder / "report"


def _skipped(case: ET.Element) -> str:
    skipped = case.find("skipped")
    return "" if skipped is None else skipped.get("message", "")


def _row(html: str, check: str) -> str:
    found = re.search(rf"<tr[^>]*><td>{check}</td>.*?</tr>", html, re.S)
    assert found, f"no row for {check}"
    return found.group(0)


def test_an_unexpired_deviation_is_reported_as_accepted_never_as_a_pass(
    tmp_path: Path, broken: tuple[ServerThread, Target]
) -> None:
    report = _run(tmp_path, broken[1], expires="2027-06-30")
    results = json.loads((report / "results.json").read_text())
    assert results["verdict"] == "CERTIFIED_WITH_DEVIATIONS" and results["certified"] is True
    bad_input = next(p for p in results["probes"] if p["name"] == "bad-input")
    assert bad_input["status"] == "accepted-deviation" and bad_input["passed"] is False
    assert results["fuzz"]["status"] == "accepted-deviation" and results["fuzz"]["passed"] is False
    accepted_fuzz = {c["schemathesis"] for c in results["fuzz"]["checks"] if c["status"] == "accepted-deviation"}
    assert {"not_a_server_error", "status_code_conformance", "missing_required_header"} <= accepted_fuzz
    assert results["requirements"]["failed"] == []
    assert sorted(d["requirement"] for d in results["acceptedDeviations"]) == BROKEN
    assert not set(BROKEN) & set(results["requirements"]["passed"])

    junit = (report / "junit.xml").read_text()
    checks, requirements = ET.fromstring(junit.encode())  # the checks' suite, then the requirements'
    # bad-input, problem-json and the fuzzing's checks (accepted deviations); foreign-credentials (not run)
    assert (checks.get("failures"), checks.get("skipped")) == ("0", str(3 + len(accepted_fuzz)))
    assert "ACCEPTED DEVIATION (not a pass)" in junit and "KMD (J. Jensen)" in junit
    accepted = [c.get("name") for c in requirements if "DEVIATION" in _skipped(c)]
    assert sorted(accepted) == BROKEN and requirements.get("failures") == "0"

    html = (report / "index.html").read_text()
    assert 'id="verdict">CERTIFIED_WITH_DEVIATIONS<' in html
    assert "ACCEPTED DEVIATION" in _row(html, "bad-input") and "pass<" not in _row(html, "bad-input")
    assert "release 24.2" in html and "2027-06-30" in html

    certificate = json.loads((report / "certificate.json").read_text())["certificate"]
    assert certificate["verdict"] == "CERTIFIED_WITH_DEVIATIONS"
    assert [d["requirement"] for d in certificate["requirements"]["acceptedDeviations"]] == BROKEN
    assert certificate["requirements"]["acceptedDeviations"][0]["owner"] == "KMD (J. Jensen)"
    assert not set(BROKEN) & set(certificate["requirements"]["passed"])


def test_an_expired_deviation_fails_again(tmp_path: Path, broken: tuple[ServerThread, Target]) -> None:
    report = _run(tmp_path, broken[1], expires="2026-11-30")  # the day before the run
    results = json.loads((report / "results.json").read_text())
    assert results["verdict"] == "NOT_CERTIFIED" and results["certified"] is False
    assert next(p for p in results["probes"] if p["name"] == "bad-input")["status"] == "failed"
    assert set(BROKEN) <= set(results["requirements"]["failed"]) and results["acceptedDeviations"] == []
    assert sorted(d["requirement"] for d in results["expiredDeviations"]) == BROKEN
    junit = (report / "junit.xml").read_text()
    checks, requirements = ET.fromstring(junit.encode())
    assert checks.get("skipped") == "1" and "EXPIRED on 2026-11-30" in junit  # foreign-credentials: not run
    assert {c.get("name") for c in requirements if c.find("failure") is not None} >= set(BROKEN)
    html = (report / "index.html").read_text()
    assert 'id="verdict">NOT_CERTIFIED<' in html and "EXPIRED" in _row(html, "bad-input")
    certificate = json.loads((report / "certificate.json").read_text())["certificate"]
    assert certificate["verdict"] == "NOT_CERTIFIED" and certificate["requirements"]["acceptedDeviations"] == []
