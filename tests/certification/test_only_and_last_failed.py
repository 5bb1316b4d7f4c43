"""`oir certify --last-failed` and `--only CHECK`: re-run the checks that failed in the last report (or
the ones named), the others NOT RUN in that run — never passed — and no certificate for a partial run.

One real (partial) certification of eg's simulator for the module: an earlier report says the
`bad-input` probe and one scenario failed; `--last-failed` re-runs exactly those two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app

FAILED_BEFORE = ("bad-input", "scenario annulment-before-handover")
ONLY_REASON = "not selected in this run (--only)"


@pytest.fixture(scope="module")
def rerun(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("reports")
    folder = out / "eg"
    folder.mkdir()
    earlier = {
        "fuzz": {"status": "passed"},
        "probes": [{"name": "registration", "status": "passed"}, {"name": "bad-input", "status": "failed"}],
        "pact": {"interactions": []},
        "scenarios": {"runs": [{"check": FAILED_BEFORE[1], "status": "failed"}]},
    }
    (folder / "results.json").write_text(json.dumps(earlier))
    (folder / "certificate.json").write_text("{}")  # the earlier run's: no longer what the folder reports
    env = {"OIR_HOME": str(tmp_path_factory.mktemp("oir-home"))}  # the harness's key: never in ~/.config
    env |= dict.fromkeys(("OIR_SIGNING_KEY", "OIR_DEBTOR_TOKEN", "OIR_CALLBACK_TOKEN"))  # type: ignore[arg-type]
    result = CliRunner().invoke(app, ["certify", "--profile", "eg", "--last-failed", "--out", str(out)], env=env)
    return result, json.loads((folder / "results.json").read_text()), folder


def _checks(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    checks = {"schemathesis": {**results["fuzz"], "requirements": results["fuzz"]["requirements"]}}
    checks.update({p["name"]: p for p in results["probes"]})
    checks.update({i["check"]: i for i in results["pact"]["interactions"]})
    for key in ("runs", "notRun", "notApplicable"):
        checks.update({r["check"]: r for r in results["scenarios"][key]})
    return checks


def test_last_failed_reruns_exactly_the_checks_that_failed(rerun: tuple[Any, dict[str, Any], Path]) -> None:
    result, results, _ = rerun
    assert result.exit_code == 0, result.output
    checks = _checks(results)
    ran = {name for name, check in checks.items() if check["status"] in ("passed", "failed")}
    assert ran == set(FAILED_BEFORE)
    assert checks["registration"]["status"] == "not-run" and checks["registration"]["message"] == ONLY_REASON
    assert checks["schemathesis"]["status"] == "not-run"
    assert all(i["status"] == "not-run" for i in results["pact"]["interactions"])
    assert "partial run" in result.output


def test_what_was_not_selected_is_never_passed(rerun: tuple[Any, dict[str, Any], Path]) -> None:
    _, results, _ = rerun
    checks = _checks(results)
    proven = {rid for check in checks.values() if check["status"] == "passed" for rid in check["requirements"]}
    passed = set(results["requirements"]["passed"])
    assert passed and passed <= proven
    assert results["requirements"]["notVerified"], "the checks left out verify nothing"


def test_a_partial_run_writes_no_certificate(rerun: tuple[Any, dict[str, Any], Path]) -> None:
    _, _, folder = rerun
    assert (folder / "results.json").exists() and (folder / "index.html").exists()
    assert not (folder / "certificate.json").exists()


def test_last_failed_without_an_earlier_report_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["certify", "--profile", "eg", "--last-failed", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--last-failed: no earlier report" in result.output and "Traceback" not in result.output


def test_only_names_an_unknown_check_with_the_nearest_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["certify", "--profile", "eg", "--only", "bad-inptu", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--only 'bad-inptu' names no check of eg (did you mean 'bad-input'?)" in result.output


def test_only_a_scenario_without_scenarios_is_a_usage_error(tmp_path: Path) -> None:
    argv = ["certify", "--profile", "eg", "--no-scenarios", "--only", "annulment-*", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert "--only 'annulment-*' names scenarios, but --no-scenarios leaves every scenario out" in result.output
