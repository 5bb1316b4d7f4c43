"""Which bundled scenarios can meet a vendor's system that offers test control (`oir-testkontrol-v1`), and
why the others cannot; and `${day.N}`, the dates a scenario asserts relative to its own start."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scenarios import ScenarioError, load_scenario, load_suite
from scenarios.loader import BUNDLED_SUITES
from scenarios.values import Deadlines, day_offsets, resolve


def test_test_control_lets_the_clock_bank_transfer_and_journal_scenarios_meet_a_vendor() -> None:
    suite = {s.id: s for s in load_suite([BUNDLED_SUITES])}
    for scenario in ("interest", "reminders-with-fees", "handover-after-srb-reminders-notice", "partial-payments"):
        assert "clock.advance" in suite[scenario].why_not_against_a_vendor()  # without it: not run
        assert suite[scenario].why_not_against_a_vendor(test_control=True) == "", scenario
    # what test control does not offer: the debtor's faults and settings; a set start date
    assert "faults.add" in suite["debtor-outage"].why_not_against_a_vendor(test_control=True)
    assert "debtor.settings" in suite["rejected-then-corrected"].why_not_against_a_vendor(test_control=True)
    christmas = suite["business-days-over-christmas"].why_not_against_a_vendor(test_control=True)
    assert "starts at a set date (2026-12-23)" in christmas and "only moves forward" in christmas
    assert "concerns PSRM alone" in suite["psrm-under-100-kr-rejected"].why_not_against_a_vendor(test_control=True)
    runnable = {s for s, sc in suite.items() if not sc.why_not_against_a_vendor(test_control=True)}
    assert len(runnable) > len({s for s, sc in suite.items() if not sc.why_not_against_a_vendor()}) + 15


def test_day_references_are_dates_relative_to_the_start() -> None:
    captures = {"day": day_offsets(date(2027, 3, 1))}
    assert resolve({"sidsteRettidigeBetalingsdato": "${day.30}", "x": "on ${day.0}"}, captures) == {
        "sidsteRettidigeBetalingsdato": "2027-03-31",
        "x": "on 2027-03-01",
    }
    assert day_offsets(date(2026, 1, 5))["30"] == "2026-02-04"  # the simulators' epoch: as the suites always said


def test_deadline_references_follow_the_closed_day_rule_from_any_start() -> None:
    """`${deadline.A.B…}`: each deadline A, then B days after the one before, moved to the next bank day —
    so a scenario's reminder and handover dates hold wherever a vendor's business date stands."""
    captures = {"day": day_offsets(date(2026, 11, 24)), "deadline": Deadlines(date(2026, 11, 24))}
    # day 30 is 24 December (banks closed), then Christmas and a Sunday: the SRB is Monday 28 December
    assert resolve("${day.30}", captures) == "2026-12-24"
    assert resolve("${deadline.30}", captures) == "2026-12-28"
    assert resolve("${deadline.30.14}", captures) == "2027-01-11"  # 14 days after the moved SRB
    assert resolve("${deadline.30.14.20}", captures) == "2027-02-01"  # Sunday 31 January moves to Monday
    # at the simulators' epoch the chain is the days the suites always counted (30, 44, 64)
    epoch = {"deadline": Deadlines(date(2026, 1, 5))}
    assert resolve("${deadline.30.14.20}", epoch) == "2026-03-10"
    with pytest.raises(KeyError, match="whole days"):
        resolve("${deadline.soon}", captures)


def test_a_handover_scenario_counts_from_the_moved_deadlines(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, 'clock.advance: {until: "${deadline.30.14.20}"}'))
    assert scenario.steps[0].args["until"] == "${deadline.30.14.20}"  # a built-in reference loads
    with pytest.raises(ScenarioError, match="deadlines"):
        load_scenario(_write(tmp_path, 'clock.advance: {until: "${deadlines.30}"}'))


def _write(folder: Path, step: str) -> Path:
    path = folder / "s.scenario.yaml"
    text = f"scenario: deadline-words\ntitle: t\ncovers: [DEBT-REMINDERS]\nsteps:\n  - {step}\n"
    path.write_text(text, encoding="utf-8")
    return path
