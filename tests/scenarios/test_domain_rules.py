"""The debtor rules DOMAIN.md gained, each shown by its bundled scenario and shown to fail when the debtor
simulator breaks it (its misbehaviour switch), so the scenario is not one that passes whatever happens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scenario_world import SimulatedWorlds
from scenarios import load_scenario, run_scenario
from scenarios.events import EventBus

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"


@pytest.fixture(scope="module")
def worlds() -> Iterator[SimulatedWorlds]:
    started = SimulatedWorlds.start()
    yield started
    started.stop()


@pytest.mark.parametrize(
    ("scenario_file", "switch", "where"),
    [
        ("calendar/deadline-on-christmas-eve.scenario.yaml", "deadlines_on_closed_days", "2026-12-28"),
        ("migration/go-live-with-history.scenario.yaml", "ignore_claim_history", "rykkere: expected len 1, saw []"),
        ("callbacks/engine-down-while-callbacks-arrive.scenario.yaml", "drop_callbacks", "leveret: expected exists"),
        ("callbacks/write-off-reaches-fbs.scenario.yaml", "unreported_write_offs", "saldoOere: expected 7000"),
        (
            "payments/direct-payment-after-handover.scenario.yaml",
            "no_psrm_write_down_after_direct_payment",
            "saldoOere: expected '250 kr', saw 45000",
        ),
        ("resilience/engine-crash-at-callback-intake.scenario.yaml", "drop_callbacks", "0.forsoeg: expected 2"),
        (
            "payments/payment-on-an-annulled-claim.scenario.yaml",
            "drop_payment_on_gone_claim",
            "posteringer: expected len 1",
        ),
        ("collection/payment-hold-until-a-closed-day.scenario.yaml", "ignore_payment_hold", "rykkere: expected len 0"),
        ("fbs/dispute-pauses-collection.scenario.yaml", "ignore_payment_hold", "rykkere: expected len 0"),
        ("fbs/balance-statement-shows-debtor-payments.scenario.yaml", "drop_callbacks", "betaltOere: expected '80 kr'"),
    ],
)
def test_the_rule_holds_and_its_scenario_catches_the_debtor_that_breaks_it(
    worlds: SimulatedWorlds, scenario_file: str, switch: str, where: str
) -> None:
    scenario = load_scenario(SUITES / scenario_file)
    assert run_scenario(scenario, "kmd-opus", worlds, EventBus()).passed
    worlds.debtor_settings = {"misbehaviour": switch}
    try:
        broken = run_scenario(scenario, "kmd-opus", worlds, EventBus())
    finally:
        worlds.debtor_settings = {}
    assert not broken.passed
    assert where in broken.message, broken.message


_PSRM_DOWN_AT_THE_PAYMENT = """\
scenario: direct-payment-while-psrm-is-down
title: t
covers: [DEBT-DIRECT-PAYMENT-AFTER-HANDOVER]
steps:
  - fbs.new_borrower: {as: gorm}
  - fbs.new_claim: {borrower: gorm, type: ERSTATNING_ANERKENDT, amount: 450 kr, as: book}
  - engine.cycle: {}
  - clock.advance: {days: 185}
  - clock.advance: {minutes: 10, as: paid}
  - faults.add: {system: psrm, kind: error, operation: MFFordringIndberet, count: 1}
  - debtor.bank_payment: {claim: book, amount: 200 kr}
  - expect:
      psrm.claim: book
      that: {saldoOere: 450 kr}
  - clock.advance: {days: 2}
  - expect:
      psrm.claim: book
      that:
        saldoOere: 250 kr
        historik: {len: 3}
        historik.-1.haendelse: NEDSKRIV DIREKTE_BETALING
        historik.-1.dato: "${paid.date}"
"""


def test_a_direct_payment_s_write_down_waits_out_psrm_being_down_and_is_made_once(
    worlds: SimulatedWorlds, tmp_path: Path
) -> None:
    """PSRM answering 503 when the payment is booked does not lose the write-down: the debtor's next tick
    delivers it, effective on the payment date, and only once."""
    file = tmp_path / "psrm-down.scenario.yaml"
    file.write_text(_PSRM_DOWN_AT_THE_PAYMENT, "utf-8")
    result = run_scenario(load_scenario(file), "kmd-opus", worlds, EventBus())
    assert result.passed, result.message


def test_the_crash_at_callback_intake_is_what_costs_the_debtor_an_attempt(
    worlds: SimulatedWorlds, tmp_path: Path
) -> None:
    """Without `engine.crash: {at: callback_intake}` the same run delivers the payment at the first attempt,
    so the bundled scenario's second attempt is the crash's doing (and its one posting the engine's dedup)."""
    text = (SUITES / "resilience/engine-crash-at-callback-intake.scenario.yaml").read_text("utf-8")
    assert "  - engine.crash: {at: callback_intake}" in text
    file = tmp_path / "no-crash.scenario.yaml"
    file.write_text(text.replace("  - engine.crash: {at: callback_intake}", "  - engine.cycle: {}"), "utf-8")
    result = run_scenario(load_scenario(file), "kmd-opus", worlds, EventBus())
    assert not result.passed
    assert "0.forsoeg: expected 2, saw 1" in result.message, result.message
