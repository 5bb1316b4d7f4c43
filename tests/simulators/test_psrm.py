"""The PSRM simulator over real HTTP: every rule of the domain brief, receipts, hearings, notifications."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.municipalities import by_code
from contracts.synthetic import SyntheticData
from tests.support.claims import new_id
from tests.support.client import SimClient

PEOPLE = SyntheticData(seed=7)


def main_claim(**overrides: Any) -> dict[str, Any]:
    """A claim that passes every rule on the simulator's first day (2026-01-05)."""
    action = {
        "aktion": "OPRETFORDRING",
        "mfAktionId": new_id("MFA"),
        "fordringshaverReference": new_id("REF"),
        "fordringsart": "HOVEDFORDRING",
        "fordringstype": "BIB-ERSTATNING-ANERKENDT",
        "beloebOere": 45000,
        "stiftelsesdato": "2025-06-01",
        "forfaldsdato": "2025-06-01",
        "sidsteRettidigeBetalingsdato": "2025-07-01",
        "periodeFra": "2025-06-01",
        "periodeTil": "2025-06-01",
        "varselDato": "2025-08-15",
        "rykkerForloebGennemfoert": True,
        "haeftere": [{"cpr": PEOPLE.cpr(), "foraeldelsesdato": "2028-07-01"}],
    }
    action.update(overrides)
    return action


def submit(psrm: SimClient, *actions: dict[str, Any]) -> dict[str, Any]:
    response = psrm.post("/fordringsindberetninger", {"aktioner": list(actions)})
    assert response.status_code == 200, response.text
    return response.json()


def codes(answer: dict[str, Any]) -> list[list[int]]:
    return [[f["kode"] for f in a["fejl"]] for a in answer["aktioner"]]


def receipts(psrm: SimClient, delivery: str) -> list[dict[str, Any]]:
    response = psrm.get(f"/kvitteringer/{delivery}")
    assert response.status_code == 200, response.text
    return response.json()["kvitteringer"]


def test_a_valid_claim_is_received_then_executed_after_the_receipt_delay(psrm: SimClient) -> None:
    answer = submit(psrm, main_claim())
    assert [a["status"] for a in answer["aktioner"]] == ["MODTAGET"]
    early = psrm.get(f"/kvitteringer/{answer['leveranceId']}")
    assert early.status_code == 202 and early.json()["klar"] is False
    assert early.json()["forventetKlar"] == "2026-01-05T09:05:00+01:00"  # 5 virtual minutes
    psrm.advance(minutes=5)
    [receipt] = receipts(psrm, answer["leveranceId"])
    assert receipt["status"] == "UDFOERT" and receipt["psrmFordringId"].startswith("PSRM-")
    claim = psrm.get(f"/fordringer/{receipt['psrmFordringId']}").json()
    assert (claim["status"], claim["saldoOere"]) == ("UNDER_INDDRIVELSE", 45000)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"sidsteRettidigeBetalingsdato": "2026-01-05"}, 410),  # SRB today: not yet passed
        ({"varselDato": None}, 411),  # no written notice
        ({"rykkerForloebGennemfoert": False}, 411),  # reminders not run
        ({"varselDato": "2026-02-01"}, 411),  # notice in the future
        ({"beloebOere": 9999}, 412),  # under 100 kr
        ({"hovedfordringReference": "REF-X"}, 414),  # interest sent as a main claim
        ({"fordringsart": "RENTE", "hovedfordringReference": "REF-UNKNOWN"}, 413),
        ({"fordringsart": "RENTE"}, 413),  # interest without a main claim
        ({"haeftere": [{"cvr": "12345678", "foraeldelsesdato": "2028-01-01"}]}, 421),
        ({"forfaldsdato": "2025-05-01"}, 419),
    ],
    ids=[
        "srb-not-passed",
        "no-notice",
        "no-reminders",
        "notice-in-future",
        "under-100-kr",
        "interest-as-main",
        "interest-unknown-main",
        "interest-unlinked",
        "bad-cvr",
        "dates",
    ],
)
def test_each_rule_rejects_with_its_code(psrm: SimClient, overrides: dict[str, Any], code: int) -> None:
    action = {k: v for k, v in main_claim(**overrides).items() if v is not None}
    answer = submit(psrm, action)
    assert answer["aktioner"][0]["status"] == "AFVIST" and codes(answer) == [[code]]
    psrm.advance(minutes=5)
    assert receipts(psrm, answer["leveranceId"])[0]["status"] == "AFVIST"


def test_exactly_100_kr_is_accepted(psrm: SimClient) -> None:
    assert codes(submit(psrm, main_claim(beloebOere=10000))) == [[]]


def test_interest_linked_to_its_main_claim_in_the_same_delivery_is_accepted(psrm: SimClient) -> None:
    main = main_claim()
    interest = main_claim(
        fordringsart="RENTE",
        fordringstype="RENTE",
        beloebOere=348,
        hovedfordringReference=main["fordringshaverReference"],
    )
    answer = submit(psrm, main, interest)
    assert [a["status"] for a in answer["aktioner"]] == ["MODTAGET", "MODTAGET"]


def test_a_reused_action_id_is_code_600_even_in_a_later_delivery(psrm: SimClient) -> None:
    first = main_claim()
    submit(psrm, first)
    again = main_claim(mfAktionId=first["mfAktionId"])
    assert codes(submit(psrm, again)) == [[600]]
    both = submit(psrm, main_claim(mfAktionId="MFA-SAME"), main_claim(mfAktionId="MFA-SAME"))
    assert codes(both) == [[], [600]]


def test_a_reference_cannot_be_created_twice_but_a_returned_claim_can_be_resubmitted(psrm: SimClient) -> None:
    claim = main_claim()
    answer = submit(psrm, claim)
    psrm.advance(minutes=5)
    psrm_id = receipts(psrm, answer["leveranceId"])[0]["psrmFordringId"]
    assert codes(submit(psrm, main_claim(fordringshaverReference=claim["fordringshaverReference"]))) == [[416]]
    resend_early = main_claim(aktion="GENINDSENDFORDRING", fordringshaverReference=claim["fordringshaverReference"])
    assert codes(submit(psrm, resend_early)) == [[418]]
    returned = psrm.post("/simulering/returneringer", {"psrmFordringId": psrm_id, "returKode": "ANDN", "tekst": "x"})
    assert returned.status_code == 201 and returned.json()["status"] == "RETURNERET"
    resend = main_claim(aktion="GENINDSENDFORDRING", fordringshaverReference=claim["fordringshaverReference"])
    assert codes(submit(psrm, resend)) == [[]]


def test_write_down_recall_and_write_up(psrm: SimClient) -> None:
    claim = main_claim()
    submit(psrm, claim)
    ref = claim["fordringshaverReference"]
    down = {
        "aktion": "NEDSKRIV",
        "mfAktionId": new_id("MFA"),
        "fordringshaverReference": ref,
        "beloebOere": 5000,
        "virkningsdato": "2026-01-05",
        "aarsag": "DIREKTE_BETALING",
    }
    too_much = {**down, "mfAktionId": new_id("MFA"), "beloebOere": 40001}
    up = {
        "aktion": "OPSKRIVNINGREGULERING",
        "mfAktionId": new_id("MFA"),
        "fordringshaverReference": ref,
        "beloebOere": 1000,
        "virkningsdato": "2026-01-05",
    }
    unknown = {**down, "mfAktionId": new_id("MFA"), "fordringshaverReference": "REF-NOPE"}
    answer = submit(psrm, down, too_much, up, unknown)
    assert codes(answer) == [[], [417], [], [415]]
    recall = {"aktion": "TILBAGEKALD", "mfAktionId": new_id("MFA"), "fordringshaverReference": ref, "aarsag": "fejl"}
    assert codes(submit(psrm, recall)) == [[]]
    assert codes(submit(psrm, {**down, "mfAktionId": new_id("MFA")})) == [[422]]
    bad_reason = psrm.post("/fordringsindberetninger", {"aktioner": [{**down, "aarsag": "FORDI"}]})
    assert bad_reason.status_code == 400


def test_hearing_justified_within_14_days_goes_under_collection(psrm: SimClient) -> None:
    answer = submit(psrm, main_claim(beloebOere=6_000_000))  # above the agreed filter
    psrm.advance(minutes=5)
    [receipt] = receipts(psrm, answer["leveranceId"])
    assert receipt["status"] == "HOERING" and receipt["hoeringFrist"] == "2026-01-19"
    psrm.advance(days=13)
    answered = psrm.post(
        f"/hoeringer/{receipt['psrmFordringId']}/svar",
        {"svar": "BEGRUNDET", "begrundelse": "Kravet er anerkendt skriftligt"},
    )
    assert answered.status_code == 200 and answered.json()["status"] == "UNDER_INDDRIVELSE"


def test_an_unanswered_hearing_is_rejected_after_14_days(psrm: SimClient) -> None:
    answer = submit(psrm, main_claim(beloebOere=6_000_000))
    psrm.advance(minutes=5)
    [receipt] = receipts(psrm, answer["leveranceId"])
    psrm.advance(days=15)
    claim = psrm.get(f"/fordringer/{receipt['psrmFordringId']}").json()
    assert claim["status"] == "AFVIST"
    late = psrm.post(f"/hoeringer/{receipt['psrmFordringId']}/svar", {"svar": "BEGRUNDET", "begrundelse": "sent"})
    assert late.status_code == 422 and late.json()["code"] == "OIR-422-HOERING-EXPIRED"


def _under_collection(psrm: SimClient) -> str:
    answer = submit(psrm, main_claim())
    psrm.advance(minutes=5)
    return receipts(psrm, answer["leveranceId"])[0]["psrmFordringId"]


def test_coverage_is_notified_at_once_and_settled_on_the_last_bank_day(psrm: SimClient) -> None:
    psrm.set_clock("2026-05-20T10:00:00+02:00")  # May 2026 ends on a Sunday: the last bank day is Fri 29th
    claim_id = _under_collection(psrm)
    psrm.post("/simulering/daekninger", {"psrmFordringId": claim_id, "beloebOere": 20000, "kilde": "MODREGNING"})
    psrm.post("/simulering/daekninger", {"psrmFordringId": claim_id, "beloebOere": 5000, "kilde": "LOENINDEHOLDELSE"})
    notes = psrm.get("/underretninger", params={"fra": "2026-05-01"}).json()["underretninger"]
    assert [(n["type"], n["beloebOere"]) for n in notes] == [("UDLIGNING", 20000), ("ALLOKERING", 5000)]
    psrm.set_clock("2026-05-28T12:00:00+02:00")
    assert [n["type"] for n in psrm.get("/underretninger", params={"fra": "2026-05-01"}).json()["underretninger"]] == [
        "UDLIGNING",
        "ALLOKERING",
    ]
    psrm.set_clock("2026-05-29T12:00:00+02:00")
    settled = [
        n
        for n in psrm.get("/underretninger", params={"fra": "2026-05-01"}).json()["underretninger"]
        if n["type"] == "AFREGNING"
    ]
    assert [(n["dato"], n["beloebOere"]) for n in settled] == [("2026-05-29", 25000)]
    assert psrm.get(f"/fordringer/{claim_id}").json()["saldoOere"] == 20000


def test_a_return_is_notified_with_its_code(psrm: SimClient) -> None:
    claim_id = _under_collection(psrm)
    psrm.post("/simulering/returneringer", {"psrmFordringId": claim_id, "returKode": "KLAG", "tekst": "Klage"})
    notes = psrm.get("/underretninger", params={"fra": "2026-01-01"}).json()["underretninger"]
    assert [(n["type"], n["returKode"]) for n in notes] == [("RETURNERING", "KLAG")]


def test_notifications_reach_back_at_most_three_months(psrm: SimClient) -> None:
    psrm.set_clock("2026-06-15T09:00:00+02:00")
    assert psrm.get("/underretninger", params={"fra": "2026-03-15"}).status_code == 200
    too_old = psrm.get("/underretninger", params={"fra": "2026-03-14"})
    assert too_old.status_code == 422 and too_old.json()["code"] == "OIR-422-NOTIFICATION-WINDOW"
    backwards = psrm.get("/underretninger", params={"fra": "2026-06-01", "til": "2026-05-01"})
    assert backwards.status_code == 422


def test_a_creditor_sees_only_its_own_deliveries_and_sessions_are_apart(psrm_url: str) -> None:
    aarhus = by_code("751")
    assert aarhus is not None
    kk = SimClient(psrm_url)
    same_session_other_creditor = SimClient(psrm_url, kk.session, cvr=aarhus.cvr)
    answer = submit(kk, main_claim())
    assert same_session_other_creditor.get(f"/kvitteringer/{answer['leveranceId']}").status_code == 404
    other_session = SimClient(psrm_url)
    assert other_session.get(f"/kvitteringer/{answer['leveranceId']}").status_code == 404
    assert len(kk.journal("MFFordringIndberet")) == 1 and other_session.journal("MFFordringIndberet") == []


def test_bad_deliveries_are_400_problems(psrm: SimClient) -> None:
    for body in (
        {"aktioner": []},
        {"aktioner": [{"aktion": "SLET"}]},
        {"aktioner": [main_claim(beloebOere=-1)]},
        {"aktioner": [main_claim(beloebOere=0)]},
        {"aktioner": [main_claim(haeftere=[{"cpr": "999", "foraeldelsesdato": "2028-01-01"}])]},
    ):
        response = psrm.post("/fordringsindberetninger", body)
        assert response.status_code == 400 and response.json()["code"].startswith("OIR-400-"), body
