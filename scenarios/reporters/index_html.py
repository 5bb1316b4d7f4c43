"""The index.html reporter (for people): a self-contained page with the verdict, each scenario, the
failing step with what was seen and the systems' journals, and requirement coverage; CPR masked."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from contracts.identity import mask_cpr_in_text

from .record import ScenarioRecord
from .results_json import coverage, summary

_env = Environment(loader=PackageLoader("scenarios.reporters", "templates"), autoescape=select_autoescape())


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
