"""The scenario reports: results.json, HAR evidence and a self-contained HTML page that a real
headless browser shows with the verdict, every scenario, and the evidence of a failure — CPR masked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scenario_world import SimulatedWorlds
from scenarios import load_scenario, run_scenario
from scenarios.events import EventBus
from scenarios.reporters import Recorder, write_folder
from tests.support.browser import rendered_dom, screenshot
from tests.support.ids import without_uuids

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"
CPR = re.compile(r"(?<!\d)[0-3]\d[01]\d{3}-?\d{4}(?!\d)")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One passing scenario, and one failing because the debtor ignores annulments."""
    folder = tmp_path_factory.mktemp("scenario-report")
    recorder = Recorder()
    bus = EventBus()
    bus.subscribe(recorder)
    worlds = SimulatedWorlds.start()
    try:
        passing = load_scenario(SUITES / "routing" / "fee-to-the-right-debtor.scenario.yaml")
        failing = load_scenario(SUITES / "changes" / "annulment-before-handover.scenario.yaml")
        assert run_scenario(passing, "eg", worlds, bus).passed
        worlds.debtor_settings = {"misbehaviour": "ignore_annulment"}
        assert not run_scenario(failing, "eg", worlds, bus).passed
    finally:
        worlds.stop()
    write_folder(list(recorder.records.values()), folder)
    yield folder


def test_results_json_gives_verdict_coverage_and_the_failing_step(report: Path) -> None:
    results = json.loads((report / "results.json").read_text())
    assert results["verdict"] == "FAILED" and results["counts"] == {"failed": 1, "passed": 1}
    by_key = {r["scenario"] + "[" + r["profile"] + "]": r for r in results["results"]}
    failed = by_key["annulment-before-handover[eg]"]
    assert failed["outcome"] == "failed" and failed["failed_line"] == 11
    assert "status: expected 'ANNULLERET', saw 'AKTIV'" in failed["message"]
    assert {"eg"} <= set(failed["evidence"]) and failed["evidence"]["eg"]
    coverage = {c["id"]: c["passed"] for c in results["coverage"]}
    assert coverage["B01-ANNUL"] is False and coverage["ROUTE-PER-MUNICIPALITY"] is True


def test_har_evidence_holds_every_exchange_with_cpr_masked(report: Path) -> None:
    har = json.loads((report / "evidence" / "fee-to-the-right-debtor[eg].har").read_text())
    entries = har["log"]["entries"]
    assert har["log"]["version"] == "1.2" and len(entries) >= 4
    assert any(e["request"]["method"] == "POST" and e["request"]["url"].endswith("/laanere") for e in entries)
    raw = (report / "evidence" / "fee-to-the-right-debtor[eg].har").read_text()
    assert "-xxxx" in raw and not CPR.search(without_uuids(raw).replace("-xxxx", ""))


def test_the_html_report_in_a_real_browser_shows_verdict_scenarios_and_evidence(report: Path) -> None:
    dom = rendered_dom(report / "index.html")
    assert re.search(r'id="verdict"[^>]*>FAILED<', dom)
    assert 'data-key="annulment-before-handover[eg]" data-outcome' not in dom  # attribute order is the template's
    assert re.search(r'data-outcome="failed" data-key="annulment-before-handover\[eg\]"', dom)
    assert re.search(r'data-outcome="passed" data-key="fee-to-the-right-debtor\[eg\]"', dom)
    failure = dom[dom.index('id="annulment-before-handover[eg]"') :]
    assert "status: expected 'ANNULLERET', saw 'AKTIV'" in failure.replace("&#39;", "'")
    assert "What was seen" in failure and "Evidence" in failure and "RetFordringTilstand" in failure
    assert not CPR.search(without_uuids(dom).replace("-xxxx", ""))
    png = screenshot(report / "index.html", report / "index.png")
    assert png.stat().st_size > 10_000  # a rendered page, not an empty canvas
