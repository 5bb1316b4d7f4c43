"""One certification run of a debtor-system profile against its simulator.

It starts what the debtor system talks to (PSRM and a fagsystem callback endpoint), points the
profile's debtor system at them, fuzzes it with the vendor-facing `oir-debitor-v3` contract through
the schemathesis command line (all checks, seeded, bounded), runs the conformance probes, and judges.
Scenarios, Pact verification and the signed certificate join as they are built.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from contracts.municipalities import for_vendor
from contracts.specs import load_spec, spec_digest
from simulators import factory
from simulators.debtor.profile import load_profile

from ..servers import ServerThread
from .probes import CallbackInbox, DebtorConversation, ProbeResult, run_probes

SIMULATION_TAG = "simulering"
CALLBACK_TOKEN = "certification-callback-token"


@dataclass
class FuzzResult:
    passed: bool
    exit_code: int
    summary: str
    requirements: list[str] = field(default_factory=lambda: ["MSG-PROBLEM-JSON", "MSG-HEADER-BLOCK", "MSG-MONEY-OERE"])


@dataclass
class CertificationResult:
    profile: str
    product: str
    target: str
    seed: int
    contract_digest: str
    started: str
    seconds: float
    fuzz: FuzzResult
    probes: list[ProbeResult]

    @property
    def certified(self) -> bool:
        return self.fuzz.passed and all(p.passed for p in self.probes)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["certified"] = self.certified
        return data


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


def _fuzz(contract: Path, url: str, out: Path, seed: int, max_examples: int) -> FuzzResult:
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis),
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
        "Authorization: Bearer oir-dev-token",
        "-H",
        f"X-Sim-Session: certify-{uuid.uuid4().hex[:8]}",
        "--report",
        "junit",
        "--report-junit-path",
        str(out / "schemathesis-junit.xml"),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    (out / "schemathesis.log").write_text(run.stdout + run.stderr, encoding="utf-8")
    summary = " ".join(line.strip() for line in run.stdout.splitlines()[-6:] if line.strip())
    return FuzzResult(passed=run.returncode == 0, exit_code=run.returncode, summary=summary)


def certify_profile(
    profile_name: str, out: Path, *, seed: int, max_examples: int, callback_timeout: float = 20.0
) -> CertificationResult:
    profile = load_profile(profile_name)
    out.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)  # real time: when the run happened, for people
    started = time.monotonic()  # real time: how long the run took
    municipalities = for_vendor(profile.name)
    inbox = CallbackInbox(CALLBACK_TOKEN)
    session = f"certify-{uuid.uuid4().hex[:8]}"
    with (
        ServerThread(inbox.app, name="fagsystem") as fagsystem,
        ServerThread(factory("psrm")(), name="psrm") as psrm,
        ServerThread(
            factory("debtor")(
                profile=profile.name, psrm_url=psrm.url, callback_url=fagsystem.url, callback_token=CALLBACK_TOKEN
            ),
            name=f"debtor-{profile.name}",
            log_level="error",
        ) as debtor,
    ):  # the fuzzer sends invalid HTTP on purpose
        fuzz = _fuzz(vendor_contract(out / "oir-debitor-v3.vendor.yaml"), debtor.url, out, seed, max_examples)

        def advance(days: int) -> None:
            httpx.post(
                f"{debtor.url}/_sim/clock/advance",
                json={"days": days},
                timeout=30,
                headers={"Authorization": "Bearer oir-dev-token", "X-Sim-Session": session},
            ).raise_for_status()

        probes = run_probes(
            lambda: DebtorConversation(debtor.url, "oir-dev-token", municipalities[0], session),
            neighbour=municipalities[1] if len(municipalities) > 1 else None,
            b03=profile.capabilities.b03_payment,
            inbox=inbox,
            advance=advance,
            callback_timeout=callback_timeout,
        )
        target = debtor.url
    return CertificationResult(
        profile=profile.name,
        product=profile.product,
        target=f"simulator ({target})",
        seed=seed,
        contract_digest=spec_digest("oir-debitor-v3"),
        started=started_at.isoformat(timespec="seconds"),
        seconds=round(time.monotonic() - started, 1),  # real time
        fuzz=fuzz,
        probes=probes,
    )
