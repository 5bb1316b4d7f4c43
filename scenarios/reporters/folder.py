"""The whole scenario report folder: index.html, results.json and evidence/*.har, from the records."""

from __future__ import annotations

from pathlib import Path

from .har import write_har
from .index_html import write_html
from .record import ScenarioRecord
from .results_json import write_results


def write_folder(records: list[ScenarioRecord], folder: Path) -> None:
    """The whole report folder: index.html, results.json and evidence/*.har."""
    for record in records:
        write_har(record.exchanges, folder / "evidence" / f"{record.key}.har")
    write_results(records, folder / "results.json")
    write_html(records, folder / "index.html")
