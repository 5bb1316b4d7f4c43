"""JUnit XML for `oir run --junit PATH`: one test case per scenario × profile, so any CI shows scenario
runs the way it shows tests. A failed scenario is a `<failure>` (an `error` one, the world broke, an
`<error>`), its message the failing step with its file and line; a scenario left out by `--fail-fast`
is `<skipped>`, never a pass. Messages pass through CPR masking, as every report does.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from contracts.identity import mask_cpr_in_text

from ..events import Event, ScenarioFinished, ScenarioStarted


class JUnitReporter:
    """Collects each scenario's outcome from the event stream; `write` saves the XML."""

    def __init__(self, suite: str = "oir-scenarios") -> None:
        self.suite = suite
        self._files: dict[tuple[str, str], str] = {}
        self.finished: list[ScenarioFinished] = []
        self.skipped: list[tuple[str, str, str]] = []  # (scenario, profile, why)

    def __call__(self, event: Event) -> None:
        if isinstance(event, ScenarioStarted):
            self._files[(event.scenario, event.profile)] = event.file
        elif isinstance(event, ScenarioFinished):
            self.finished.append(event)

    def skip(self, scenario: str, profile: str, why: str) -> None:
        """A run that did not happen (e.g. after `--fail-fast` stopped): skipped, saying why."""
        self.skipped.append((scenario, profile, why))

    def write(self, path: Path) -> None:
        failures = sum(1 for f in self.finished if f.outcome == "failed")
        errors = sum(1 for f in self.finished if f.outcome == "error")
        skipped = sum(1 for f in self.finished if f.outcome == "skipped") + len(self.skipped)
        suite = ET.Element(
            "testsuite",
            name=self.suite,
            tests=str(len(self.finished) + len(self.skipped)),
            failures=str(failures),
            errors=str(errors),
            skipped=str(skipped),
            time=f"{sum(f.seconds for f in self.finished):.3f}",
        )
        for finished in self.finished:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"scenario.{finished.profile}",
                name=f"{finished.scenario}[{finished.profile}]",
                file=self._files.get((finished.scenario, finished.profile), ""),
                time=f"{finished.seconds:.3f}",
            )
            message = mask_cpr_in_text(finished.message)
            if finished.failed_line:
                message = f"line {finished.failed_line}: {message}"
            if finished.outcome in ("failed", "error"):
                tag = "failure" if finished.outcome == "failed" else "error"
                ET.SubElement(case, tag, message=message).text = message
            elif finished.outcome == "skipped":
                ET.SubElement(case, "skipped", message=message or "skipped")
        for scenario, profile, why in self.skipped:
            case = ET.SubElement(suite, "testcase", classname=f"scenario.{profile}", name=f"{scenario}[{profile}]")
            ET.SubElement(case, "skipped", message=why)
        ET.indent(suite)
        path.write_text(ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n", encoding="utf-8")
