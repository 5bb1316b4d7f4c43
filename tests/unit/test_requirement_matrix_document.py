"""The requirement × misbehaviour matrix is complete and its document current (fast; the certifications
themselves run in tests/vendor_mode/test_requirement_matrix.py).

Complete: every requirement a vendor-mode certification of any profile can report as passed (derived
from the checks' citations) has a misbehaviour whose catching check cites it for that profile, and a
requirement that spans several operations has one per operation it governs; so has every requirement
the `test-control` probe cites (what a vendor that declares test control can have passed besides).
"""

from __future__ import annotations

from contracts.profile import PROFILE_NAMES
from harness.certification.selection import planned_checks
from tests.support.requirement_matrix import (
    CASES,
    DOCUMENT,
    NOT_RUN_AGAINST_A_VENDOR,
    TEST_CONTROL_CASES,
    TEST_CONTROL_CHECK,
    document,
    requirements_of_test_control,
    vendor_verifiable,
)
from tests.support.vendor_bugs import B01_B02, OPERATIONS


def test_the_document_is_current() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == document(), (
        "docs/requirement-matrix.md is out of date: run python -m tests.support.requirement_matrix"
    )


def test_every_requirement_a_vendor_certificate_can_pass_has_a_misbehaviour() -> None:
    verifiable = {requirement for profile in PROFILE_NAMES for requirement in vendor_verifiable(profile)}
    assert verifiable, "no requirement is verifiable against a vendor: the derivation is broken"
    missing = verifiable - {case.requirement for case in CASES}
    assert not missing, f"requirements a vendor certificate can pass that no misbehaviour fails: {sorted(missing)}"


def test_each_misbehaviour_names_a_check_that_cites_its_requirement_against_a_vendor() -> None:
    for case in CASES:
        cited = {c.name: c.requirements for c in planned_checks(case.profile, vendor=True)}
        assert case.check in cited, f"{case.id}: {case.check} is no check of a vendor certification"
        assert case.check not in NOT_RUN_AGAINST_A_VENDOR, case.id
        assert case.requirement in cited[case.check], f"{case.id}: {case.check} does not cite {case.requirement}"
        assert case.requirement in vendor_verifiable(case.profile), case.id


def test_a_requirement_spanning_operations_has_a_misbehaviour_per_operation() -> None:
    governs = {
        "MSG-HEADER-BLOCK": set(OPERATIONS),
        "MSG-PROBLEM-JSON": set(OPERATIONS),
        "MSG-CREDENTIALS": set(OPERATIONS),
        "ROUTE-CREDENTIALS": set(OPERATIONS),
        "B01-OWN-ACCOUNTS-ONLY": set(B01_B02) - {"OpretDebitorkonto"},
        "MSG-RETRY-HARMLESS": {"OpretDebitorkonto", "RetFordringTilstand", "AendrHaeftelse"},
    }
    for requirement, operations in governs.items():
        covered = {c.bug.operation for c in CASES if c.requirement == requirement and c.bug and c.bug.operation}
        assert operations <= covered, f"{requirement}: no misbehaviour in {sorted(operations - covered)}"


def test_every_test_control_requirement_has_a_misbehaving_test_control() -> None:
    cited = set(requirements_of_test_control())
    assert cited and all(rid.startswith("TC-") for rid in cited)
    missing = cited - {case.requirement for case in TEST_CONTROL_CASES}
    assert not missing, f"test-control requirements no misbehaving test control fails: {sorted(missing)}"
    for case in TEST_CONTROL_CASES:
        assert case.test_control and case.check == TEST_CONTROL_CHECK and case.requirement in cited, case.id
    # TC-AUTH governs every operation of test control: one without the token each
    from tests.support.vendor_bugs import TEST_CONTROL_OPERATIONS

    refused = {c.bug.operation for c in TEST_CONTROL_CASES if c.requirement == "TC-AUTH" and c.bug}
    assert refused == set(TEST_CONTROL_OPERATIONS)
