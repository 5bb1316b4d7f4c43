"""The scenario language's newer words: not_contains, every/none, date comparisons, `in` on a list refused
at run time, soft expectations, and the errors for a foreign matcher name or a stray key in an expect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scenario_world import SimulatedWorlds
from scenarios import ScenarioError, load_scenario, run_scenario
from scenarios.events import EventBus
from scenarios.matchers import mismatches

SEEN = {
    "status": "AABEN",
    "sidsteRettidigeBetalingsdato": "2026-12-28",
    "oprettet": "2026-11-24T10:00:00+01:00",
    "typer": ["DAEKNING", "AFSKRIVNING"],
    "posteringer": [{"type": "DAEKNING", "beloebOere": 5000}, {"type": "DAEKNING", "beloebOere": 2000}],
}


def test_not_contains_every_and_none() -> None:
    assert mismatches(SEEN, {"typer": {"not_contains": "ANNULLERING"}, "status": {"not_contains": "BET"}}) == []
    assert mismatches(SEEN, {"posteringer": {"every": {"type": "DAEKNING", "beloebOere": {"gt": "10 kr"}}}}) == []
    assert mismatches(SEEN, {"posteringer": {"none": {"beloebOere": {"gt": "50 kr"}}}}) == []
    assert mismatches(SEEN, {"typer": {"every": {".": {"matches": "^[A-Z]+$"}}}}) == []
    assert mismatches(SEEN, {"typer": {"not_contains": "AFSKRIVNING"}}) == [
        "typer: expected not_contains 'AFSKRIVNING', saw ['DAEKNING', 'AFSKRIVNING']"
    ]
    assert mismatches(SEEN, {"posteringer": {"every": {"beloebOere": {"gt": 3000}}}}) == [
        "posteringer: every item must match: item 1: beloebOere: expected gt 3000, saw 2000"
    ]
    assert mismatches(SEEN, {"posteringer": {"none": {"beloebOere": 2000}}}) == [
        "posteringer: no item may match {'beloebOere': 2000}, but item(s) 1 do"
    ]
    assert mismatches(SEEN, {"status": {"every": {".": "AABEN"}}}) == ["status: every needs a list, saw 'AABEN'"]


def test_dates_compare_as_dates() -> None:
    assert mismatches(SEEN, {"sidsteRettidigeBetalingsdato": {"gt": "2026-12-24", "lte": "2026-12-28"}}) == []
    assert mismatches(SEEN, {"oprettet": {"lt": "2026-11-25", "gte": "2026-11-24"}}) == []
    assert mismatches(SEEN, {"sidsteRettidigeBetalingsdato": {"lt": "2026-12-28"}}) == [
        "sidsteRettidigeBetalingsdato: expected lt '2026-12-28', saw '2026-12-28'"
    ]


def test_in_on_a_list_says_it_compares_one_value() -> None:
    (problem,) = mismatches(SEEN, {"typer": {"not_in": ["ANNULLERING"]}})
    assert "not_in compares one value, but the field is a list" in problem


def _load(tmp_path: Path, expect: str) -> object:
    file = tmp_path / "words.scenario.yaml"
    file.write_text(
        "scenario: words\ntitle: t\ncovers: [B01-CREATE-ACCOUNT]\nsteps:\n"
        "  - fbs.new_borrower: {as: anna}\n"
        "  - fbs.new_claim: {borrower: anna, type: GEBYR, amount: 120 kr, as: fee}\n"
        f"  - expect:\n      fbs.claim: fee\n{expect}",
        "utf-8",
    )
    return load_scenario(file)


@pytest.mark.parametrize(
    ("expect", "line", "message", "suggestion"),
    [
        ("      that: {saldoOere: {greater_than: 0}}\n", 9, "unknown matcher 'greater_than'; matchers are", "gt"),
        ("      that: {saldoOere: {LEN: 0}}\n", 9, "unknown matcher 'LEN'", "len"),
        ("      that: {status: {not_in: AABEN}}\n", 9, "not_in takes a list", None),
        ("      that: {posteringer: {every: 3}}\n", 9, "every holds a mapping of item fields", None),
        ("      witin: 5s\n", 9, "unknown key 'witin' in an expect", "within"),
        ("      soft: maybe\n", 9, "true or false", None),
    ],
)
def test_authoring_errors_name_the_matcher_or_key_and_suggest(
    tmp_path: Path, expect: str, line: int, message: str, suggestion: str | None
) -> None:
    with pytest.raises(ScenarioError) as caught:
        _load(tmp_path, expect)
    assert caught.value.line == line
    assert message in str(caught.value)
    assert caught.value.suggestion == suggestion


@pytest.fixture(scope="module")
def worlds() -> Iterator[SimulatedWorlds]:
    started = SimulatedWorlds.start()
    yield started
    started.stop()


def test_soft_expectations_report_every_failure_and_the_run_goes_on(tmp_path: Path, worlds: SimulatedWorlds) -> None:
    scenario = _load(
        tmp_path,
        "      that: {saldoOere: 1}\n      soft: true\n"
        "  - expect:\n      fbs.claim: fee\n      that: {status: BETALT}\n      soft: true\n"
        "  - engine.cycle: {}\n"  # the run goes on past both
        "  - expect:\n      debtor.claim: fee\n      that: {saldoOere: 0}\n",
    )
    result = run_scenario(scenario, "kmd-opus", worlds, EventBus())  # type: ignore[arg-type]
    assert result.outcome == "failed"
    assert "saldoOere: expected 1, saw 12000" in result.message
    assert "status: expected 'BETALT', saw 'AABEN'" in result.message
    assert "step 6" in result.message and "saldoOere: expected 0, saw 12000" in result.message  # ran, then stopped
    assert result.failed_line == 16  # the step that stopped the run


def _load_steps(tmp_path: Path, steps: str) -> object:
    file = tmp_path / "steps.scenario.yaml"
    file.write_text(f"scenario: steps\ntitle: t\ncovers: [B01-CREATE-ACCOUNT]\nsteps:\n{steps}", "utf-8")
    return load_scenario(file)


@pytest.mark.parametrize(
    ("steps", "message", "suggestion"),
    [
        (
            "  - fbs.new_borrower: {as: anna}\n  - fbs.new_claim: {borrower: anna, type: gebyr, amount: 1 kr}\n",
            "'gebyr' is not one of",
            "GEBYR",
        ),
        ("  - fbs.new_borrower: {municipality: Kobenhavn}\n", "no municipality 'Kobenhavn'", "København"),
        ("  - fbs.new_borrower: {municipality: secnod}\n", "no municipality 'secnod'", "second"),
    ],
)
def test_enum_values_and_municipalities_are_checked_at_load_time(
    tmp_path: Path, steps: str, message: str, suggestion: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        _load_steps(tmp_path, steps)
    assert message in str(caught.value)
    assert caught.value.suggestion == suggestion


def test_every_way_of_naming_a_municipality_loads(tmp_path: Path) -> None:
    for choice in ("first", "second", "other-vendor", "101", "københavn", "Frederiksberg"):
        _load_steps(tmp_path, f"  - fbs.new_borrower: {{municipality: {choice}}}\n")


def test_bank_days_and_summer_time(tmp_path: Path, worlds: SimulatedWorlds) -> None:
    """`until:` keeps the local time of day across daylight saving time; `bank_days` skips 24 December."""
    scenario = _load_steps(
        tmp_path,
        '  - clock.advance: {until: "2026-07-01"}\n'
        '  - expect:\n      clock.now: {}\n      that: {now: "2026-07-01T09:00:00+02:00", bank_day: true}\n'
        '  - clock.advance: {until: "2026-12-23"}\n'
        "  - clock.advance: {bank_days: 1}\n"  # 24 Dec closed, 25-26 holidays, 27 a Sunday
        '  - expect:\n      clock.now: {}\n      that: {now: "2026-12-28T09:00:00+01:00", business_day: true}\n',
    )
    result = run_scenario(scenario, "eg", worlds, EventBus())  # type: ignore[arg-type]
    assert result.passed, result.message


def test_queries_as_someone_else(tmp_path: Path, worlds: SimulatedWorlds) -> None:
    """B_02 for an explicit (old) CPR, asked as another municipality, and the payment overview by CPR."""
    scenario = _load_steps(
        tmp_path,
        "  - fbs.new_borrower: {as: anna}\n"
        "  - fbs.new_claim: {borrower: anna, type: GEBYR, amount: 120 kr, as: fee}\n"
        "  - engine.cycle: {}\n"
        "  - expect:\n      debtor.lookup: anna\n      that: {status: 200, debitorkonti: {len: 1}}\n"
        "  - expect:\n      debtor.lookup: {borrower: anna, municipality: other-vendor}\n"
        "      that: {status: 422, code: OIR-422-MUNICIPALITY-NOT-SERVED}\n"
        "  - expect:\n      debtor.lookup: {borrower: anna, municipality: second}\n"
        "      that: {debitorkonti: {len: 0}}\n"
        "  - fbs.change_cpr: {borrower: anna}\n"
        "  - engine.cycle: {}\n"
        '  - expect:\n      debtor.lookup: {borrower: anna, cpr: "${anna.cprs.0}"}\n'  # the CPR before the change
        "      that: {debitorkonti: {len: 0}}\n"
        '  - expect:\n      debtor.lookup: {borrower: anna, cpr: "${anna.cprs.1}"}\n'
        "      that: {status: 200, debitorkonti: {len: 1}}\n"
        '  - expect:\n      payment.overview: {cpr: "${anna.cprs.0}", municipality: first}\n'
        "      that: {'.': {exists: true}}\n",
    )
    result = run_scenario(scenario, "kmd-opus", worlds, EventBus())  # type: ignore[arg-type]
    assert result.passed, result.message


WHEN_STEPS = (
    "  - fbs.new_borrower: {as: anna}\n"
    "  - fbs.new_claim: {borrower: anna, type: GEBYR, amount: 120 kr, as: fee}\n"
    "  - engine.cycle: {}\n"
    "  - clock.advance: {days: 1}\n"
    "  - payment.pay: {claim: fee, amount: 120 kr, when: b03_payment, covers: [B03-PAY]}\n"
    "  - expect:\n      fbs.claim: fee\n      that: {saldoOere: 0}\n      within: 10s\n"
    "      when: b03_payment\n      covers: [B03-PAY]\n"
)


def _load_when(tmp_path: Path, steps: str) -> object:
    file = tmp_path / "when.scenario.yaml"
    file.write_text(f"scenario: when-probe\ntitle: t\ncovers: [B01-CREATE-ACCOUNT, B03-PAY]\nsteps:\n{steps}", "utf-8")
    return load_scenario(file)


def test_a_step_when_a_capability_runs_only_where_the_profile_declares_it(
    tmp_path: Path, worlds: SimulatedWorlds
) -> None:
    scenario = _load_when(tmp_path, WHEN_STEPS)
    paid = run_scenario(scenario, "kmd-opus", worlds, EventBus())  # type: ignore[arg-type]
    assert paid.passed, paid.message  # the payment ran: FBS saw the claim settled
    skipped = run_scenario(scenario, "eg", worlds, EventBus())  # type: ignore[arg-type]
    assert skipped.passed, skipped.message  # without B_03 both steps were left out; the claim stays open
    broken = _load_when(tmp_path, WHEN_STEPS.replace("that: {saldoOere: 0}", "that: {saldoOere: 1}"))
    assert not run_scenario(broken, "kmd-opus", worlds, EventBus()).passed  # type: ignore[arg-type]
    assert run_scenario(broken, "eg", worlds, EventBus()).passed  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("step", "message", "suggestion"),
    [
        (
            "  - engine.cycle: {when: b03_paymnet, covers: [B03-PAY]}\n",
            "unknown capability 'b03_paymnet'",
            "b03_payment",
        ),
        ("  - engine.cycle: {when: b03_payment}\n", "names what it asserts (covers:)", None),
        (
            "  - engine.cycle: {when: b03_payment, covers: [B01-CREATE-ACCOUNT]}\n",
            "B01-CREATE-ACCOUNT bind(s) every",
            None,
        ),
    ],
)
def test_when_is_checked_at_load_time(tmp_path: Path, step: str, message: str, suggestion: str | None) -> None:
    with pytest.raises(ScenarioError) as caught:
        _load_when(tmp_path, step)
    assert message in str(caught.value) and caught.value.suggestion == suggestion


def test_disputes_payment_holds_and_balance_statements(tmp_path: Path, worlds: SimulatedWorlds) -> None:
    """The words for a payment hold at the debtor (set, shown, lifted, a lift without one refused), a dispute
    at the library carried to the debtor as a hold and lifted when rejected, and the balance statements."""
    scenario = _load_steps(
        tmp_path,
        "  - fbs.new_borrower: {as: anna}\n"
        "  - fbs.new_claim: {borrower: anna, type: GEBYR, amount: 120 kr, as: fee}\n"
        "  - engine.cycle: {}\n"
        '  - debtor.payment_hold: {claim: fee, until: "2026-02-20", reason: AFTALE}\n'
        '  - expect:\n      debtor.claim: fee\n      that: {betalingsstandsning.til: "2026-02-20"}\n'
        "  - debtor.lift_payment_hold: fee\n"
        "  - expect:\n      debtor.claim: fee\n      that: {betalingsstandsning: {exists: false}}\n"
        "  - debtor.lift_payment_hold: {claim: fee, status: 409, code: OIR-409-NO-PAYMENT-HOLD}\n"
        "  - fbs.dispute: {claim: fee, reason: Afleveret}\n"
        "  - engine.cycle: {}\n"
        "  - expect:\n      debtor.claim: fee\n      that: {betalingsstandsning.aarsag: INDSIGELSE}\n"
        "  - fbs.resolve_dispute: {claim: fee, outcome: AFVIST}\n"
        "  - engine.cycle: {}\n"
        "  - expect:\n      debtor.claim: fee\n      that: {betalingsstandsning: {exists: false}}\n"
        "  - expect:\n      fbs.claim: fee\n      that: {indsigelse.udfald: AFVIST, status: AABEN}\n"
        "  - fbs.resolve_dispute: {claim: fee, outcome: MEDHOLD, status: 409, code: OIR-409-NO-OPEN-DISPUTE}\n"
        "  - expect:\n      fbs.balance_statements: anna\n      that: {length: 0}\n"
        '  - clock.advance: {until: "2026-02-01"}\n'
        "  - expect:\n      fbs.balance_statements: anna\n"
        '      that: {length: 1, 0.dato: "2026-02-01", 0.saldoOere: 120 kr, 0.fordringer.0.betaltOere: 0}\n',
    )
    result = run_scenario(scenario, "kmd-opus", worlds, EventBus())  # type: ignore[arg-type]
    assert result.passed, result.message


_ANNA_AND_X = (
    "  - fbs.new_borrower: {as: anna}\n  - fbs.new_claim: {borrower: anna, type: GEBYR, amount: 1 kr, as: x}\n"
)


@pytest.mark.parametrize(
    ("steps", "message", "suggestion"),
    [
        ("  - fbs.resolve_dispute: {claim: x, outcome: medhold}\n", "'medhold' is not one of", "MEDHOLD"),
        ("  - fbs.resolve_dispute: {claim: x}\n", "outcome", None),
        ("  - debtor.payment_hold: {claim: x, reason: indsigelse}\n", "'indsigelse' is not one of", "INDSIGELSE"),
        ("  - fbs.disputes: {claim: x}\n", "fbs.disputes", "fbs.dispute"),
        (
            "  - expect:\n      fbs.balance_statements: anna\n      that: {0.fordringer.0.betalt: 0}\n",
            "betalt",
            "betaltOere",
        ),
    ],
)
def test_the_new_words_are_checked_at_load_time(
    tmp_path: Path, steps: str, message: str, suggestion: str | None
) -> None:
    with pytest.raises(ScenarioError) as caught:
        _load_steps(tmp_path, _ANNA_AND_X + steps)
    assert message in str(caught.value)
    assert caught.value.suggestion == suggestion
