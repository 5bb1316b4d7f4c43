"""The results.json reporter (for machines): the verdict, requirement coverage and each run.

Requirement coverage follows the runner's blame: a failed run fails only the requirements it blamed;
those it stopped before judging are "not verified" by it.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from contracts.requirements import load_requirements

from .record import ScenarioRecord, masked_json


def summary(records: list[ScenarioRecord]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.outcome] = counts.get(record.outcome, 0) + 1
    verdict = "PASSED" if records and all(r.outcome == "passed" for r in records) else "FAILED"
    return {"verdict": verdict, "counts": counts, "scenarios": len(records)}


def _verdict_on(record: ScenarioRecord, rid: str) -> str:
    """What one run says of one requirement it covers: verified, failed or not verified."""
    if record.outcome == "passed":
        return "verified"
    if rid in record.blamed or not (record.blamed or record.unproven):  # a record from before blame: all of it
        return "failed"
    return "not-verified" if rid in record.unproven else "verified"


def coverage(records: list[ScenarioRecord]) -> list[dict[str, Any]]:
    """Per requirement the runs cover: failed if a run blamed it, verified if every other run that
    judged it verified it, else not verified (the runs covering it stopped before it)."""
    catalogue = load_requirements()
    seen: dict[str, list[str]] = {}
    for record in records:
        for rid in record.covers:
            seen.setdefault(rid, []).append(_verdict_on(record, rid))
    rows = []
    for rid, verdicts in sorted(seen.items()):
        outcome = "failed" if "failed" in verdicts else "verified" if "verified" in verdicts else "not-verified"
        rows.append(
            {
                "id": rid,
                "text": catalogue[rid].text if rid in catalogue else "(unknown requirement)",
                "runs": len(verdicts),
                "passed": outcome == "verified",
                "outcome": outcome,
            }
        )
    return rows


def write_results(records: list[ScenarioRecord], path: Path) -> None:
    data = {
        **summary(records),
        "coverage": coverage(records),
        "results": [
            # the exchanges are the HAR's, not copied here (asdict copies every value deeply before any is left out)
            {k: v for k, v in asdict(replace(r, exchanges=[])).items() if k != "exchanges"}
            | {"har": f"evidence/{r.key}.har"}
            for r in sorted(records, key=lambda r: r.key)
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(masked_json(data), encoding="utf-8")
