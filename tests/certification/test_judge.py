"""The verdict's four outcomes per requirement: verified (and how), failed, not applicable, not verified
(with the reason) — plus accepted deviations, which are failures, never passes. A failed check fails only
what it blames; a requirement the profile's capabilities rule out is never passed; and each requirement
ends in exactly one outcome."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.profile import Deviation, profile_capabilities
from contracts.requirements import load_requirements, not_applicable
from harness.certification.coverage import uncited_reasons
from harness.certification.judge import (
    CERTIFIED,
    CERTIFIED_WITH_DEVIATIONS,
    NOT_CERTIFIED,
    REAL_TIME,
    CheckOutcome,
    Judgement,
    judge,
)

TODAY = date(2026, 12, 1)
EG_ABSENT = not_applicable(profile_capabilities("eg"))


def _lists(judgement: Judgement) -> dict[str, list[str]]:
    return {
        "passed": judgement.passed,
        "failed": judgement.failed,
        "accepted": [d.requirement for d in judgement.accepted],
        "notApplicable": judgement.not_applicable,
        "notVerified": judgement.not_verified,
    }


def _one_outcome_each(judgement: Judgement) -> None:
    listed = [rid for ids in _lists(judgement).values() for rid in ids]
    assert len(listed) == len(set(listed)), _lists(judgement)
    assert set(listed) == set(judgement.outcomes)


def test_the_catalogue_says_which_capability_a_requirement_needs() -> None:
    catalogue = load_requirements()
    assert catalogue["B03-PAY"].requires == "b03_payment" and catalogue["B01-ANNUL"].requires is None
    assert {"B03-SEARCH", "B03-PAY", "B03-NEXT-DAY"} <= set(EG_ABSENT)
    assert "b03_payment" in EG_ABSENT["B03-PAY"]
    assert "B03-ABSENT-NO-PAY-BUTTON" not in EG_ABSENT  # EG has no payment solution: that rule binds it
    assert not {"B03-SEARCH", "B03-PAY", "B03-NEXT-DAY"} & set(not_applicable(profile_capabilities("kmd-opus")))
    assert "B03-ABSENT-NO-PAY-BUTTON" in not_applicable(profile_capabilities("kmd-opus"))


def test_a_requirement_the_profile_rules_out_is_not_applicable_never_passed() -> None:
    """Before: the payment probe's pass against EG reported B03-SEARCH as passed."""
    checks = [
        CheckOutcome(
            "payment-capability", ("PROFILE-B03-CAPABILITY", "B03-ABSENT-NO-PAY-BUTTON", "B03-SEARCH"), passed=True
        ),
        CheckOutcome("only-b03", ("B03-PAY",), passed=False),  # cites only what does not apply: not applicable
    ]
    judgement = judge(checks, (), TODAY, not_applicable=EG_ABSENT)
    assert judgement.verdict == CERTIFIED
    assert "B03-SEARCH" not in judgement.passed and "B03-SEARCH" in judgement.not_applicable
    assert judgement.passed == ["B03-ABSENT-NO-PAY-BUTTON", "PROFILE-B03-CAPABILITY"]
    assert judgement.statuses == {"payment-capability": "passed", "only-b03": "not-applicable"}
    outcome = judgement.outcomes["B03-PAY"]
    assert outcome.outcome == "not-applicable" and "b03_payment" in outcome.reason
    assert judgement.outcomes["PROFILE-B03-CAPABILITY"].how == REAL_TIME
    _one_outcome_each(judgement)


def test_a_failed_check_fails_only_what_it_blames_and_leaves_what_it_did_not_reach_unverified() -> None:
    checks = [
        CheckOutcome(
            "scenario annulment",
            ("B01-ANNUL", "FBS-FEED", "B01R-ACCOUNT-CLOSED", "B01R-EXACTLY-ONCE"),
            passed=False,
            blamed=("B01R-ACCOUNT-CLOSED",),
            unproven=("B01R-EXACTLY-ONCE",),
            reason="it failed at x.yaml:17 before it got to this requirement",
        ),
    ]
    judgement = judge(checks, (), TODAY)
    assert judgement.verdict == NOT_CERTIFIED
    assert judgement.failed == ["B01R-ACCOUNT-CLOSED"]
    assert judgement.passed == ["B01-ANNUL", "FBS-FEED"]  # proven by the steps that passed
    assert judgement.not_verified == ["B01R-EXACTLY-ONCE"]
    assert "x.yaml:17" in judgement.outcomes["B01R-EXACTLY-ONCE"].reason
    _one_outcome_each(judgement)
    # another check that verified it: verified
    again = judge([*checks, CheckOutcome("probe", ("B01R-EXACTLY-ONCE",), passed=True)], (), TODAY)
    assert "B01R-EXACTLY-ONCE" in again.passed and again.not_verified == []
    # a failed check that blames nothing in particular blames all it cites (as before)
    plain = judge([CheckOutcome("probe", ("B01-ANNUL", "B01-WRITE-DOWN"), passed=False)], (), TODAY)
    assert plain.failed == ["B01-ANNUL", "B01-WRITE-DOWN"] and plain.passed == []


def test_a_check_not_run_leaves_its_requirements_not_verified_with_the_reason() -> None:
    checks = [
        CheckOutcome("payment-callback", ("B01R-PAYMENT",), passed=False, ran=False, reason="no bank transfer"),
        CheckOutcome("scenario interest", ("DEBT-INTEREST",), passed=False, ran=False, reason="needs virtual time"),
        CheckOutcome("registration", ("B01-CREATE-ACCOUNT",), passed=True),
    ]
    judgement = judge(checks, (), TODAY)
    assert judgement.verdict == CERTIFIED and judgement.not_verified == ["B01R-PAYMENT", "DEBT-INTEREST"]
    assert judgement.outcomes["B01R-PAYMENT"].reason == "payment-callback: no bank transfer"
    assert judgement.statuses["payment-callback"] == "not-run"
    _one_outcome_each(judgement)


def test_a_not_applicable_check_counts_for_nothing() -> None:
    checks = [
        CheckOutcome(
            "scenario full-payment",
            ("B01R-PAYMENT",),
            passed=False,
            applicable=False,
            reason="requires b03_payment, which eg does not declare",
        )
    ]
    judgement = judge(checks, (), TODAY)
    assert judgement.statuses == {"scenario full-payment": "not-applicable"}
    assert judgement.verdict == CERTIFIED and judgement.outcomes == {}


def test_an_accepted_deviation_covers_what_a_failure_blames_and_is_never_a_pass() -> None:
    deviation = Deviation(requirement="B01R-ACCOUNT-CLOSED", owner="EG", reason="batch", expires=date(2027, 1, 1))
    failing = CheckOutcome(
        "scenario annulment", ("B01-ANNUL", "B01R-ACCOUNT-CLOSED"), passed=False, blamed=("B01R-ACCOUNT-CLOSED",)
    )
    judgement = judge([failing], (deviation,), TODAY)
    assert judgement.verdict == CERTIFIED_WITH_DEVIATIONS
    assert judgement.statuses["scenario annulment"] == "accepted-deviation"
    assert [d.requirement for d in judgement.accepted] == ["B01R-ACCOUNT-CLOSED"] and judgement.passed == ["B01-ANNUL"]
    _one_outcome_each(judgement)
    lapsed = judge([failing], (deviation,), date(2027, 1, 2))
    assert lapsed.verdict == NOT_CERTIFIED and lapsed.failed == ["B01R-ACCOUNT-CLOSED"]


def test_a_failed_check_citing_nothing_still_fails_the_verdict() -> None:
    judgement = judge([CheckOutcome("mystery", (), passed=False)], (), TODAY)
    assert judgement.verdict == NOT_CERTIFIED and judgement.statuses == {"mystery": "failed"}


def test_a_harness_error_is_its_own_status_leaves_its_requirements_unverified_and_is_never_a_pass() -> None:
    """Before: an exception in the harness's own code was a failed check that failed what it cited."""
    checks = [
        CheckOutcome("payment-callback", ("B01R-PAYMENT",), passed=False, error=True, reason="KeyError: 'x'"),
        CheckOutcome("registration", ("B01-CREATE-ACCOUNT",), passed=True),
    ]
    judgement = judge(checks, (), TODAY)
    assert judgement.statuses["payment-callback"] == "error"
    assert judgement.failed == [] and judgement.not_verified == ["B01R-PAYMENT"]
    assert "KeyError" in judgement.outcomes["B01R-PAYMENT"].reason
    assert judgement.verdict == NOT_CERTIFIED  # what the check was to show was not shown
    _one_outcome_each(judgement)


def test_every_catalogue_requirement_no_check_cites_is_not_verified_with_its_reason() -> None:
    """Before: requirements no check of the run cited appeared in no outcome (12 in a full run, 44 more
    with --no-scenarios), so doing less made a certificate look cleaner."""
    checks = [CheckOutcome("registration", ("B01-CREATE-ACCOUNT",), passed=True)]
    uncited = uncited_reasons("eg", checks, scenarios_ran=False, absent=EG_ABSENT)
    judgement = judge(checks, (), TODAY, not_applicable=EG_ABSENT, uncited=uncited)
    assert set(judgement.outcomes) == set(load_requirements())
    _one_outcome_each(judgement)
    assert judgement.passed == ["B01-CREATE-ACCOUNT"] and judgement.verdict == CERTIFIED
    reasons = {rid: o.reason for rid, o in judgement.outcomes.items() if o.outcome == "not-verified"}
    assert "--no-scenarios" in reasons["DEBT-INTEREST"] and "interest" in reasons["DEBT-INTEREST"]
    assert reasons["B01-ADD-CLAIMS"] == "the checks that test it (further-claims) were not part of this run"
    assert judgement.outcomes["ROLLOUT-ORDER"].outcome == "not-applicable"  # it binds the rollout, not a debtor
    # a check this run left out (a run of chosen checks only) is named
    assert reasons["B01-OWN-ACCOUNTS-ONLY"].startswith("the checks that test it (own-accounts-only")
    assert "were not part of this run" in reasons["MSG-PROBLEM-JSON"] and "schemathesis" in reasons["MSG-PROBLEM-JSON"]
    assert not set(reasons) & set(EG_ABSENT)  # what does not apply stays not applicable
    ran = uncited_reasons("eg", checks, scenarios_ran=True, absent=EG_ABSENT)
    assert "--no-scenarios" not in " ".join(ran.values())


def test_a_rule_no_check_of_the_harness_tests_is_not_verified_saying_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule of the bundled catalogue has a check now; a rule added to it without one is not verified,
    with that reason (never silently absent, never passed)."""
    import harness.certification.coverage as coverage
    from contracts.requirements import Requirement

    new = Requirement("B01-NEW-RULE", "debtor-registration", "A new rule.")
    catalogue = {**load_requirements(), new.id: new}
    monkeypatch.setattr(coverage, "load_requirements", lambda: catalogue)
    checks = [CheckOutcome("registration", ("B01-CREATE-ACCOUNT",), passed=True)]
    reasons = coverage.uncited_reasons("eg", checks, scenarios_ran=True, absent=EG_ABSENT)
    assert reasons["B01-NEW-RULE"] == coverage.NO_CHECK == "no check of the harness tests it yet"
    assert reasons["B01-ADD-CLAIMS"] != coverage.NO_CHECK  # the bundled rules all have a check


def test_a_scenario_that_ended_in_the_runners_error_is_a_harness_error_not_a_failure() -> None:
    """Before: a scenario whose world could not be set up, or whose runner broke, failed what it covers."""
    from harness.certification.scenarios import ScenarioRun

    broken = ScenarioRun(
        "fee-to-the-right-debtor",
        "A fee",
        ["ROUTE-PER-MUNICIPALITY", "FBS-FEED"],
        False,
        "error",
        "KeyError: 'delfordringer'",
        "scenarios/suites/routing/fee.scenario.yaml",
        blamed=["ROUTE-PER-MUNICIPALITY", "FBS-FEED"],
    )
    judgement = judge([broken.as_check()], (), TODAY)
    assert judgement.statuses == {"scenario fee-to-the-right-debtor": "error"}
    assert judgement.failed == [] and judgement.not_verified == ["FBS-FEED", "ROUTE-PER-MUNICIPALITY"]
    assert (
        "harness error" in judgement.outcomes["FBS-FEED"].reason and "KeyError" in judgement.outcomes["FBS-FEED"].reason
    )
    assert judgement.verdict == NOT_CERTIFIED
