"""The report folder of a certification run: results.json (machines), junit.xml (CI), index.html (people).

The HTML page is self-contained (inline CSS, no scripts, no external assets) so it opens offline and
can be archived as a CI artefact. Every text in it passed through CPR masking.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from jinja2 import Environment, PackageLoader, select_autoescape

from contracts.identity import mask_cpr_in_text
from contracts.requirements import load_requirements

from .run import CertificationResult

_env = Environment(loader=PackageLoader("harness.certification", "templates"), autoescape=select_autoescape())


def write_report(result: CertificationResult, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(
        mask_cpr_in_text(json.dumps(result.as_json(), indent=2, ensure_ascii=False)), encoding="utf-8"
    )
    (folder / "junit.xml").write_text(mask_cpr_in_text(_junit(result)), encoding="utf-8")
    coverage = _coverage(result)
    html = _env.get_template("report.html.j2").render(result=result, coverage=coverage)
    (folder / "index.html").write_text(mask_cpr_in_text(html), encoding="utf-8")


def _coverage(result: CertificationResult) -> list[dict[str, object]]:
    catalogue = load_requirements()
    verdicts: dict[str, list[bool]] = {}
    for probe in result.probes:
        for rid in probe.requirements:
            verdicts.setdefault(rid, []).append(probe.passed)
    for rid in result.fuzz.requirements:
        verdicts.setdefault(rid, []).append(result.fuzz.passed)
    return [
        {
            "id": rid,
            "text": catalogue[rid].text if rid in catalogue else "(unknown requirement)",
            "passed": all(v),
            "checks": len(v),
        }
        for rid, v in sorted(verdicts.items())
    ]


def _junit(result: CertificationResult) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"oir-certify.{result.profile}",
        tests=str(len(result.probes) + 1),
        failures=str(sum(not p.passed for p in result.probes) + (not result.fuzz.passed)),
        time=str(result.seconds),
    )
    fuzz = ET.SubElement(suite, "testcase", classname=f"{result.profile}.contract", name="schemathesis")
    if not result.fuzz.passed:
        ET.SubElement(fuzz, "failure", message=f"schemathesis exit {result.fuzz.exit_code}").text = result.fuzz.summary
    for probe in result.probes:
        case = ET.SubElement(suite, "testcase", classname=f"{result.profile}.probes", name=probe.name)
        ET.SubElement(case, "properties").extend(
            [ET.Element("property", name="requirement", value=rid) for rid in probe.requirements]
        )
        if not probe.passed:
            ET.SubElement(case, "failure", message=probe.message).text = "\n".join(probe.evidence)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
