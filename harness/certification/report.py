"""The report folder of a certification run: results.json (machines), junit.xml (CI), index.html
(people) and certificate.json (signed, for KOMBIT and the rollout board).

Every check — the fuzzing, each probe, each consumer-pact interaction — is one row in each file,
with the requirement IDs it cites and, when it failed, its evidence (for a pact interaction: the
verifier's mismatches; the verifier's full output is `pact-verification.log`).
The HTML page is self-contained (inline CSS, no scripts, no external assets) so it opens offline and
can be archived as a CI artefact. Every text in it passed through CPR masking. A failure under an
accepted deviation is shown as such everywhere — in JUnit as `skipped`, never as a pass.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jinja2 import Environment, PackageLoader

from contracts.identity import mask_cpr_in_text
from contracts.requirements import load_requirements
from simulators.debtor.profile import profile_path

from .certificate import VALIDITY_DAYS, build_certificate, sign
from .judge import deviation_json
from .keys import PUBLIC_KEY_FILE, harness_key, public_pem
from .run import CertificationResult

# autoescape always: select_autoescape() goes by the extension and would leave "report.html.j2" unescaped,
# and the evidence holds whatever a vendor's system answered
_env = Environment(loader=PackageLoader("harness.certification", "templates"), autoescape=True)
LABELS = {"passed": "pass", "failed": "FAIL", "accepted-deviation": "ACCEPTED DEVIATION", "not-run": "NOT RUN"}


def write_report(
    result: CertificationResult,
    folder: Path,
    *,
    key: Ed25519PrivateKey | None = None,
    validity_days: int = VALIDITY_DAYS,
) -> Path:
    """Write the four files; returns the certificate's path. `key` signs it (default: the harness key)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(
        mask_cpr_in_text(json.dumps(result.as_json(), indent=2, ensure_ascii=False)), encoding="utf-8"
    )
    (folder / "junit.xml").write_text(mask_cpr_in_text(_junit(result)), encoding="utf-8")
    coverage = _coverage(result)
    notes = {
        name: result.judgement.deviation_note(requirements) if result.judgement else ""
        for name, requirements in result.checks()
    }
    html = _env.get_template("report.html.j2").render(
        result=result, coverage=coverage, labels=LABELS, notes=notes, verdict=result.verdict
    )
    (folder / "index.html").write_text(mask_cpr_in_text(html), encoding="utf-8")
    return write_certificate(result, folder, key or harness_key(), validity_days)


def write_certificate(
    result: CertificationResult, folder: Path, key: Ed25519PrivateKey, validity_days: int = VALIDITY_DAYS
) -> Path:
    judgement = result.judgement
    certificate = build_certificate(
        profile=result.profile,
        product=result.product,
        debtor_url=result.debtor_url,
        simulated=result.simulated,
        seed=result.seed,
        verdict=result.verdict,
        issued=datetime.fromisoformat(result.started),
        profile_file=result.profile_file or profile_path(result.profile),
        passed=judgement.passed if judgement else [],
        failed=judgement.failed if judgement else [],
        accepted_deviations=[deviation_json(d) for d in judgement.accepted] if judgement else [],
        not_verified=judgement.not_verified if judgement else [],
        pacts=result.pact.files if result.pact else None,
        validity_days=validity_days,
    )
    path = folder / "certificate.json"
    path.write_text(json.dumps(sign(certificate, key), indent=2, ensure_ascii=False), encoding="utf-8")
    (folder / PUBLIC_KEY_FILE).write_bytes(public_pem(key.public_key()))
    return path


def _coverage(result: CertificationResult) -> list[dict[str, object]]:
    catalogue = load_requirements()
    verdicts: dict[str, list[str]] = {}
    for name, requirements in result.checks():
        for rid in requirements:
            verdicts.setdefault(rid, []).append(result.status(name))
    rows: list[dict[str, object]] = []
    for rid, statuses in sorted(verdicts.items()):
        status = next((s for s in ("failed", "accepted-deviation", "passed") if s in statuses), "not-run")
        rows.append(
            {
                "id": rid,
                "text": catalogue[rid].text if rid in catalogue else "(unknown requirement)",
                "passed": status == "passed",
                "status": status,
                "checks": len(statuses),
            }
        )
    return rows


def _junit(result: CertificationResult) -> str:
    statuses = [result.status(name) for name, _ in result.checks()]
    suite = ET.Element(
        "testsuite",
        name=f"oir-certify.{result.profile}",
        tests=str(len(statuses)),
        failures=str(statuses.count("failed")),
        skipped=str(statuses.count("accepted-deviation") + statuses.count("not-run")),
        time=str(result.seconds),
    )
    fuzz = ET.SubElement(suite, "testcase", classname=f"{result.profile}.contract", name="schemathesis")
    _outcome(result, fuzz, "schemathesis", f"schemathesis exit {result.fuzz.exit_code}", result.fuzz.summary)
    for probe in result.probes:
        case = ET.SubElement(suite, "testcase", classname=f"{result.profile}.probes", name=probe.name)
        ET.SubElement(case, "properties").extend(
            [ET.Element("property", name="requirement", value=rid) for rid in probe.requirements]
        )
        _outcome(result, case, probe.name, probe.message, "\n".join(probe.evidence))
    for interaction in result.pact.interactions if result.pact else []:
        case = ET.SubElement(
            suite, "testcase", classname=f"{result.profile}.pact.{interaction.consumer}", name=interaction.description
        )
        ET.SubElement(case, "properties").extend(
            [ET.Element("property", name="requirement", value=rid) for rid in interaction.requirements]
        )
        message = f"pact interaction failed [{', '.join(interaction.requirements)}]"
        _outcome(result, case, interaction.check, message, "\n".join(interaction.evidence))
    for run in result.scenarios.runs if result.scenarios else []:
        case = ET.SubElement(suite, "testcase", classname=f"{result.profile}.scenario", name=run.scenario)
        ET.SubElement(case, "properties").extend(
            [ET.Element("property", name="requirement", value=rid) for rid in run.requirements]
        )
        where = f"{run.file}:{run.line}" if run.line else run.file
        _outcome(result, case, run.check, f"scenario {run.outcome} at {where}", run.message)
    for not_run in result.scenarios.not_run if result.scenarios else []:
        case = ET.SubElement(suite, "testcase", classname=f"{result.profile}.scenario", name=not_run["scenario"])
        ET.SubElement(case, "properties").extend(
            [ET.Element("property", name="requirement", value=rid) for rid in not_run["requirements"]]
        )
        _outcome(result, case, f"scenario {not_run['scenario']}", not_run["reason"], "")
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _outcome(result: CertificationResult, case: ET.Element, name: str, message: str, detail: str) -> None:
    status = result.status(name)
    requirements = dict(result.checks())[name]
    note = result.judgement.deviation_note(requirements) if result.judgement else ""
    if status == "failed":
        ET.SubElement(case, "failure", message=message + (f" [{note}]" if note else "")).text = detail
    elif status == "accepted-deviation":
        ET.SubElement(case, "skipped", message=f"ACCEPTED DEVIATION (not a pass): {message} [{note}]").text = detail
    elif status == "not-run":
        ET.SubElement(case, "skipped", message=f"NOT RUN (not a pass): {message}")
