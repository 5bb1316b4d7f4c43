"""What went wrong in a certification run, first: one entry per check that FAILED or ended in ERROR.

A report opened on dozens of coverage rows, with the first failure and its cause thousands of pixels
down. Every output now starts with these entries (index.html's first section, `failures` in
results.json, the console's lines): each names its check, its status (FAILED: the system broke a rule;
ERROR: the harness's own code broke — no verdict on the system), the requirements it fails, what was
seen, the request as a curl line (curl.py: token as a variable, CPR masked) and the answer, and for a
scenario the failing step. A failure under an accepted deviation is not listed: it is not what fails
the run (the deviations table shows it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .curl import answer_text, curl_line
from .run import CertificationResult

FAILING = ("failed", "error")  # the statuses a failures list shows, in that order


@dataclass(frozen=True)
class Failure:
    check: str
    kind: str  # contract, probe, pact, scenario
    status: str  # failed or error (judge.py's vocabulary)
    requirements: tuple[str, ...]  # what the failure is evidence against (error: what it left unverified)
    message: str
    curl: str = ""  # the request that failed, as a curl line
    answer: str = ""  # the answer to it: status and body
    step: str = ""  # a scenario: the failing step
    where: str = ""  # a scenario: file:line
    detail: str = ""  # more evidence: the probe's exchanges, the verifier's mismatches, what a step saw

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["requirements"] = list(self.requirements)
        return {k: v for k, v in data.items() if v or k in ("check", "status", "requirements", "message")}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


def failures(result: CertificationResult) -> list[Failure]:
    """The checks of the run that FAILED or ended in ERROR, failures first, each with its evidence."""
    found: list[Failure] = []
    status = result.status
    for check in result.fuzz.checks:  # each schemathesis check is a check of its own
        if status(check.check) not in FAILING:
            continue
        first = check.failures[0] if check.failures else None
        said = "; ".join(
            f"{f.operation}: {f.title} ({f.message})" if f.message else f"{f.operation}: {f.title}"
            for f in check.failures
        )
        found.append(
            Failure(
                check.check,
                "contract",
                status(check.check),
                tuple(r for r in check.requirements if r not in check.unproven),
                said or result.fuzz.error or f"schemathesis {check.schemathesis} did not hold",
                curl=first.curl if first else "",
                answer=f"HTTP {first.status}" if first and first.status else "",
                detail="schemathesis.log has its whole output (schemathesis-report.json and -junit.xml beside it)",
            )
        )
    for probe in result.probes:
        if status(probe.name) not in FAILING:
            continue
        last = probe.exchanges[-1] if probe.exchanges else None
        found.append(
            Failure(
                probe.name,
                "probe",
                status(probe.name),
                # a probe that named the rule it saw broken fails that one
                tuple(probe.blamed)
                if probe.blamed is not None and status(probe.name) == "failed"
                else tuple(probe.requirements),
                probe.message,
                curl=curl_line(last) if last else "",
                answer=answer_text(last) if last else "",
                detail="\n".join(probe.evidence),
            )
        )
    for interaction in result.pact.interactions:
        if status(interaction.check) not in FAILING:
            continue
        found.append(
            Failure(
                interaction.check,
                "pact",
                status(interaction.check),
                tuple(interaction.requirements),
                f"the consumer pact's interaction '{interaction.description}' did not hold",
                detail="\n".join(interaction.evidence) + "\n(the verifier's full output: pact-verification.log)",
            )
        )
    for run in result.scenarios.runs if result.scenarios else []:
        if status(run.check) not in FAILING:
            continue
        blamed = tuple(run.blamed) or tuple(run.requirements)
        found.append(
            Failure(
                run.check,
                "scenario",
                status(run.check),
                blamed if status(run.check) == "failed" else tuple(run.requirements),
                run.message,
                curl=curl_line(run.request) if run.request else "",
                answer=answer_text(run.request) if run.request else "",
                step=run.step,
                where=f"{run.file}:{run.line}" if run.line else run.file,
                detail=f"what the step saw: {_json(run.seen)}" if run.seen is not None else "",
            )
        )
    return sorted(found, key=lambda f: FAILING.index(f.status))
