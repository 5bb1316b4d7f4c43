"""Contract fuzzing: run the schemathesis command line against a system at a URL and read its results.

The one home of fuzzing, used by certification (`harness.certification.run`) and by
`oir contracts fuzz` (`harness.contract_checks`): both run the same command with the same
configuration (the project's `schemathesis.toml`) and read the same structured reports.

What a run found is read from schemathesis's own structured reports, never from its console output:
its NDJSON event stream (every check of every test case, with the request that was sent) and its JSON
run report (operations tested, warnings, acceptance rates, errors). From them:
- each schemathesis check is a check of its own, citing its own requirements (`CHECK_REQUIREMENTS`): a
  vendor that accepts requests without credentials fails MSG-CREDENTIALS (`ignored_auth`, or a missing
  `Authorization` under `missing_required_header`), not every requirement fuzzing touches; a missing
  header blames the requirement of that header (`HEADER_REQUIREMENTS`);
- each failure names the operation, the check and a `curl` line reproducing it (the bearer token
  `***`, CPR numbers masked);
- schemathesis's warnings are kept in full, each naming every operation it concerns;
- a run that could not exercise its target — every operation answered only 401/403, every valid request
  generated refused before the system judged it (400, 404 …; a 409 or a 422 business rejection did reach
  it), errors, or no report at all — is an ERROR of the run (`FuzzResult.error`), never a
  pass, whatever schemathesis's exit code says.
Its full console output is kept as evidence in `schemathesis.log` (token and CPRs masked).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..identity import mask_cpr_in_text
from ..specs import load_spec

SIMULATION_TAG = "simulering"
SCHEMATHESIS_CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"
CREDENTIALS = "MSG-CREDENTIALS"
CONTRACT_ANSWERS = "MSG-CONTRACT-ANSWERS"
CONTRACT_REQUESTS = "MSG-CONTRACT-REQUESTS"
# Which requirement each schemathesis check is evidence for. `missing_required_header` cites every
# header's requirement and blames the one whose header was left out (HEADER_REQUIREMENTS).
CHECK_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "not_a_server_error": ("MSG-PROBLEM-JSON",),
    "status_code_conformance": (CONTRACT_ANSWERS,),
    "content_type_conformance": (CONTRACT_ANSWERS,),
    "response_headers_conformance": (CONTRACT_ANSWERS,),
    "response_schema_conformance": (CONTRACT_ANSWERS,),
    "unsupported_method": (CONTRACT_ANSWERS,),
    "allow_header_conformance": (CONTRACT_ANSWERS,),
    "use_after_free": (CONTRACT_ANSWERS,),
    "negative_data_rejection": (CONTRACT_REQUESTS,),
    "positive_data_acceptance": (CONTRACT_REQUESTS,),
    "missing_required_header": ("MSG-HEADER-BLOCK", "MSG-MUNICIPALITY-CVR", CREDENTIALS),
    "ignored_auth": (CREDENTIALS,),
    "ensure_resource_availability": ("B02-LOOKUP",),
}
HEADER_REQUIREMENTS = {"authorization": CREDENTIALS, "x-kommune-cvr": "MSG-MUNICIPALITY-CVR"}  # else the header block
# Checks that would succeed without testing anything in this configuration (no second identity to try
# another municipality's objects with; no answer-time limit given to schemathesis, which records
# `max_response_time` as a success all the same): never counted as evidence. The first is not run at all.
EXCLUDED_CHECKS = ("object_level_authorization", "max_response_time")
_NOT_RUN = ("object_level_authorization",)
# Checks schemathesis records as held on every test case even where the API gave them nothing to do (no
# DELETE to use a resource after; a created resource only where the stateful phase followed a link): a
# failure of theirs is evidence, a success is not, so they never verify their requirement.
VACUOUS_WHEN_HELD = ("use_after_free", "ensure_resource_availability")
MIN_REFUSED = 10  # fewer valid requests than this, none reaching the system, is too little to call it refusing
# schemathesis's warning kinds (its JSON report), as a person reads them
WARNINGS = {
    "missing_auth": "only 401/403 answers (the credentials were not accepted)",
    "missing_test_data": "mostly 404 answers: missing test data (the resources the operation needs do not exist)",
    "validation_mismatch": "operations mostly rejected generated data (400/422): the system validates more strictly "
    "than the contract says, or the generated data did not reach it",
    "low_valid_rate": "few generated requests were accepted",
    "rate_limited": "mostly 429 answers (rate limited)",
    "method_not_allowed": "405 answers for a method the contract documents",
    "base_url_mismatch": "every answer was 404: the base URL looks wrong",
}
__all__ = [
    "CHECK_REQUIREMENTS",
    "SCHEMATHESIS_CONFIG",
    "SIMULATION_TAG",
    "FuzzCheck",
    "FuzzFailure",
    "FuzzResult",
    "read_results",
    "run_schemathesis",
    "vendor_contract",
]


@dataclass
class FuzzFailure:
    """One thing a schemathesis check found wrong on one operation (repeats counted, not listed)."""

    operation: str  # "POST /debitorkonti"
    check: str  # the schemathesis check: "ignored_auth"
    title: str  # schemathesis's title: "API accepts requests without authentication"
    message: str
    curl: str  # reproduces it: bearer token ***, CPRs masked
    requirements: list[str]  # what it is evidence against
    code: str = ""  # schemathesis's failure code, e.g. ST401
    status: int | None = None  # the answer's status code
    count: int = 1  # test cases that found the same


@dataclass
class FuzzCheck:
    """One schemathesis check over the whole run."""

    check: str  # the certification's check name: "schemathesis ignored_auth"
    schemathesis: str  # the schemathesis check: "ignored_auth"
    requirements: list[str]
    cases: int  # test cases it judged
    failures: list[FuzzFailure] = field(default_factory=list)
    # requirements it cites that no request of the run exercised: neither verified nor failed by it
    unproven: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.cases > 0 and not self.failures

    @property
    def ran(self) -> bool:
        return self.cases > 0

    @property
    def blamed(self) -> list[str]:
        return sorted({rid for f in self.failures for rid in f.requirements})


@dataclass
class FuzzResult:
    passed: bool
    exit_code: int
    summary: str  # one line: what was tested and found, or why the run is an error
    checks: list[FuzzCheck] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # schemathesis's warnings, in full
    error: str = ""  # the run could not exercise its target: why (never a pass)
    log: str = "schemathesis.log"  # the full console output, beside the reports

    @property
    def requirements(self) -> list[str]:
        """Every requirement the run's checks cite."""
        return sorted({rid for check in self.checks for rid in check.requirements})

    @property
    def failures(self) -> list[FuzzFailure]:
        return [f for check in self.checks for f in check.failures]


def vendor_contract(path: Path) -> Path:
    """The debtor contract without the simulator-only operations a vendor never implements."""
    spec = load_spec("oir-debitor-v3")
    spec["paths"] = {
        p: item
        for p, item in spec["paths"].items()
        if not any(SIMULATION_TAG in op.get("tags", []) for op in item.values() if isinstance(op, dict))
    }
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# the municipalities a fuzzing run's token acts for (comma-separated CVRs), read by `fuzz_hooks`
MUNICIPALITY_CVRS_ENV = "OIR_FUZZ_MUNICIPALITY_CVRS"


def run_schemathesis(
    contract: Path,
    url: str,
    out: Path,
    seed: int,
    max_examples: int,
    token: str,
    session: str | None = None,
    *,
    request_timeout: float | None = None,
    har: Path | None = None,
    municipality_cvrs: tuple[str, ...] = (),
) -> FuzzResult:
    """Fuzz the system at `url` with the schemathesis command line against `contract` (all checks).

    Seeded and bounded (`max_examples` per operation) so a run can be reproduced; sends the bearer
    `token` and an `X-Sim-Session` (`session`, or a fresh one) so a shared simulator starts clean.
    Writes into `out`: `schemathesis.log` (its whole console output, token and CPRs masked),
    `schemathesis-junit.xml` and `schemathesis-report.json`; the result is read from those and from
    its NDJSON event stream, which is dropped once read (it holds every request body, base64-encoded).
    The project's `schemathesis.toml` (expected
    statuses) applies wherever the command is run from.
    `request_timeout` is how long each request may wait for its answer (certification: what the
    profile allows); `har` receives every request and answer with its time (HAR; credentials sanitised).
    The hooks of `fuzz_hooks` give each message its own transaction id and, where `municipality_cvrs`
    names the municipalities the token acts for, a CVR among them, so fuzzing reaches the business logic.
    Used by certification and by `oir contracts fuzz`.
    """
    schemathesis = Path(sys.executable).with_name("schemathesis")
    config = [f"--config-file={SCHEMATHESIS_CONFIG}"] if SCHEMATHESIS_CONFIG.exists() else []
    out.mkdir(parents=True, exist_ok=True)
    reports = {
        "junit": "schemathesis-junit.xml",
        "json": "schemathesis-report.json",
        "ndjson": "schemathesis-events.ndjson",
    }
    for name in reports.values():
        (out / name).unlink(missing_ok=True)  # never read an earlier run's report
    command = [
        str(schemathesis),
        *config,
        "run",
        str(contract),
        "--url",
        url,
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(_NOT_RUN),
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--no-color",
        "-H",
        f"Authorization: Bearer {token}",
        "-H",
        f"X-Sim-Session: {session or 'certify-' + uuid.uuid4().hex[:8]}",
        "--report",
        ",".join(reports),
        *(arg for kind, name in reports.items() for arg in (f"--report-{kind}-path", str(out / name))),
    ]
    if request_timeout is not None:
        command += ["--request-timeout", f"{request_timeout:g}"]
    if har is not None:
        command += ["--report-har-path", str(har)]  # a report's path enables it
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "contracts.checks.fuzz_hooks",
        MUNICIPALITY_CVRS_ENV: ",".join(municipality_cvrs),
    }
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False, env=env)
    (out / "schemathesis.log").write_text(_mask(run.stdout + run.stderr, token), encoding="utf-8")
    result = read_results(out, run.returncode, token)
    # the event stream carries every request body base64-encoded, CPRs and all: read, then dropped
    (out / reports["ndjson"]).unlink(missing_ok=True)
    junit = out / reports["junit"]
    if junit.is_file():  # the reports kept are evidence: no token, no CPR in them
        junit.write_text(_mask(junit.read_text(encoding="utf-8", errors="replace"), token), encoding="utf-8")
    report = out / reports["json"]
    if report.is_file():
        try:
            masked = _mask_values(json.loads(report.read_text(encoding="utf-8")), token)
            report.write_text(json.dumps(masked, indent=2, ensure_ascii=False), encoding="utf-8")
        except ValueError:
            report.unlink()
    return result


def _mask(text: str, token: str) -> str:
    return mask_cpr_in_text(text.replace(token, "***") if token else text)


def _mask_values(value: Any, token: str) -> Any:
    """A JSON document with every string masked (masking its text could break a number into a string)."""
    if isinstance(value, str):
        return _mask(value, token)
    if isinstance(value, list):
        return [_mask_values(v, token) for v in value]
    if isinstance(value, dict):
        return {k: _mask_values(v, token) for k, v in value.items()}
    return value


# ---- reading the reports ---------------------------------------------------------------------------------
def read_results(out: Path, exit_code: int, token: str = "") -> FuzzResult:
    """The result of a schemathesis run from the reports it wrote into `out` (see run_schemathesis);
    `token` is masked wherever it would show."""
    try:
        report = json.loads((out / "schemathesis-report.json").read_text(encoding="utf-8"))
        events = list(_events(out / "schemathesis-events.ndjson"))
    except (OSError, ValueError) as exc:
        said = _said(out / "schemathesis.log") or str(exc)
        return _error(exit_code, f"schemathesis wrote no report (exit {exit_code}): {said}; see schemathesis.log")
    warnings = _warnings(report)
    cases: Counter[str] = Counter()
    failures: dict[tuple[str, str, str, str], FuzzFailure] = {}
    answers: Counter[int] = Counter()  # status codes answered to the valid (positive) requests generated
    left_out: set[str] = set()  # the requirements whose header some request left out (missing_required_header)
    for recorder in _recorders(events):
        for case_id, results in (recorder.get("checks") or {}).items():
            interaction = (recorder.get("interactions") or {}).get(case_id) or {}
            case = (recorder.get("cases") or {}).get(case_id) or {}
            header = _missing_header(case)
            status = (interaction.get("response") or {}).get("status_code")
            if _positive(case) and isinstance(status, int):
                answers[status] += 1
            for result in results:
                name = result.get("name", "?")
                cases[name] += 1
                if name == "missing_required_header" and header:
                    left_out.add(HEADER_REQUIREMENTS.get(header, "MSG-HEADER-BLOCK"))
                if result.get("status") != "failure":
                    continue
                failure = _failure(name, result, interaction, recorder.get("label", "?"), token)
                key = (failure.operation, name, failure.title, ",".join(failure.requirements))
                if key in failures:
                    failures[key].count += 1
                else:
                    failures[key] = failure
    checks = [
        FuzzCheck(
            f"schemathesis {name}",
            name,
            list(CHECK_REQUIREMENTS.get(name, (CONTRACT_ANSWERS,))),
            cases[name],
            [f for (_, check, _, _), f in failures.items() if check == name],
            _unproven(name, left_out),
        )
        for name in sorted(set(cases) | {n for n in CHECK_REQUIREMENTS if n not in EXCLUDED_CHECKS})
        if name not in EXCLUDED_CHECKS
    ]
    operations = (report.get("operations") or {}).get("tested", 0)
    found = sum(f.count for c in checks for f in c.failures)
    error = _run_error(report, exit_code, found, answers)
    if error:
        summary = f"ERROR: {error}"
    else:
        summary = (
            f"{operations} operations, {sum(cases.values())} check results: "
            + (f"{found} failures in {', '.join(c.schemathesis for c in checks if c.failures)}" if found else "")
            + ("" if found else "no failures")
            + (f"; {len(warnings)} warnings (below)" if warnings else "")
        )
    passed = not error and exit_code == 0 and not found
    return FuzzResult(passed, exit_code, summary, checks, warnings, error)


def _said(log: Path) -> str:
    """The error line schemathesis printed (a usage or schema error), or ""."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip().startswith("Error")), "")


def _error(exit_code: int, error: str) -> FuzzResult:
    checks = [
        FuzzCheck(f"schemathesis {name}", name, list(requirements), 0)
        for name, requirements in sorted(CHECK_REQUIREMENTS.items())
    ]
    return FuzzResult(False, exit_code, f"ERROR: {error}", checks, [], error)


def _unproven(name: str, left_out: set[str]) -> list[str]:
    """What a check cites but the run never exercised (see VACUOUS_WHEN_HELD)."""
    if name == "missing_required_header":  # schemathesis stops an operation at its first failure: a header
        return [r for r in CHECK_REQUIREMENTS[name] if r not in left_out]  # never left out proves nothing
    if name in VACUOUS_WHEN_HELD:
        return list(CHECK_REQUIREMENTS[name])
    return []


def _positive(case: dict[str, Any]) -> bool:
    """A request generated to be valid by the contract."""
    return (((case.get("value") or {}).get("meta") or {}).get("generation") or {}).get("mode") == "positive"


def _missing_header(case: dict[str, Any]) -> str:
    """The header a coverage-phase request left out on purpose (lower case), or ""."""
    data = ((case.get("value") or {}).get("meta") or {}).get("phase", {}).get("data") or {}
    if data.get("scenario") == "missing_parameter" and data.get("parameter_location") == "header":
        return str(data.get("parameter") or "").lower()
    return ""


def _events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _recorders(events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for event in events:
        finished = event.get("ScenarioFinished")
        if isinstance(finished, dict) and isinstance(finished.get("recorder"), dict):
            yield finished["recorder"]


def _failure(name: str, result: dict[str, Any], interaction: dict[str, Any], label: str, token: str) -> FuzzFailure:
    info = (result.get("failure_info") or {}).get("failure") or {}
    message = info.get("message") or ""
    requirements = list(CHECK_REQUIREMENTS.get(name, (CONTRACT_ANSWERS,)))
    if name == "missing_required_header":
        header = re.search(r"missing required '([^']+)' header", message)
        left_out = header.group(1).lower() if header else ""
        requirements = [HEADER_REQUIREMENTS.get(left_out, "MSG-HEADER-BLOCK")]
    response = interaction.get("response") or {}
    return FuzzFailure(
        operation=info.get("operation") or label,
        check=name,
        title=info.get("title") or name,
        message=_mask(message, token),
        curl=_mask(_curl(interaction.get("request") or {}), token),
        requirements=requirements,
        code=info.get("code") or "",
        status=response.get("status_code"),
    )


def _curl(request: dict[str, Any]) -> str:
    """The request as a curl line a person can paste: the bearer token ***, CPR numbers masked."""
    if not request:
        return ""
    parts = ["curl", "-X", str(request.get("method", "GET"))]
    for name, values in (request.get("headers") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            shown = value
            if name.lower() == "authorization":
                shown = "Bearer ***" if str(value).lower().startswith(("bearer", "[filtered]")) else "***"
            parts += ["-H", f"{name}: {shown}"]
    body = request.get("body")
    if isinstance(body, dict) and "$base64" in body:
        parts += ["-d", base64.b64decode(body["$base64"]).decode("utf-8", errors="replace")]
    elif isinstance(body, str):
        parts += ["-d", body]
    parts.append(str(request.get("uri", "")))
    return mask_cpr_in_text(shlex.join(parts))


def _warnings(report: dict[str, Any]) -> list[str]:
    """Every warning schemathesis gave, naming every operation it concerns."""
    warnings = []
    for kind, labels in sorted((report.get("warnings") or {}).items()):
        if labels:
            what = WARNINGS.get(kind, kind.replace("_", " "))
            warnings.append(f"{kind}: {what}: {len(labels)} operation(s): {', '.join(labels)}")
    for error in report.get("errors") or []:
        warnings.append(f"error: {error.get('title')} ({error.get('count')}×)")
    return warnings


def _reached(status: int) -> bool:
    """An answer that shows the request reached the operation: accepted (2xx), or judged on its business
    content (409 conflict, 422 business rejection), or a crash (5xx)."""
    return 200 <= status < 300 or status in (409, 422) or status >= 500


def _run_error(report: dict[str, Any], exit_code: int, found: int, answers: Counter[int]) -> str:
    """Why the run could not exercise its target, or "" (`found`: failures it found, which prove it did;
    `answers`: the status codes answered to the valid requests it generated)."""
    operations = report.get("operations") or {}
    tested = operations.get("tested", 0)
    if exit_code not in (0, 1):
        return f"schemathesis ended with exit {exit_code} ({report.get('stop_reason')}); see schemathesis.log"
    if report.get("errors"):
        titles = "; ".join(f"{e.get('title')} ({e.get('count')}×)" for e in report["errors"])
        return f"schemathesis could not complete its checks: {titles}; see schemathesis.log"
    if not tested:
        return "schemathesis tested no operation; see schemathesis.log"
    if exit_code == 1 and not found:
        return "schemathesis exited 1 but its reports name no failure; see schemathesis.log"
    refused_auth = (report.get("warnings") or {}).get("missing_auth") or []
    if len(refused_auth) >= tested:
        return (
            f"all {tested} operations answered only 401/403: the debtor system refused the harness's credentials, "
            "so nothing was fuzzed (is the token right?)"
        )
    if not found and sum(answers.values()) >= MIN_REFUSED and not any(_reached(status) for status in answers):
        seen = ", ".join(f"{status} ×{count}" for status, count in sorted(answers.items()))
        return (
            f"none of the {sum(answers.values())} valid requests generated reached an operation (answers: {seen}): "
            "every one was refused before the system judged it"
        )
    return ""
