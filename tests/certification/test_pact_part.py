"""The consumer pacts are part of `oir certify`: a vendor's debtor system that renames a response field
only the engine's pact reads (`tidligereHaeftelser` of AendrHaeftelse; no probe and no fuzzing reads
it) is NOT certified, and the report names the interaction, its requirement IDs and the verifier's
evidence in results.json, junit.xml, index.html and the certificate.

The modes of tests/support/misbehaving.py cannot show this on its own: `500-on-bad-input` and
`ignores-municipality` break nothing a pact sends, and `b03-missing` fails the B_03 probes as well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.servers import ServerThread
from tests.pact.support import RenameField
from tests.support.misbehaving import free_port, vendor_debtor

runner = CliRunner()
INTERACTION = "AendrHaeftelse after a CPR change"


@pytest.fixture
def renaming_debtor() -> Iterator[tuple[str, int, int]]:
    psrm_port, callback_port = free_port(), free_port()
    debtor = vendor_debtor("eg", psrm_port=psrm_port, callback_port=callback_port)
    broken = RenameField(debtor, "tidligereHaeftelser", "tidligere")
    with ServerThread(broken, name="renaming-debtor", log_level="critical") as server:
        yield server.url, psrm_port, callback_port


def test_a_debtor_breaking_a_consumer_pact_fails_certification_naming_interaction_and_evidence(
    tmp_path: Path, renaming_debtor: tuple[str, int, int]
) -> None:
    url, psrm_port, callback_port = renaming_debtor
    args = ["certify", "--profile", "eg", "--debtor-url", url, "--out", str(tmp_path), "--max-examples", "2"]
    args.append("--no-scenarios")  # the cpr-change scenario would see it too; this test is about the pact
    ports = ["--psrm-port", str(psrm_port), "--callback-port", str(callback_port), "--callback-timeout", "10"]
    result = runner.invoke(app, [*args, *ports])
    assert result.exit_code == 1, result.output
    assert "NOT_CERTIFIED" in result.output
    folder = tmp_path / "eg"

    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "NOT_CERTIFIED"
    statuses = {p["name"]: p["status"] for p in results["probes"]}
    assert statuses.pop("payment-callback") == "not-run"  # EG has no B_03: no payment the harness can make
    assert statuses.pop("foreign-credentials") == "not-run"  # no --foreign-token given
    assert set(statuses.values()) == {"passed"}  # only the pact sees this bug
    assert results["pact"]["consumers"] == ["oir-engine"]  # EG has no payment solution
    failed = [i for i in results["pact"]["interactions"] if i["status"] == "failed"]
    assert [i["description"] for i in failed] == [INTERACTION]
    assert failed[0]["requirements"] == ["B01-CHANGE-LIABLE", "ID-CPR-FORMAT"]
    assert any("tidligereHaeftelser" in line for line in failed[0]["evidence"])
    assert "B01-CHANGE-LIABLE" in results["requirements"]["failed"]

    case = next(c for c in ET.parse(folder / "junit.xml").getroot().iter("testcase") if c.get("name") == INTERACTION)
    failure = case.find("failure")
    assert failure is not None and "B01-CHANGE-LIABLE" in (failure.get("message") or "")
    assert "tidligereHaeftelser" in (failure.text or "")

    html = (folder / "index.html").read_text()
    row = re.search(rf"<tr[^>]*><td>oir-engine</td><td>{INTERACTION}</td>.*?</tr>", html, re.S)
    assert row and "B01-CHANGE-LIABLE" in row.group(0) and "FAIL" in row.group(0)
    assert "tidligereHaeftelser" in row.group(0)
    assert (folder / "pact-verification.log").is_file()

    certificate = json.loads((folder / "certificate.json").read_text())["certificate"]
    assert certificate["verdict"] == "NOT_CERTIFIED"
    assert "B01-CHANGE-LIABLE" in certificate["requirements"]["failed"]
    assert set(certificate["digests"]["pacts"]) == {"oir-engine-oir-debitor-v3"}
