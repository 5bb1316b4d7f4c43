"""`oir contracts verify` and `oir contracts fuzz` as a user runs them: exit 0 when the contract holds,
1 with the failing interaction or operation and its requirement IDs, 2 with a clear message on a usage
error — never a traceback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.servers import ServerThread
from simulators import factory
from tests.pact.support import RenameField
from tests.support.gatekeepers import RefusesEveryone
from tests.support.misbehaving import Misbehaving, free_port

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["contracts", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def broken_debtor() -> Iterator[str]:
    with ServerThread(RenameField(factory("debtor")(profile="kmd-opus")), name="broken", log_level="error") as server:
        yield server.url


def test_verify_a_simulated_debtor_profile_passes() -> None:
    code, output = _run("verify", "--provider", "oir-debitor-v3", "--profile", "eg")
    assert code == 0, output
    assert "PASS debtor-eg" in output and "5/5 interactions held" in output
    assert "OpretDebitorkonto for a borrower's new fee [B01-CREATE-ACCOUNT" in output
    assert "ForetagIndbetaling" not in output  # EG has no payment solution: the B_03 pact does not apply


def test_verify_the_engine_against_the_debtor_callback_pact() -> None:
    code, output = _run("verify", "--provider", "oir-fagsystem-v3")
    assert code == 0, output
    assert "PASS engine" in output and "2/2 interactions held" in output
    assert "DaekningAfskrivning reporting a payment [B01R-PAYMENT, B01R-EXACTLY-ONCE" in output


def test_verify_a_vendor_url_that_renames_a_field_fails_naming_interaction_and_requirements(
    broken_debtor: str, tmp_path: Path
) -> None:
    report = tmp_path / "pact.json"
    code, output = _run(
        "verify",
        "--provider",
        "oir-debitor-v3",
        "--profile",
        "kmd-opus",
        "--url",
        broken_debtor,
        "--report",
        str(report),
    )
    assert code == 1, output
    assert f"FAIL debtor-kmd-opus at {broken_debtor}" in output
    line = next(row for row in output.splitlines() if "RetFordringTilstand writing a claim down" in row)
    assert "FAIL" in line and "[B01-WRITE-DOWN, MSG-MONEY-OERE]" in line
    assert "saldoOere" in output  # the verifier's mismatch, as evidence
    assert "SoegDelfordringTilIndbetaling" in output  # kmd-opus has B_03: the payment solution's pact applies
    results = json.loads(report.read_text())
    assert results[0]["passed"] is False and results[0]["requirements"]["B01-WRITE-DOWN"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--provider", "sap"], "unknown provider 'sap'"),
        (["verify", "--profile", "opus-2"], "'opus-2' is not one of 'kmd-opus'"),
        (["verify", "--url", "http://127.0.0.1:9"], "--url needs --provider"),
        (["verify", "--provider", "oir-debitor-v3", "--url", "http://127.0.0.1:9"], "needs --profile"),
        (["verify", "--provider", "debtor-eg", "--profile", "kmd-opus"], "disagree"),
        (["verify", "--provider", "engine", "--url", "http://127.0.0.1:9"], "leave out --url"),
        (["verify", "--provider", "fbs", "--url", "ftp://example"], "is not an http(s) URL"),
        (["fuzz", "--spec", "nope"], "unknown spec 'nope'"),
        (["fuzz", "--url", "http://127.0.0.1:9"], "--url needs --spec"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    code, output = _run(*args)
    assert code == 2, output
    assert message in " ".join(output.split())


def test_an_unreachable_url_is_a_usage_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for args in (["verify", "--provider", "fbs"], ["fuzz", "--spec", "fbs"]):
        code, output = _run(*args, "--url", url)
        assert code == 2, output
        assert f"{url} is unreachable" in " ".join(output.split())


def test_fuzz_the_psrm_simulator_passes(tmp_path: Path) -> None:
    code, output = _run("fuzz", "--spec", "psrm-fordringshaver", "--max-examples", "2", "--out", str(tmp_path))
    assert code == 0, output
    assert "PASS psrm-fordringshaver" in output
    assert (tmp_path / "psrm-fordringshaver" / "schemathesis.log").is_file()


def test_fuzz_a_debtor_answering_500_to_bad_input_names_the_operation(tmp_path: Path) -> None:
    app_ = Misbehaving(factory("debtor")(profile="kmd-opus"), "500-on-bad-input")
    with ServerThread(app_, name="fuzz-500", log_level="critical") as debtor:
        code, output = _run(
            "fuzz", "--spec", "oir-debitor-v3", "--url", debtor.url, "--max-examples", "3", "--out", str(tmp_path)
        )
    assert code == 1, output
    assert f"FAIL oir-debitor-v3 at {debtor.url}" in output
    failing = [row for row in output.splitlines() if row.strip().startswith("FAIL POST ")]
    assert failing, output
    # each failure blames its own check's requirement: a 500 is MSG-PROBLEM-JSON's, an undocumented status
    # the contract's answers', a 500 for a missing X-Kommune-Cvr the municipality header's
    blame = {row.split()[3].rstrip(":"): row.rsplit("[", 1)[-1] for row in failing}
    assert blame["not_a_server_error"] == "MSG-PROBLEM-JSON]"
    assert blame["status_code_conformance"] == "MSG-CONTRACT-ANSWERS]"
    assert "MSG-MONEY-OERE" not in output
    # … with a curl line that reproduces it, the token masked
    assert "reproduce: curl -X POST" in output and "Authorization: Bearer ***" in output
    assert "Bearer oir-dev-token" not in output


def test_fuzz_a_debtor_refusing_every_request_is_an_error_never_a_pass(tmp_path: Path) -> None:
    """Before: schemathesis exits 0 when every answer is a documented 401, and so did this command (PASS)."""
    with ServerThread(
        RefusesEveryone(factory("debtor")(profile="kmd-opus")), name="fuzz-401", log_level="critical"
    ) as d:
        code, output = _run(
            "fuzz", "--spec", "oir-debitor-v3", "--url", d.url, "--max-examples", "2", "--out", str(tmp_path)
        )
    assert code == 2, output
    first = output.splitlines()[0]
    assert first.startswith(f"ERROR oir-debitor-v3 at {d.url}: all 7 operations answered only 401/403"), output
    assert "PASS" not in output
