"""Which bundled scenarios can meet a vendor's system that offers test control (`oir-testkontrol-v1`), and
why the others cannot; and `${day.N}`, the dates a scenario asserts relative to its own start."""

from __future__ import annotations

from datetime import date

from scenarios import load_suite
from scenarios.loader import BUNDLED_SUITES
from scenarios.values import day_offsets, resolve


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
