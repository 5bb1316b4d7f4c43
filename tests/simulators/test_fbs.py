"""The FBS simulator over real HTTP: claims, the event feed, postings exactly once, exclusion."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.municipalities import by_code
from contracts.synthetic import SyntheticData
from tests.support.claims import new_id
from tests.support.client import SimClient

PEOPLE = SyntheticData(seed=11)
AARHUS = by_code("751")
assert AARHUS is not None


def borrower(fbs: SimClient, cvr: str | None = None) -> str:
    person = PEOPLE.person()
    response = fbs.post("/laanere", {"cpr": person.cpr, "navn": person.name}, cvr=cvr)
    assert response.status_code == 201, response.text
    return response.json()["laanerId"]


def make_claim(
    fbs: SimClient, laaner: str, kind: str = "GEBYR", amount: int = 12000, cvr: str | None = None, **extra: Any
) -> dict[str, Any]:
    response = fbs.post(
        "/fordringer",
        {"laanerId": laaner, "type": kind, "beloebOere": amount, "tekst": f"{kind} test", **extra},
        cvr=cvr,
    )
    assert response.status_code == 201, response.text
    return response.json()


def feed(fbs: SimClient, **params: Any) -> dict[str, Any]:
    response = fbs.http.get(
        "/haendelser", params=params, headers={k: v for k, v in fbs.headers().items() if k != "X-Kommune-Cvr"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def post(fbs: SimClient, claim_id: str, amount: int, kind: str = "DAEKNING", posting_id: str | None = None):
    return fbs.post(
        "/posteringer",
        {
            "posteringId": posting_id or new_id("P"),
            "fordringId": claim_id,
            "type": kind,
            "beloebOere": amount,
            "dato": "2026-01-06",
            "kilde": "B03",
        },
    )


def test_each_claim_type_appears_in_the_feed_in_order(fbs: SimClient) -> None:
    laaner = borrower(fbs)
    fee = make_claim(fbs, laaner)
    replacement = make_claim(fbs, laaner, "ERSTATNING", 30000, haandteringsgebyrOere=9000)
    acknowledged = make_claim(fbs, laaner, "ERSTATNING_ANERKENDT", 45000)
    assert replacement["beloebOere"] == 39000 and [d["beloebOere"] for d in replacement["delposter"]] == [30000, 9000]
    events = feed(fbs)["haendelser"]
    assert [(e["type"], e["fordring"]["fordringId"], e["fordring"]["type"]) for e in events] == [
        ("FORDRING_OPRETTET", fee["fordringId"], "GEBYR"),
        ("FORDRING_OPRETTET", replacement["fordringId"], "ERSTATNING"),
        ("FORDRING_OPRETTET", acknowledged["fordringId"], "ERSTATNING_ANERKENDT"),
    ]
    assert events[0]["kommuneCvr"] == "64942212" and len(events[0]["laaner"]["cpr"]) == 10


def test_cursor_paging_loses_and_repeats_nothing_and_filters_by_municipality(fbs: SimClient) -> None:
    kk_borrower, aarhus_borrower = borrower(fbs), borrower(fbs, AARHUS.cvr)
    made = [
        make_claim(fbs, kk_borrower if i % 3 else aarhus_borrower, cvr=None if i % 3 else AARHUS.cvr)["fordringId"]
        for i in range(10)
    ]
    seen, cursor = [], None
    while True:
        page = feed(fbs, antal=3, **({"efter": cursor} if cursor else {}))
        if not page["haendelser"]:
            break
        seen += [e["fordring"]["fordringId"] for e in page["haendelser"]]
        cursor = page["naesteCursor"]
    assert seen == made
    again = feed(fbs, antal=3)["haendelser"]  # reading consumed nothing
    assert [e["fordring"]["fordringId"] for e in again] == made[:3]
    only_aarhus = fbs.http.get("/haendelser", headers={**fbs.headers(), "X-Kommune-Cvr": AARHUS.cvr}).json()
    assert [e["fordring"]["fordringId"] for e in only_aarhus["haendelser"]] == made[::3]
    bad = fbs.http.get("/haendelser", params={"efter": "garbage"}, headers=fbs.headers())
    assert bad.status_code == 400


def test_write_down_annulment_and_cpr_change_are_events(fbs: SimClient) -> None:
    laaner = borrower(fbs)
    first, second = make_claim(fbs, laaner), make_claim(fbs, laaner, amount=5000)
    down = fbs.post(
        f"/fordringer/{first['fordringId']}/nedskrivninger",
        {"beloebOere": 2000, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
    )
    assert down.json()["saldoOere"] == 10000
    assert (
        fbs.post(
            f"/fordringer/{first['fordringId']}/nedskrivninger",
            {"beloebOere": 10001, "virkningsdato": "2026-01-05", "aarsag": "ANDET"},
        ).status_code
        == 422
    )
    assert (
        fbs.post(f"/fordringer/{second['fordringId']}/annullering", {"aarsag": "Fejl"}).json()["status"] == "ANNULLERET"
    )
    assert fbs.post(f"/fordringer/{second['fordringId']}/annullering", {"aarsag": "Fejl"}).status_code == 409
    new_cpr = PEOPLE.cpr()
    changed = fbs.http.put(f"/laanere/{laaner}/cpr", json={"cpr": new_cpr}, headers=fbs.headers())
    assert changed.status_code == 200
    events = feed(fbs)["haendelser"]
    assert [e["type"] for e in events] == [
        "FORDRING_OPRETTET",
        "FORDRING_OPRETTET",
        "FORDRING_NEDSKREVET",
        "FORDRING_ANNULLERET",
        "CPR_AENDRET",
    ]
    assert events[2]["nedskrivning"] == {
        "beloebOere": 2000,
        "virkningsdato": "2026-01-05",
        "aarsag": "AENDRET_GRUNDLAG",
    }
    assert events[4]["cprAendring"]["nyCpr"] == new_cpr and events[4]["fordring"]["fordringId"] == first["fordringId"]


def test_a_write_up_and_a_later_acknowledgement_are_events_of_a_live_claim(fbs: SimClient) -> None:
    laaner = borrower(fbs)
    replacement = make_claim(fbs, laaner, "ERSTATNING", 19900)
    claim_id = replacement["fordringId"]
    up = fbs.post(f"/fordringer/{claim_id}/opskrivninger", {"beloebOere": 9000, "tekst": "Håndteringsgebyr"})
    assert up.status_code == 200, up.text
    assert (up.json()["beloebOere"], up.json()["saldoOere"], up.json()["version"]) == (28900, 28900, 2)
    assert up.json()["delposter"][1] == {"delpostId": f"{claim_id}-2", "beloebOere": 9000, "tekst": "Håndteringsgebyr"}
    post(fbs, claim_id, 5000)
    acknowledged = fbs.post(f"/fordringer/{claim_id}/anerkendelse", {})
    assert (acknowledged.json()["type"], acknowledged.json()["version"]) == ("ERSTATNING_ANERKENDT", 3)
    again = fbs.post(f"/fordringer/{claim_id}/anerkendelse", {})
    assert (again.status_code, again.json()["code"]) == (409, "OIR-409-NOT-AN-UNACKNOWLEDGED-REPLACEMENT")
    events = [e for e in feed(fbs)["haendelser"] if e["fordring"]["fordringId"] == claim_id]
    assert [e["type"] for e in events] == ["FORDRING_OPRETTET", "FORDRING_OPSKREVET", "FORDRING_ANERKENDT"]
    assert events[1]["opskrivning"]["delpostId"] == f"{claim_id}-2" and events[1]["opskrivning"]["beloebOere"] == 9000
    assert events[2]["anerkendelse"]["saldoOere"] == 23900  # 199 + 90 kr less the 50 kr paid
    assert events[2]["fordring"]["type"] == "ERSTATNING_ANERKENDT"


def test_a_write_up_refused_on_a_closed_claim_or_one_with_psrm(fbs: SimClient) -> None:
    laaner = borrower(fbs)
    fee = make_claim(fbs, laaner)
    fbs.post(f"/fordringer/{fee['fordringId']}/annullering", {"aarsag": "Fejl"})
    closed = fbs.post(f"/fordringer/{fee['fordringId']}/opskrivninger", {"beloebOere": 100, "tekst": "x"})
    assert (closed.status_code, closed.json()["code"]) == (409, "OIR-409-CLAIM-CLOSED")
    book = make_claim(fbs, laaner, "ERSTATNING_ANERKENDT", 45000)
    notice = {"meddelelseId": new_id("M"), "fordringId": book["fordringId"], "status": "OVERDRAGET_TIL_INDDRIVELSE"}
    fbs.post("/statusmeddelelser", {**notice, "dato": "2026-07-08"})
    handed = fbs.post(f"/fordringer/{book['fordringId']}/opskrivninger", {"beloebOere": 100, "tekst": "x"})
    assert (handed.status_code, handed.json()["code"]) == (409, "OIR-409-UNDER-COLLECTION")
    assert fbs.post(f"/fordringer/{fee['fordringId']}/anerkendelse", {}).status_code == 409  # a fee, not a replacement


def test_a_claim_written_down_to_nothing_is_closed_as_written_down_and_leaves_the_extract(fbs: SimClient) -> None:
    laaner = borrower(fbs)
    gone, kept = make_claim(fbs, laaner, amount=5000), make_claim(fbs, laaner, amount=7000)
    down = fbs.post(
        f"/fordringer/{gone['fordringId']}/nedskrivninger",
        {"beloebOere": 5000, "virkningsdato": "2026-01-05", "aarsag": "DIREKTE_BETALING"},
    ).json()
    assert (down["saldoOere"], down["status"]) == (0, "AFSKREVET")
    extract = fbs.get("/migrering/udtraek").json()
    assert [c["fordringId"] for c in extract["fordringer"]] == [kept["fordringId"]]
    assert extract["fordringer"][0]["haendelser"] and extract["afskaeringsCursor"] == feed(fbs)["naesteCursor"]
    paid_late = post(fbs, gone["fordringId"], 5000)  # money that still reaches it is kept, to refund
    assert paid_late.status_code == 201 and paid_late.json()["fordring"]["tilbagebetalingOere"] == 5000


def test_money_beyond_the_balance_or_on_a_gone_claim_is_kept_as_an_overpayment_to_refund(fbs: SimClient) -> None:
    """DOMAIN.md: a payment on a claim that has since gone is still the citizen's money; FBS never refuses it."""
    claim = make_claim(fbs, borrower(fbs), amount=12000)
    over = post(fbs, claim["fordringId"], 15000)
    assert over.status_code == 201, over.text
    view = over.json()["fordring"]
    assert (view["status"], view["saldoOere"], view["tilbagebetalingOere"]) == ("BETALT", 0, 3000)
    assert [(p["beloebOere"], p["overbetalingOere"]) for p in view["posteringer"]] == [(15000, 3000)]
    gone = make_claim(fbs, borrower(fbs), amount=17000)
    annulled = fbs.post(f"/fordringer/{gone['fordringId']}/annullering", {"aarsag": "Fejl"})
    assert annulled.status_code == 200, annulled.text
    late = post(fbs, gone["fordringId"], 17000)
    assert late.status_code == 201, late.text
    view = late.json()["fordring"]
    assert (view["status"], view["saldoOere"], view["tilbagebetalingOere"]) == ("ANNULLERET", 0, 17000)


def test_a_dispute_is_an_event_and_its_decision_annuls_or_resumes(fbs: SimClient) -> None:
    laaner = borrower(fbs)
    upheld, rejected = make_claim(fbs, laaner), make_claim(fbs, laaner, "ERSTATNING", 30000)
    for claim in (upheld, rejected):
        disputed = fbs.post(f"/fordringer/{claim['fordringId']}/indsigelse", {"begrundelse": "Bogen er afleveret"})
        assert disputed.status_code == 200, disputed.text
        assert disputed.json()["indsigelse"] == {"modtaget": "2026-01-05", "begrundelse": "Bogen er afleveret"}
    twice = fbs.post(f"/fordringer/{upheld['fordringId']}/indsigelse", {"begrundelse": "igen"})
    assert (twice.status_code, twice.json()["code"]) == (409, "OIR-409-ALREADY-DISPUTED")
    won = fbs.post(f"/fordringer/{upheld['fordringId']}/indsigelse/afgoerelse", {"udfald": "MEDHOLD"}).json()
    assert (won["status"], won["saldoOere"], won["indsigelse"]["udfald"]) == ("ANNULLERET", 0, "MEDHOLD")
    lost = fbs.post(f"/fordringer/{rejected['fordringId']}/indsigelse/afgoerelse", {"udfald": "AFVIST"}).json()
    assert (lost["status"], lost["saldoOere"], lost["indsigelse"]["afgjort"]) == ("AABEN", 30000, "2026-01-05")
    again = fbs.post(f"/fordringer/{rejected['fordringId']}/indsigelse/afgoerelse", {"udfald": "AFVIST"})
    assert (again.status_code, again.json()["code"]) == (409, "OIR-409-NO-OPEN-DISPUTE")
    events = [(e["type"], e["fordring"]["fordringId"], e.get("indsigelse")) for e in feed(fbs)["haendelser"][-5:]]
    assert [(kind, claim) for kind, claim, _ in events] == [
        ("FORDRING_INDSIGELSE", upheld["fordringId"]),
        ("FORDRING_INDSIGELSE", rejected["fordringId"]),
        ("FORDRING_INDSIGELSE_AFGJORT", upheld["fordringId"]),
        ("FORDRING_ANNULLERET", upheld["fordringId"]),
        ("FORDRING_INDSIGELSE_AFGJORT", rejected["fordringId"]),
    ]
    assert events[-1][2] == {"dato": "2026-01-05", "begrundelse": "Bogen er afleveret", "udfald": "AFVIST"}


def test_a_claim_with_psrm_is_disputed_with_gaeldsstyrelsen_not_at_the_library(fbs: SimClient) -> None:
    book = make_claim(fbs, borrower(fbs), "ERSTATNING_ANERKENDT", 45000)
    notice = {"meddelelseId": new_id("M"), "fordringId": book["fordringId"], "status": "OVERDRAGET_TIL_INDDRIVELSE"}
    fbs.post("/statusmeddelelser", {**notice, "dato": "2026-07-08"})
    refused = fbs.post(f"/fordringer/{book['fordringId']}/indsigelse", {"begrundelse": "Bogen er afleveret"})
    assert (refused.status_code, refused.json()["code"]) == (409, "OIR-409-UNDER-COLLECTION")
    assert "Gældsstyrelsen" in refused.json()["title"]
    assert "indsigelse" not in fbs.get(f"/fordringer/{book['fordringId']}").json()


def test_a_balance_statement_each_first_of_the_month_to_borrowers_with_open_claims(fbs: SimClient) -> None:
    laaner, settled = borrower(fbs), borrower(fbs)
    fee = make_claim(fbs, laaner, amount=20000)
    replacement = make_claim(fbs, laaner, "ERSTATNING", 30000)
    assert post(fbs, fee["fordringId"], 8000).status_code == 201
    fbs.post(
        f"/fordringer/{replacement['fordringId']}/nedskrivninger",
        {"beloebOere": 5000, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
    )
    paid = make_claim(fbs, settled, amount=5000)
    assert post(fbs, paid["fordringId"], 5000).status_code == 201
    assert fbs.get(f"/laanere/{laaner}/saldoopgoerelser").json() == {"saldoopgoerelser": []}
    fbs.set_clock("2026-03-15T09:00:00+01:00")  # past 1 February and 1 March
    statements = fbs.get(f"/laanere/{laaner}/saldoopgoerelser").json()["saldoopgoerelser"]
    assert [s["dato"] for s in statements] == ["2026-02-01", "2026-03-01"]
    first = statements[0]
    assert first["saldoOere"] == 12000 + 25000
    assert [
        (f["fordringId"], f["oprindeligtBeloebOere"], f["betaltOere"], f["nedskrevetOere"], f["saldoOere"])
        for f in first["fordringer"]
    ] == [(fee["fordringId"], 20000, 8000, 0, 12000), (replacement["fordringId"], 30000, 0, 5000, 25000)]
    assert fbs.get(f"/laanere/{settled}/saldoopgoerelser").json()["saldoopgoerelser"] == []
    sent = fbs.journal("Saldoopgoerelse")
    assert len([e for e in sent if e["path"] == f"/laanere/{laaner}/saldoopgoerelser"]) == 2
    for instant in ("2026-03-31T23:30:00+02:00", "2026-04-01T00:30:00+02:00", "2026-04-01T08:00:00+02:00"):
        fbs.set_clock(instant)  # small steps over midnight: the first of April's statement is made once
    statements = fbs.get(f"/laanere/{laaner}/saldoopgoerelser").json()["saldoopgoerelser"]
    assert [s["dato"] for s in statements] == ["2026-02-01", "2026-03-01", "2026-04-01"]


def test_postings_apply_exactly_once(fbs: SimClient) -> None:
    claim = make_claim(fbs, borrower(fbs), amount=12000)
    posting_id = new_id("P")
    first = post(fbs, claim["fordringId"], 5000, posting_id=posting_id)
    again = post(fbs, claim["fordringId"], 5000, posting_id=posting_id)
    assert (first.status_code, first.json()["dublet"]) == (201, False)
    assert (again.status_code, again.json()["dublet"]) == (200, True)
    assert again.json()["fordring"]["saldoOere"] == 7000
    other = post(fbs, claim["fordringId"], 4000, posting_id=posting_id)
    assert other.status_code == 409 and other.json()["code"] == "OIR-409-ID-REUSED"
    paid = post(fbs, claim["fordringId"], 7000)
    assert paid.json()["fordring"]["status"] == "BETALT" and paid.json()["fordring"]["saldoOere"] == 0
    assert paid.json()["fordring"]["tilbagebetalingOere"] == 0
    assert post(fbs, "FBS-NOPE", 100).status_code == 404
    assert len([e for e in fbs.journal("modtagPostering") if e["status"] in (200, 201)]) == 3
    foreign = fbs.post(
        "/posteringer",
        {
            "posteringId": new_id("P"),
            "fordringId": claim["fordringId"],
            "type": "DAEKNING",
            "beloebOere": 1,
            "dato": "2026-01-06",
        },
        cvr=AARHUS.cvr,
    )
    assert foreign.status_code == 403


def test_a_write_off_posting_closes_the_claim_as_written_off(fbs: SimClient) -> None:
    claim = make_claim(fbs, borrower(fbs), amount=3000)
    assert post(fbs, claim["fordringId"], 3000, "AFSKRIVNING").json()["fordring"]["status"] == "AFSKREVET"


def test_a_rejected_claim_waits_for_correction_and_is_resent_as_a_new_version(fbs: SimClient) -> None:
    claim = make_claim(fbs, borrower(fbs))
    rejection = {
        "afvisningId": new_id("A"),
        "fordringId": claim["fordringId"],
        "kode": "OIR-422-UNKNOWN-PRODUCT",
        "tekst": "Ukendt produkt",
    }
    assert fbs.post("/afvisninger", rejection).json()["fordring"]["status"] == "AFVIST"
    assert fbs.post("/afvisninger", rejection).json()["dublet"] is True
    corrected = fbs.post(f"/fordringer/{claim['fordringId']}/rettelse", {"beloebOere": 11000})
    assert corrected.json()["status"] == "AABEN" and corrected.json()["version"] == 2
    last = feed(fbs)["haendelser"][-1]
    assert (last["type"], last["fordring"]["version"], last["fordring"]["beloebOere"]) == (
        "FORDRING_OPRETTET",
        2,
        11000,
    )
    assert fbs.post(f"/fordringer/{claim['fordringId']}/rettelse", {"beloebOere": 1}).status_code == 409


def test_status_notices_are_recorded_once(fbs: SimClient) -> None:
    claim = make_claim(fbs, borrower(fbs), "ERSTATNING_ANERKENDT", 45000)
    notice = {
        "meddelelseId": new_id("M"),
        "fordringId": claim["fordringId"],
        "status": "OVERDRAGET_TIL_INDDRIVELSE",
        "dato": "2026-07-08",
    }
    assert fbs.post("/statusmeddelelser", notice).json()["fordring"]["inddrivelse"] == "OVERDRAGET"
    back = {**notice, "meddelelseId": new_id("M"), "status": "RETUR_FRA_INDDRIVELSE", "returKode": "KLAG"}
    assert fbs.post("/statusmeddelelser", back).json()["fordring"]["inddrivelse"] == "RETURNERET"
    closed = {**notice, "meddelelseId": new_id("M"), "status": "KONTO_LUKKET"}
    assert fbs.post("/statusmeddelelser", closed).json()["fordring"]["kontoLukket"] is True


def test_a_borrower_is_excluded_above_the_limit_and_readmitted_below(fbs: SimClient) -> None:
    fbs.settings(exclusion_limit_oere=20000)
    laaner = borrower(fbs)
    first = make_claim(fbs, laaner, amount=15000)
    status = fbs.get(f"/laanere/{laaner}/status").json()
    assert (status["saldoOere"], status["graenseOere"], status["udelukket"]) == (15000, 20000, False)
    make_claim(fbs, laaner, amount=6000)
    status = fbs.get(f"/laanere/{laaner}/status").json()
    assert (status["saldoOere"], status["udelukket"], status["aabneFordringer"]) == (21000, True, 2)
    post(fbs, first["fordringId"], 1000)
    status = fbs.get(f"/laanere/{laaner}/status").json()
    assert (status["saldoOere"], status["udelukket"]) == (20000, False)
    assert [n["type"] for n in status["notifikationer"]] == ["UDELUKKELSE", "UDELUKKELSE_OPHAEVET"]


def test_sessions_never_see_each_other(fbs_url: str) -> None:
    first, second = SimClient(fbs_url), SimClient(fbs_url)
    claim = make_claim(first, borrower(first))
    assert second.get(f"/fordringer/{claim['fordringId']}").status_code == 404
    assert feed(second)["haendelser"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"laanerId": "X", "type": "GEBYR", "beloebOere": 0, "tekst": "t"}, "OIR-400-INVALID-AMOUNT"),
        ({"laanerId": "X", "type": "GEBYR", "beloebOere": -5, "tekst": "t"}, "OIR-400-INVALID-AMOUNT"),
        ({"laanerId": "X", "type": "BOEDE", "beloebOere": 100, "tekst": "t"}, "OIR-400-VALIDATION"),
        ({"laanerId": "X", "type": "GEBYR", "beloebOere": "100", "tekst": "t"}, "OIR-400-INVALID-AMOUNT"),
    ],
    ids=["zero", "negative", "unknown-type", "string-amount"],
)
def test_bad_claims_get_a_problem(fbs: SimClient, body: dict[str, Any], code: str) -> None:
    response = fbs.post("/fordringer", body)
    assert response.status_code == 400 and response.json()["code"] == code


def test_bad_borrowers_and_headers(fbs: SimClient) -> None:
    assert fbs.post("/laanere", {"cpr": "3299001234", "navn": "X"}).json()["code"] == "OIR-400-INVALID-CPR"
    assert (
        fbs.post("/laanere", {"cpr": "0101901234", "navn": "X"}, cvr="11111111").json()["code"]
        == "OIR-400-UNKNOWN-MUNICIPALITY"
    )
    missing = fbs.http.post("/laanere", json={"cpr": "0101901234", "navn": "X"})
    assert missing.status_code == 400 and missing.json()["code"] == "OIR-400-HEADER-BLOCK"
    assert (
        fbs.post("/fordringer", {"laanerId": "NOPE", "type": "GEBYR", "beloebOere": 100, "tekst": "t"}).status_code
        == 404
    )


def test_a_session_with_an_id_series_numbers_borrowers_and_claims_in_it(fbs_url: str) -> None:
    """A vendor's real system keeps ids from earlier runs: sessions meeting one number in series of their own."""
    plain, first, second = SimClient(fbs_url), SimClient(fbs_url), SimClient(fbs_url)
    first.settings(id_series="a1b2c3d4")
    second.settings(id_series="0f0f0f0f")
    made = {}
    for name, client in (("plain", plain), ("first", first), ("second", second)):
        laaner = borrower(client)
        made[name] = (laaner, make_claim(client, laaner)["fordringId"])
    assert made["plain"] == ("L101000001", "FBS-101-0000001")  # unchanged without a series
    assert made["first"] == ("L101a1b2c3d4-000001", "FBS-101-a1b2c3d4-0000001")
    assert made["second"] == ("L1010f0f0f0f-000001", "FBS-101-0f0f0f0f-0000001")


def test_an_id_series_that_cannot_stand_in_an_id_is_refused_when_set(fbs_url: str) -> None:
    client = SimClient(fbs_url)
    refused = client.http.patch("/_sim/settings", json={"id_series": "a b/c"})
    assert refused.status_code == 422 and refused.json()["code"] == "OIR-422-SETTING-VALUE"
    assert "id_series" in refused.json()["detail"]
    assert client.settings()["id_series"] == ""  # nothing was changed
