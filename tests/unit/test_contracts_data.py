"""Identity rules, the municipalities table, synthetic data and the requirement catalogue."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from contracts import (
    by_code,
    cvr_check_digit,
    for_vendor,
    is_valid_cpr,
    is_valid_cvr,
    load_municipalities,
    load_requirements,
    mask_cpr_in_text,
)
from contracts.synthetic import SyntheticData


@pytest.mark.parametrize("value", ["0101901234", "3112999999", "2902000000", "0101901235"])
def test_cprs_of_valid_format_pass_even_without_modulus_11(value: str) -> None:
    assert is_valid_cpr(value)


@pytest.mark.parametrize("value", ["3201901234", "0013901234", "010190123", "01019012345", "010190-1234", "abcdefghij"])
def test_malformed_cprs_fail(value: str) -> None:
    assert not is_valid_cpr(value)


def test_cvr_modulus_11() -> None:
    assert is_valid_cvr("64942212")  # Københavns Kommune
    assert not is_valid_cvr("64942213") and not is_valid_cvr("6494221") and not is_valid_cvr("6494221a")
    assert cvr_check_digit("6494221") == 2


def test_masking_finds_every_cpr_and_nothing_else() -> None:
    text = "borger 0101901234 og 311299-9999 betalte; konto 123456789012, ugyldig 3213901234, beløb 4200"
    assert (
        mask_cpr_in_text(text)
        == "borger 010190-xxxx og 311299-xxxx betalte; konto 123456789012, ugyldig 321390-xxxx, beløb 4200"
    )


def test_masking_leaves_a_message_id_whole_but_not_a_cpr_beside_it() -> None:
    # This id once came back from a debtor's sent-messages listing as "…-001414-xxxxb4", so a
    # conforming vendor failed TC-SENT-MESSAGES about one run in ten.
    text = '{"meddelelseId": "a7a4b43d-2318-459b-92fb-0014145967b4", "cpr": "0101901234"}'
    assert mask_cpr_in_text(text) == '{"meddelelseId": "a7a4b43d-2318-459b-92fb-0014145967b4", "cpr": "010190-xxxx"}'
    assert mask_cpr_in_text("id-0101901234") == "id-010190-xxxx"


def test_all_98_municipalities_with_the_vendor_split() -> None:
    rows = load_municipalities()
    assert len(rows) == 98
    assert len({m.code for m in rows}) == len({m.name for m in rows}) == len({m.cvr for m in rows}) == 98
    assert all(is_valid_cvr(m.cvr) for m in rows)
    assert Counter(m.vendor for m in rows) == {
        "kmd-opus": 63,
        "prisme-2015-betaling": 7,
        "prisme-2015": 3,
        "prisme-2009": 15,
        "eg": 10,
    }
    assert len(for_vendor("eg")) == 10


def test_known_assignments_are_not_marked_modelled() -> None:
    for code in ("101", "615", "540", "400"):
        municipality = by_code(code)
        assert municipality is not None and municipality.vendor == "kmd-opus" and not municipality.vendor_modelled
    copenhagen = by_code("101")
    assert copenhagen is not None and (copenhagen.name, copenhagen.cvr, copenhagen.cvr_modelled) == (
        "København",
        "64942212",
        False,
    )
    randers = by_code("730")
    assert randers is not None and randers.vendor.startswith("prisme")
    assert sum(not m.vendor_modelled for m in load_municipalities()) == 4


def test_synthetic_data_is_deterministic_and_valid() -> None:
    first, second, other = SyntheticData(1), SyntheticData(1), SyntheticData(2)
    people = [first.person() for _ in range(5)]
    assert people == [second.person() for _ in range(5)]
    assert people != [other.person() for _ in range(5)]
    generator = SyntheticData(3)
    assert all(is_valid_cpr(generator.cpr()) for _ in range(1000))
    assert all(is_valid_cvr(generator.cvr()) for _ in range(1000))
    assert not any(re.fullmatch(r"\d{10}", generator.borrower_id()) for _ in range(100))


def test_centuries_agree_with_the_seventh_digit() -> None:
    generator = SyntheticData(4)
    for _ in range(500):
        value = generator.cpr()
        year, seventh = int(value[4:6]), int(value[6])
        if seventh in (0, 1, 2, 3):
            assert 40 <= year <= 99  # born 1940-1999 in the default range
        else:
            assert seventh in (4, 9) and year <= 8  # born 2000-2008


def test_requirement_catalogue_has_unique_ids_and_the_core_rules() -> None:
    catalogue = load_requirements()
    assert len(catalogue) >= 45
    for required in (
        "PSRM-SRB-PASSED",
        "PSRM-NOTICE-GIVEN",
        "PSRM-MIN-100KR",
        "PSRM-INTEREST-LINKED",
        "PSRM-ACTION-ID-UNIQUE",
        "PSRM-RECEIPT-STATES",
        "PSRM-HOERING-14-DAYS",
        "PSRM-NOTIFY-3-MONTHS",
        "MSG-HEADER-BLOCK",
        "MSG-MONEY-OERE",
        "B01-CREATE-ACCOUNT",
        "B03-ABSENT-NO-PAY-BUTTON",
        "PROFILE-OPUS-ANSWER-TIME-300S",
        "PRIV-CPR-MASKED",
        "ID-CVR-MOD11",
    ):
        assert required in catalogue
    assert all(re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", rid) for rid in catalogue)


def test_a_requirement_binding_another_system_is_not_applicable_to_a_debtor_certificate() -> None:
    from contracts.profile import PROFILE_NAMES, profile_capabilities
    from contracts.requirements import load_requirements, not_applicable

    others = {rid for rid, r in load_requirements().items() if r.binds}
    assert {"FBS-NO-PAYMENTS", "ROLLOUT-ORDER", "PSRM-NOTIFY-3-MONTHS"} <= others
    for profile in PROFILE_NAMES:
        absent = not_applicable(profile_capabilities(profile))
        assert others <= set(absent)
        assert "binds FBS, not the debtor system" in absent["FBS-NO-PAYMENTS"]
    assert "B01-CREATE-ACCOUNT" not in not_applicable(profile_capabilities("eg"))  # the debtor's own rules stay
