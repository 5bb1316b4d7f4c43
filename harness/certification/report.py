"""The report folder of a certification run: results.json (machines), junit.xml (CI), index.html
(people) and certificate.json (signed, for KOMBIT and the rollout board).

Every check — the fuzzing, each probe, each consumer-pact interaction, each scenario (run, not run, or
not applicable to the profile) — is one row in each file, with the requirement IDs it cites, its status
(passed, failed, accepted deviation, not run, not applicable) and, when it failed, its evidence (for a
pact interaction: the verifier's mismatches; the verifier's full output is `pact-verification.log`).
Every requirement gets one outcome (judge.py: verified and how, failed, accepted deviation, not
applicable, not verified and why): the coverage table of index.html, `requirements.outcomes` of
results.json, and a second test suite of junit.xml (`<profile>.requirement`, one test case per
requirement) say the same.
Each file starts with what went wrong (failures.py): index.html opens on the failures — each with its
requirements, the request as a curl line, the answer and a scenario's failing step — before coverage,
and results.json has them as `failures`. A harness ERROR (the harness's own code broke) is its own
status everywhere — `<error>` in JUnit, ERROR in the page — never a vendor's failure. Statuses,
outcomes and verdicts are spelt as judge.py defines them, in every file.
The HTML page is self-contained (inline CSS, no scripts, no external assets) so it opens offline and
can be archived as a CI artefact. Every text in it passed through CPR masking. Nothing that did not pass
is shown as a pass: in JUnit a failure under an accepted deviation, a check not run, one not applicable,
one waiting, and a requirement not verified, not applicable or waiting are `skipped`, each saying so.
While a check of the session waits for the next bank day (sessions.py), the three files say which
checks wait, when they resume and the command that resumes them. If nothing failed, the verdict is
WAITING and no certificate is written (an older one in the folder is removed): a certificate states what
a complete session proved, and the rollout board must not read an unfinished session as a verdict;
`oir certify --resume` writes it. If something failed already, no resumption can change the verdict: the
NOT_CERTIFIED certificate is written at once (the rollout board and CI see the failure today), listing
the waiting requirements as not verified; resuming the session re-issues it.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jinja2 import Environment, PackageLoader

from contracts.checks.fuzz import FuzzFailure
from contracts.identity import mask_cpr_in_text
from contracts.requirements import load_requirements

from .certificate import VALIDITY_DAYS, build_certificate, sign
from .failures import failures
from .judge import NOT_CERTIFIED, OUTCOME_LABELS, STATUS_LABELS, RequirementOutcome, deviation_json
from .keys import PUBLIC_KEY_FILE, harness_key, public_pem
from .run import CertificationResult

# autoescape always: select_autoescape() goes by the extension and would leave "report.html.j2" unescaped,
# and the evidence holds whatever a vendor's system answered
_env = Environment(loader=PackageLoader("harness.certification", "templates"), autoescape=True)
LABELS = STATUS_LABELS  # the one vocabulary (judge.py), under the names the report has always used
# what JUnit says of a check or requirement that is not a pass (a `skipped` message starts with it)
SKIPPED: dict[str, str] = {
    kind: f"{labels[kind]} (not a pass)"
    for labels in (STATUS_LABELS, OUTCOME_LABELS)
    for kind in ("accepted-deviation", "not-run", "not-applicable", "not-verified", "waiting")
    if kind in labels
}
_NOT_APPLICABLE_REASON = "it concerns only requirements the profile's capabilities rule out"


def write_report(
    result: CertificationResult,
    folder: Path,
    *,
    key: Ed25519PrivateKey | None = None,
    validity_days: int = VALIDITY_DAYS,
) -> Path | None:
    """Write the four files; returns the certificate's path, or None while a check of the session waits
    (no certificate then). `key` signs it (default: the harness key)."""
    write_results(result, folder)
    if result.waiting and result.verdict != NOT_CERTIFIED:
        (folder / "certificate.json").unlink(missing_ok=True)  # an earlier run's must not stand for this one
        return None
    return write_certificate(result, folder, key or harness_key(), validity_days)


def write_results(result: CertificationResult, folder: Path) -> None:
    """Write results.json, junit.xml and index.html (a run limited to some checks issues no certificate)."""
    folder.mkdir(parents=True, exist_ok=True)
    wrong = failures(result)
    document = {"verdict": result.verdict, "failures": [f.as_json() for f in wrong], **result.as_json()}
    (folder / "results.json").write_text(
        mask_cpr_in_text(json.dumps(document, indent=2, ensure_ascii=False)), encoding="utf-8"
    )
    (folder / "junit.xml").write_text(mask_cpr_in_text(_junit(result)), encoding="utf-8")
    coverage = _coverage(result)
    notes = {name: result.judgement.deviation_note(requirements) for name, requirements in result.checks()}
    html = _env.get_template("report.html.j2").render(
        result=result,
        coverage=coverage,
        labels=LABELS,
        outcome_labels=OUTCOME_LABELS,
        notes=notes,
        verdict=result.verdict,
        failures=wrong,
        texts={row["id"]: row["text"] for row in coverage},
        counts=check_counts(result),
        failure_text=fuzz_failure_text,
    )
    (folder / "index.html").write_text(mask_cpr_in_text(html), encoding="utf-8")


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
        issued=datetime.fromisoformat(result.resumed or result.started),
        profile_file=result.profile_file,
        passed=judgement.passed,
        failed=judgement.failed,
        accepted_deviations=[deviation_json(d) for d in judgement.accepted],
        not_verified=sorted(judgement.not_verified + judgement.waiting),  # waiting: not verified by this one
        not_applicable=judgement.not_applicable,
        verified_how={rid: judgement.how for rid in judgement.passed},
        pacts=result.pact.files,
        validity_days=validity_days,
        latency=_latency(result),
    )
    path = folder / "certificate.json"
    path.write_text(json.dumps(sign(certificate, key), indent=2, ensure_ascii=False), encoding="utf-8")
    (folder / PUBLIC_KEY_FILE).write_bytes(public_pem(key.public_key()))
    return path


def check_counts(result: CertificationResult) -> str:
    """`40 PASSED, 2 FAILED, 1 ERROR`: how many checks came to each status, in the vocabulary's order."""
    statuses = list(result.judgement.statuses.values())
    return ", ".join(f"{statuses.count(s)} {label}" for s, label in STATUS_LABELS.items() if s in statuses)


def _latency(result: CertificationResult) -> dict[str, object] | None:
    """The answer times the certificate carries: the limit and, per operation, p50/p95/max."""
    if result.observed is None:
        return None
    latency = result.observed.latency
    return {
        "limitS": latency["limit_s"],
        "calls": latency["calls"],
        "operations": [
            {k: o[k] for k in ("operation", "calls", "p50_s", "p95_s", "max_s", "over_limit")}
            for o in latency["operations"]
        ],
    }


def outcome_label(outcome: RequirementOutcome) -> str:
    """What a person reads for a requirement's outcome: 'verified (real time)', 'NOT APPLICABLE' …"""
    label = OUTCOME_LABELS[outcome.outcome]
    return f"{label} ({outcome.how})" if outcome.how else label


def _coverage(result: CertificationResult) -> list[dict[str, object]]:
    """One row per requirement with its outcome (judge.py), for the HTML page."""
    catalogue = load_requirements()
    return [
        {
            "id": rid,
            "text": catalogue[rid].text if rid in catalogue else "(unknown requirement)",
            "outcome": outcome.outcome,
            "label": outcome_label(outcome),
            "detail": outcome.reason or ", ".join(outcome.checks),
            "checks": len(outcome.checks),
        }
        for rid, outcome in sorted(result.judgement.outcomes.items())
    ]


def _case(suite: ET.Element, classname: str, name: str, requirements: list[str]) -> ET.Element:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name)
    ET.SubElement(case, "properties").extend(
        [ET.Element("property", name="requirement", value=rid) for rid in requirements]
    )
    return case


def fuzz_failure_text(failure: FuzzFailure) -> str:
    """One fuzzing failure as a person reads it: operation, check, what was wrong, and the curl line."""
    status = f", answered {failure.status}" if failure.status else ""
    repeats = f", {failure.count} test cases" if failure.count > 1 else ""
    head = (
        f"{failure.operation} — {failure.check}: {failure.title} ({failure.code}{status}{repeats})"
        f" [fails {', '.join(failure.requirements)}]"
    )
    message = "\n".join(f"  {line}" for line in failure.message.splitlines() if line.strip())
    return "\n".join(part for part in (head, message, f"  reproduce: {failure.curl}" if failure.curl else "") if part)


def _checks_suite(result: CertificationResult) -> ET.Element:
    statuses = [result.status(name) for name, _ in result.checks()]
    suite = ET.Element(
        "testsuite",
        name=f"oir-certify.{result.profile}",
        tests=str(len(statuses)),
        failures=str(statuses.count("failed")),
        errors=str(statuses.count("error")),
        skipped=str(len(statuses) - sum(statuses.count(s) for s in ("failed", "error", "passed"))),
        time=str(result.seconds),
    )
    fuzz = result.fuzz
    for check in fuzz.checks:
        case = _case(suite, f"{result.profile}.contract", check.check, check.requirements)
        operations = sorted({f.operation for f in check.failures})
        failed = f"{check.schemathesis} failed on {', '.join(operations)} [fails {', '.join(check.blamed)}]"
        detail = "\n\n".join(fuzz_failure_text(f) for f in check.failures)
        reason = fuzz.error or f"schemathesis judged no test case with {check.schemathesis}"
        _outcome(result, case, check.check, failed, detail, reason=reason)
    for probe in result.probes:
        case = _case(suite, f"{result.profile}.probes", probe.name, probe.requirements)
        _outcome(result, case, probe.name, probe.message, "\n".join(probe.evidence), reason=probe.message)
    for interaction in result.pact.interactions:
        case = _case(
            suite, f"{result.profile}.pact.{interaction.consumer}", interaction.description, interaction.requirements
        )
        evidence = "\n".join(interaction.evidence)
        failed = f"pact interaction failed [{', '.join(interaction.requirements)}]"
        # not run: why it was not run (it did not fail); not applicable: what it concerns
        reason = evidence if not interaction.ran else _NOT_APPLICABLE_REASON
        _outcome(result, case, interaction.check, failed, evidence, reason=reason)
    scenarios = result.scenarios
    for run in scenarios.runs if scenarios else []:
        case = _case(suite, f"{result.profile}.scenario", run.scenario, run.requirements)
        where = f"{run.file}:{run.line}" if run.line else run.file
        blame = f" [fails {', '.join(run.blamed)}]" if run.blamed else ""
        _outcome(result, case, run.check, f"scenario {run.outcome} at {where}{blame}", run.message, reason=run.message)
    for skip in [*scenarios.not_run, *scenarios.not_applicable] if scenarios else []:
        case = _case(suite, f"{result.profile}.scenario", skip.scenario, skip.requirements)
        _outcome(result, case, skip.check, skip.reason, "", reason=skip.reason)
    observed = result.observed
    for seen in observed.outcomes() if observed else []:
        case = _case(suite, f"{result.profile}.observed", seen.name, list(seen.requirements))
        lines = observed.evidence(seen.name) if observed else []
        first = (lines or [seen.reason or seen.name])[0]
        _outcome(result, case, seen.name, first, "\n".join(lines), reason=seen.reason or first)
    return suite


def _requirements_suite(result: CertificationResult) -> ET.Element:
    outcomes = [o for _, o in sorted(result.judgement.outcomes.items())]
    kinds = [o.outcome for o in outcomes]
    suite = ET.Element(
        "testsuite",
        name=f"oir-certify.{result.profile}.requirements",
        tests=str(len(kinds)),
        failures=str(kinds.count("failed")),
        skipped=str(len(kinds) - kinds.count("failed") - kinds.count("verified")),
        time="0",
    )
    for outcome in outcomes:
        case = ET.SubElement(suite, "testcase", classname=f"{result.profile}.requirement", name=outcome.id)
        properties = [ET.Element("property", name="outcome", value=outcome.outcome)]
        properties += [ET.Element("property", name="check", value=check) for check in outcome.checks]
        if outcome.how:
            properties.append(ET.Element("property", name="how", value=outcome.how))
        ET.SubElement(case, "properties").extend(properties)
        if outcome.outcome == "failed":
            ET.SubElement(case, "failure", message=f"{OUTCOME_LABELS['failed']} by {', '.join(outcome.checks)}")
        elif outcome.outcome == "accepted-deviation":
            note = result.judgement.deviation_note([outcome.id])
            ET.SubElement(case, "skipped", message=f"{SKIPPED[outcome.outcome]}: {', '.join(outcome.checks)} [{note}]")
        elif outcome.outcome != "verified":
            ET.SubElement(case, "skipped", message=f"{SKIPPED[outcome.outcome]}: {outcome.reason}")
    return suite


def _junit(result: CertificationResult) -> str:
    root = ET.Element("testsuites", name=f"oir-certify.{result.profile}")
    root.extend([_checks_suite(result), _requirements_suite(result)])
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _outcome(
    result: CertificationResult, case: ET.Element, name: str, failed: str, detail: str, *, reason: str
) -> None:
    """The check's outcome in JUnit, worded for its status: `failed` (what went wrong) only where it
    failed (or failed under a deviation), `reason` (why) where it was not run, does not apply or could
    not exercise the system — so no text contradicts its status."""
    status = result.status(name)
    requirements = dict(result.checks())[name]
    note = result.judgement.deviation_note(requirements)
    if status == "failed":
        ET.SubElement(case, "failure", message=failed + (f" [{note}]" if note else "")).text = detail
    elif status == "accepted-deviation":
        ET.SubElement(case, "skipped", message=f"{SKIPPED[status]}: {failed} [{note}]").text = detail
    elif status == "error":  # the harness broke, or the check could not exercise its target: never the system's
        ET.SubElement(case, "error", message=f"ERROR (not a pass): {reason}").text = detail
    elif status == "waiting":
        resume = f" (resume: oir certify --resume {result.session})"
        ET.SubElement(case, "skipped", message=f"{SKIPPED[status]}: {reason}{resume}")
    elif status == "not-applicable":
        ET.SubElement(case, "skipped", message=f"{SKIPPED[status]}: {reason or _NOT_APPLICABLE_REASON}")
    elif status in SKIPPED:
        ET.SubElement(case, "skipped", message=f"{SKIPPED[status]}: {reason}")
