"""A vendor's system that accepts requests without credentials, certified through `oir certify
--debtor-url` as a vendor would: NOT certified for MSG-CREDENTIALS — the contract fuzzing's `ignored_auth`
and `missing_required_header` blame that requirement alone, never MSG-MONEY-OERE — and the report
names the operation and a curl line that reproduces it, the token masked."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

from typer.testing import CliRunner

from harness.cli import app
from harness.servers import ServerThread
from tests.support.gatekeepers import AcceptsAnyCredentials
from tests.support.misbehaving import AsARealSystem, free_port, vendor_debtor

TOKEN = "vendor-token-a81c"


def test_a_system_accepting_requests_without_credentials_fails_the_credentials_requirement(tmp_path: Path) -> None:
    psrm_port, callback_port = free_port(), free_port()
    app_ = AsARealSystem(
        AcceptsAnyCredentials(vendor_debtor("kmd-opus", psrm_port=psrm_port, callback_port=callback_port))
    )
    with ServerThread(app_, name="lax-vendor", log_level="critical") as debtor:
        args = ["certify", "--profile", "kmd-opus", "--debtor-url", debtor.url, "--no-scenarios"]
        args += ["--psrm-port", str(psrm_port), "--callback-port", str(callback_port), "--max-examples", "2"]
        result = CliRunner().invoke(
            app, [*args, "--callback-timeout", "10", "--out", str(tmp_path)], env={"OIR_DEBTOR_TOKEN": TOKEN}
        )
    assert result.exit_code == 1, result.output
    folder = tmp_path / "kmd-opus"
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "NOT_CERTIFIED"
    assert "MSG-CREDENTIALS" in results["requirements"]["failed"]
    assert "MSG-MONEY-OERE" not in results["requirements"]["failed"]
    fuzz_failed = {c["schemathesis"]: c for c in results["fuzz"]["checks"] if c["status"] == "failed"}
    assert "ignored_auth" in fuzz_failed
    assert all(f["requirements"] == ["MSG-CREDENTIALS"] for c in fuzz_failed.values() for f in c["failures"])
    failure = fuzz_failed["ignored_auth"]["failures"][0]
    assert failure["curl"].startswith("curl -X ") and debtor.url in failure["curl"]
    junit = ET.parse(folder / "junit.xml").getroot()
    case = next(c for c in junit.iter("testcase") if c.get("name") == "schemathesis ignored_auth")
    assert case.find("failure") is not None and failure["curl"] in (case.find("failure").text or "")
    page = (folder / "index.html").read_text(encoding="utf-8")
    row = re.search(r'<tr data-check="schemathesis ignored_auth".*?</tr>', page, re.S)
    assert row and failure["curl"] in html.unescape(row.group(0))
    certificate = json.loads((folder / "certificate.json").read_text())["certificate"]
    assert "MSG-CREDENTIALS" in certificate["requirements"]["failed"]
    for path in folder.rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(encoding="utf-8", errors="replace"), path
