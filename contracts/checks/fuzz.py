"""Contract fuzzing: run the schemathesis command line against a system at a URL and read its results.

The one home of fuzzing, used by certification (`harness.certification.run`) and by
`oir contracts fuzz` (`harness.contract_checks`): both run the same command with the same
configuration (the project's `schemathesis.toml`), and read the same JUnit report per operation.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

import yaml

from ..specs import load_spec

SIMULATION_TAG = "simulering"
SCHEMATHESIS_CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"
__all__ = [
    "SCHEMATHESIS_CONFIG",
    "SIMULATION_TAG",
    "FuzzResult",
    "operation_failures",
    "run_schemathesis",
    "vendor_contract",
]


@dataclass
class FuzzResult:
    passed: bool
    exit_code: int
    summary: str
    requirements: list[str] = field(default_factory=lambda: ["MSG-PROBLEM-JSON", "MSG-HEADER-BLOCK", "MSG-MONEY-OERE"])


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
) -> FuzzResult:
    """Fuzz the system at `url` with the schemathesis command line against `contract` (all checks).

    Seeded and bounded (`max_examples` per operation) so a run can be reproduced; sends the bearer
    `token` and an `X-Sim-Session` (`session`, or a fresh one) so a shared simulator starts clean.
    Writes `schemathesis.log` (the token masked) and `schemathesis-junit.xml` (one test case per
    operation) into `out`. The project's `schemathesis.toml` (expected statuses) applies wherever
    the command is run from.
    `request_timeout` is how long each request may wait for its answer (certification: what the
    profile allows); `har` receives every request and answer with its time (HAR; credentials sanitised).
    Used by certification and by `oir contracts fuzz`.
    """
    schemathesis = Path(sys.executable).with_name("schemathesis")
    config = [f"--config-file={SCHEMATHESIS_CONFIG}"] if SCHEMATHESIS_CONFIG.exists() else []
    command = [
        str(schemathesis),
        *config,
        "run",
        str(contract),
        "--url",
        url,
        "--checks",
        "all",
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
        "junit",
        "--report-junit-path",
        str(out / "schemathesis-junit.xml"),
    ]
    if request_timeout is not None:
        command += ["--request-timeout", f"{request_timeout:g}"]
    if har is not None:
        command += ["--report-har-path", str(har)]  # a report's path enables it
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    (out / "schemathesis.log").write_text(run.stdout.replace(token, "***") + run.stderr, encoding="utf-8")
    summary = " ".join(line.strip() for line in run.stdout.splitlines()[-6:] if line.strip())
    return FuzzResult(passed=run.returncode == 0, exit_code=run.returncode, summary=summary)


def operation_failures(junit: Path) -> dict[str, list[str]]:
    """Per operation, the failure messages schemathesis wrote into its JUnit report."""
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return {}
    failures: dict[str, list[str]] = {}
    for case in root.iter("testcase"):
        for problem in [*case.findall("failure"), *case.findall("error")]:
            text = (problem.get("message") or problem.text or "").strip()
            headline = next((line.strip() for line in text.splitlines() if line.strip()), type(problem).__name__)
            failures.setdefault(case.get("name", "?"), []).append(headline[:300])
    return failures
