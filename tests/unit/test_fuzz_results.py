"""Reading a schemathesis run from its structured reports (`contracts.checks.fuzz.read_results`): a run
that never reached the system's operations, or left no report, is an ERROR, never a pass — whatever
schemathesis's exit code. Shown on small hand-written reports in the shape schemathesis 4.32 writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.checks.fuzz import read_results

OPERATION = "POST /debitorkonti"


def _case(case_id: str, status: int, mode: str = "positive") -> tuple[str, dict[str, Any], dict[str, Any]]:
    case = {"value": {"id": case_id, "method": "POST", "path": "/debitorkonti", "meta": {"generation": {"mode": mode}}}}
    interaction = {
        "request": {"method": "POST", "uri": "http://vendor.test/debitorkonti", "headers": {}},
        "response": {"status_code": status},
    }
    return case_id, case, interaction


def _write(folder: Path, statuses: list[int], *, missing_auth: list[str] | None = None) -> Path:
    cases = [_case(f"c{i}", status) for i, status in enumerate(statuses)]
    recorder = {
        "label": OPERATION,
        "cases": {cid: case for cid, case, _ in cases},
        "interactions": {cid: interaction for cid, _, interaction in cases},
        "checks": {cid: [{"name": "not_a_server_error", "status": "success"}] for cid, _, _ in cases},
    }
    events = [{"EngineStarted": {}}, {"ScenarioFinished": {"status": "success", "recorder": recorder}}]
    (folder / "schemathesis-events.ndjson").write_text("\n".join(json.dumps(e) for e in events), encoding="utf-8")
    report = {
        "operations": {"total": 1, "selected": 1, "tested": 1},
        "errors": [],
        "warnings": {"missing_auth": missing_auth or [], "validation_mismatch": [OPERATION]},
        "valid_rates": {},
    }
    (folder / "schemathesis-report.json").write_text(json.dumps(report), encoding="utf-8")
    return folder


def test_valid_requests_that_all_bounce_off_before_the_operation_are_an_error(tmp_path: Path) -> None:
    result = read_results(_write(tmp_path, [400] * 8 + [404] * 4), exit_code=0)
    assert not result.passed
    assert result.error.startswith("none of the 12 valid requests generated reached an operation")
    assert "400 ×8" in result.error and "404 ×4" in result.error
    assert result.summary.startswith("ERROR: ")


def test_a_business_rejection_shows_the_request_reached_the_system(tmp_path: Path) -> None:
    result = read_results(_write(tmp_path, [400] * 11 + [422]), exit_code=0)
    assert result.error == "" and result.passed
    check = next(c for c in result.checks if c.schemathesis == "not_a_server_error")
    assert check.passed and check.cases == 12 and check.requirements == ["MSG-PROBLEM-JSON"]


def test_only_401_or_403_on_every_operation_is_an_error_and_every_warning_is_kept(tmp_path: Path) -> None:
    result = read_results(_write(tmp_path, [401] * 3, missing_auth=[OPERATION]), exit_code=0)
    assert not result.passed and "answered only 401/403" in result.error
    assert any(w.startswith("missing_auth") and OPERATION in w for w in result.warnings)
    assert any(w.startswith("validation_mismatch") and OPERATION in w for w in result.warnings)


def test_no_report_or_a_usage_error_of_schemathesis_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "schemathesis.log").write_text("Usage: schemathesis run\n\nError: Invalid value for '--url'\n")
    nothing = read_results(tmp_path, exit_code=2)
    assert not nothing.passed and "wrote no report (exit 2): Error: Invalid value for '--url'" in nothing.error
    assert nothing.checks and not any(c.ran for c in nothing.checks)
    crashed = read_results(_write(tmp_path, [201] * 12), exit_code=2)
    assert not crashed.passed and "exit 2" in crashed.error
    unexplained = read_results(tmp_path, exit_code=1)  # exit 1, yet no failure in its reports: never a pass
    assert not unexplained.passed and "name no failure" in unexplained.error
