"""File reporters: results.json (machines), a self-contained index.html (people), and HAR evidence.

A `Recorder` collects each scenario's events into a record; a record can be saved as JSON and read
back, so parallel pytest workers each save theirs and one process writes the summary. Everything
written passes through CPR masking. Requirement coverage follows the runner's blame: a failed run fails
only the requirements it blamed; those it stopped before judging are "not verified" by it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from contracts.identity import mask_cpr_in_text
from contracts.requirements import load_requirements

from ..events import Event, HttpExchange, ScenarioFinished, ScenarioStarted, StepFinished
from ..redaction import redact_exchange, redact_headers

_env = Environment(loader=PackageLoader("scenarios.reporters", "templates"), autoescape=select_autoescape())


@dataclass
class ScenarioRecord:
    scenario: str
    profile: str
    title: str
    file: str
    covers: list[str]
    tags: list[str]
    outcome: str = "running"
    message: str = ""
    seconds: float = 0.0
    failed_line: int | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    blamed: list[str] = field(default_factory=list)  # not passed: the requirements the failure is evidence against
    unproven: list[str] = field(default_factory=list)  # not passed: those the run stopped before judging

    @property
    def key(self) -> str:
        return f"{self.scenario}[{self.profile}]"

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.key}.json"
        path.write_text(_masked_json(asdict(self)), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> ScenarioRecord:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class Recorder:
    """Turns the event stream into one record per scenario run."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], ScenarioRecord] = {}

    def __call__(self, event: Event) -> None:
        key = (event.scenario, event.profile)
        if isinstance(event, ScenarioStarted):
            self.records[key] = ScenarioRecord(
                event.scenario, event.profile, event.title, event.file, list(event.covers), list(event.tags)
            )
            return
        record = self.records.get(key)
        if record is None:
            return
        if isinstance(event, StepFinished):
            record.steps.append(
                {
                    "index": event.index,
                    "line": event.line,
                    "action": event.action,
                    "passed": event.passed,
                    "seconds": round(event.seconds, 3),
                    "message": event.message,
                    "polls": event.polls,
                    "covers": list(event.covers),
                    "observed": event.observed if not event.passed else None,
                }
            )
        elif isinstance(event, HttpExchange):
            record.exchanges.append(asdict(event))
        elif isinstance(event, ScenarioFinished):
            record.outcome = event.outcome
            record.message = event.message
            record.seconds = round(event.seconds, 3)
            record.failed_line = event.failed_line
            record.evidence = event.evidence
            record.blamed = list(event.blamed)
            record.unproven = list(event.unproven)


def _masked_json(value: Any) -> str:
    return mask_cpr_in_text(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _headers(headers: dict[str, str]) -> list[dict[str, str]]:
    """HAR headers; credentials never reach evidence."""
    return [{"name": k, "value": v} for k, v in redact_headers(headers).items()]


def write_har(exchanges: list[dict[str, Any]], path: Path) -> None:
    """HAR 1.2 of HTTP exchanges (the scenario's, or certification's probes'); CPR masked, tokens redacted.

    Each exchange is a dict with the fields of `events.HttpExchange`.
    """
    entries = []
    for exchange in map(redact_exchange, exchanges):  # whoever recorded them: no token in evidence
        request_body = (
            json.dumps(exchange["request_body"], ensure_ascii=False) if exchange["request_body"] is not None else ""
        )
        response_body = json.dumps(exchange["response_body"], ensure_ascii=False, default=str)
        entries.append(
            {
                "startedDateTime": exchange["started"] or "1970-01-01T00:00:00Z",
                "time": round(exchange["seconds"] * 1000, 2),
                "request": {
                    "method": exchange["method"],
                    "url": exchange["url"],
                    "httpVersion": "HTTP/1.1",
                    "headers": _headers(exchange["request_headers"]),
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": len(request_body),
                    **({"postData": {"mimeType": "application/json", "text": request_body}} if request_body else {}),
                },
                "response": {
                    "status": exchange["status"],
                    "statusText": "",
                    "httpVersion": "HTTP/1.1",
                    "headers": _headers(exchange["response_headers"]),
                    "cookies": [],
                    "content": {"size": len(response_body), "mimeType": "application/json", "text": response_body},
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": len(response_body),
                },
                "cache": {},
                "timings": {"send": 0, "wait": round(exchange["seconds"] * 1000, 2), "receive": 0},
                "comment": exchange["system"],
            }
        )
    har = {"log": {"version": "1.2", "creator": {"name": "oir-harness", "version": "0.1.0"}, "entries": entries}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_masked_json(har), encoding="utf-8")


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
            {k: v for k, v in asdict(r).items() if k not in ("exchanges",)} | {"har": f"evidence/{r.key}.har"}
            for r in sorted(records, key=lambda r: r.key)
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_masked_json(data), encoding="utf-8")


def write_html(records: list[ScenarioRecord], path: Path, *, title: str = "ØiR scenario report") -> None:
    ordered = sorted(records, key=lambda r: (r.outcome == "passed", r.key))
    html = _env.get_template("scenarios.html.j2").render(
        title=title,
        summary=summary(records),
        coverage=coverage(records),
        records=ordered,
        dumps=lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mask_cpr_in_text(html), encoding="utf-8")


def write_folder(records: list[ScenarioRecord], folder: Path) -> None:
    """The whole report folder: index.html, results.json and evidence/*.har."""
    for record in records:
        write_har(record.exchanges, folder / "evidence" / f"{record.key}.har")
    write_results(records, folder / "results.json")
    write_html(records, folder / "index.html")
