"""How the engine carries a write-up and a later acknowledgement of an FBS claim with the ØiR messages that
exist (RetFordringTilstand only writes down and annuls): further or new debtor claims, whose money and
statuses go back to the FBS claim."""

from __future__ import annotations

from typing import Any

from integration.routing import RoutingTable
from integration.translate import callback_to_fbs, live_debtor_claims, to_messages

ROUTES = RoutingTable.from_vendor_urls({"kmd-opus": "http://debtor.invalid"}, dev=True)
CLAIM = "FBS-101-0000001"


def _event(kind: str, version: int, **extra: Any) -> dict[str, Any]:
    return {
        "haendelseId": f"H-{kind}",
        "type": kind,
        "tidspunkt": "2026-01-10T09:00:00+01:00",
        "kommuneKode": "101",
        "kommuneCvr": "64942212",
        "fordring": {
            "fordringId": CLAIM,
            "laanerId": "L101000001",
            "type": "ERSTATNING",
            "beloebOere": 19900,
            "tekst": "Erstatning",
            "stiftelsesdato": "2026-01-05",
            "forfaldsdato": "2026-01-05",
            "version": version,
            "delposter": [{"delpostId": f"{CLAIM}-1", "beloebOere": 19900, "tekst": "Erstatning"}],
        },
        "laaner": {"laanerId": "L101000001", "cpr": "0101901234", "navn": "Test Borger"},
        **extra,
    }


def test_a_write_up_is_a_further_claim_on_the_account_carrying_fbs_s_new_part() -> None:
    up = {"delpostId": f"{CLAIM}-2", "beloebOere": 9000, "virkningsdato": "2026-01-10", "tekst": "Håndteringsgebyr"}
    (spec,) = to_messages(_event("FORDRING_OPSKREVET", 2, opskrivning=up), ROUTES)
    assert (spec.kind, spec.path) == ("REGISTER", "/debitorkonti")
    assert spec.body["debitorkontoId"] == "FBS-101-L101000001"
    (claim,) = spec.body["fordringer"]
    assert claim["fordringId"] == f"{CLAIM}-OP2"
    assert (claim["produktkode"], claim["anerkendt"]) == ("BIB-ERSTATNING", False)
    assert claim["delfordringer"] == [{"delfordringId": f"{CLAIM}-2", "beloebOere": 9000, "tekst": "Håndteringsgebyr"}]


def test_an_acknowledgement_registers_what_is_open_and_then_annuls_every_claim_before_it() -> None:
    event = _event("FORDRING_ANERKENDT", 3, anerkendelse={"dato": "2026-01-20", "saldoOere": 23900})
    register, *annulments = to_messages(event, ROUTES, [CLAIM, f"{CLAIM}-OP2"])
    (claim,) = register.body["fordringer"]
    assert (claim["fordringId"], claim["produktkode"], claim["anerkendt"]) == (
        f"{CLAIM}-A3",
        "BIB-ERSTATNING-ANERKENDT",
        True,
    )
    assert [d["beloebOere"] for d in claim["delfordringer"]] == [23900]
    assert [(a.kind, a.path, a.body["handling"], a.body["aarsag"]) for a in annulments] == [
        ("STATE_CHANGE", f"/fordringer/{CLAIM}/tilstand", "ANNULLERING", "AENDRET_GRUNDLAG"),
        ("STATE_CHANGE", f"/fordringer/{CLAIM}-OP2/tilstand", "ANNULLERING", "AENDRET_GRUNDLAG"),
    ]


def test_later_changes_go_to_the_debtor_claims_that_carry_the_fbs_claim_now() -> None:
    registered = [CLAIM, f"{CLAIM}-OP2", f"{CLAIM}-A3", f"{CLAIM}-OP4"]
    assert live_debtor_claims(CLAIM, registered) == [f"{CLAIM}-A3", f"{CLAIM}-OP4"]
    assert live_debtor_claims(CLAIM, [CLAIM, f"{CLAIM}-OP2"]) == [CLAIM, f"{CLAIM}-OP2"]
    assert live_debtor_claims(CLAIM, []) == [CLAIM]
    down = {"beloebOere": 1000, "virkningsdato": "2026-02-01", "aarsag": "AENDRET_GRUNDLAG"}
    (write_down,) = to_messages(_event("FORDRING_NEDSKREVET", 5, nedskrivning=down), ROUTES, registered)
    assert write_down.path == f"/fordringer/{CLAIM}-A3/tilstand"
    annulled = to_messages(_event("FORDRING_ANNULLERET", 5, annulleringsaarsag="Fejl"), ROUTES, registered)
    assert [a.path for a in annulled] == [f"/fordringer/{CLAIM}-A3/tilstand", f"/fordringer/{CLAIM}-OP4/tilstand"]


def test_money_and_statuses_on_those_debtor_claims_go_to_the_fbs_claim_once() -> None:
    payment = {
        "meddelelseId": "m-1",
        "type": "DAEKNING",
        "fordringId": f"{CLAIM}-OP2",
        "beloebOere": 9000,
        "dato": "2026-01-12",
        "delfordringer": [{"delfordringId": f"{CLAIM}-2", "beloebOere": 9000}],
    }
    claims = {CLAIM: [f"{CLAIM}-1"], f"{CLAIM}-OP2": [f"{CLAIM}-2"]}
    fbs = {f"{CLAIM}-OP2": CLAIM}
    ((debtor_claim, posting),) = callback_to_fbs(payment, claims, fbs_claims=fbs)
    assert (debtor_claim, posting.body["fordringId"], posting.body["beloebOere"]) == (f"{CLAIM}-OP2", CLAIM, 9000)
    closed = {"meddelelseId": "m-2", "type": "KONTO_LUKKET", "debitorkontoId": "FBS-101-L101000001", "dato": "x"}
    notices = callback_to_fbs(closed, claims, fbs_claims=fbs)
    assert [(c, s.body["fordringId"], s.body["meddelelseId"]) for c, s in notices] == [(CLAIM, CLAIM, "m-2")]


def test_a_dispute_holds_collection_of_every_debtor_claim_of_the_fbs_claim_until_it_is_rejected() -> None:
    disputed = _event("FORDRING_INDSIGELSE", 2, indsigelse={"dato": "2026-01-10", "begrundelse": "Afleveret"})
    holds = to_messages(disputed, ROUTES, [CLAIM, f"{CLAIM}-OP2"])
    assert [(h.kind, h.path, h.body) for h in holds] == [
        (kind, f"/fordringer/{claim}/tilstand", {"handling": "BETALINGSSTANDSNING", "aarsag": "INDSIGELSE"})
        for kind, claim in (("STATE_CHANGE", CLAIM), ("STATE_CHANGE", f"{CLAIM}-OP2"))
    ]
    decided = {"dato": "2026-01-10", "begrundelse": "Afleveret"}
    rejected = _event("FORDRING_INDSIGELSE_AFGJORT", 2, indsigelse={**decided, "udfald": "AFVIST"})
    assert [(m.path, m.body) for m in to_messages(rejected, ROUTES, [CLAIM])] == [
        (f"/fordringer/{CLAIM}/tilstand", {"handling": "OPHAEV_BETALINGSSTANDSNING"})
    ]
    upheld = _event("FORDRING_INDSIGELSE_AFGJORT", 2, indsigelse={**decided, "udfald": "MEDHOLD"})
    assert to_messages(upheld, ROUTES, [CLAIM]) == []  # FBS's annulment, next in the feed, annuls it
