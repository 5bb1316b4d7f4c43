"""Reporters: consumers of the runner's event stream. None of them can change what runs."""

from .console import ConsoleReporter
from .files import Recorder, ScenarioRecord, write_har, write_html, write_results

__all__ = ["ConsoleReporter", "Recorder", "ScenarioRecord", "write_har", "write_html", "write_results"]
