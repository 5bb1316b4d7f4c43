"""Reporters: consumers of the runner's event stream. None of them can change what runs.

One module each: `console` (the terminal), `record` (the recorder every file reporter reads),
`results_json`, `index_html`, `har` (evidence), and `folder` (all three files of a report folder).
"""

from .console import ConsoleReporter
from .folder import write_folder
from .har import write_har
from .index_html import write_html
from .record import Recorder, ScenarioRecord
from .results_json import coverage, summary, write_results

__all__ = [
    "ConsoleReporter",
    "Recorder",
    "ScenarioRecord",
    "coverage",
    "summary",
    "write_folder",
    "write_har",
    "write_html",
    "write_results",
]
