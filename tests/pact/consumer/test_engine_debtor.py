"""The integration engine as a debtor system's consumer: the real translation and delivery send
OpretDebitorkonto, RetFordringTilstand and AendrHaeftelse, and reconciliation reads HentDebitorkonto
(with FBS's claim look-up), against Pact mock servers; the pacts `oir-engine-oir-debitor-v3` and
`oir-engine-fbs` are recorded from what the engine really sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pact import match

from integration import CycleReport, Engine
from integration.reconcile import reconcile
from integration.routing import RoutingTable
from integration.translate import account_id, to_messages
from tests.pact.support import (
    COPENHAGEN_CVR,
    CPR,
    CPR_RE,
    DATE,
    ID_RE,
    NEW_CPR,
    date,
    engine,
    header_block,
    ident,
    injected,
    injected_path,
    new_pact,
    outbox,
    write,
)

ACCOUNT_STATE = "a debtor account with a claim exists"
NEW_BORROWER_STATE = "a new borrower"
# Every oir-debitor-v3 interaction works on identities its provider state hands out fresh per
# verification (a real debtor system keeps what earlier certifications registered): requests carry
# them as provider-state injected values; responses match ids by pattern, never by equality.


def _borrower(claim_id: str) -> str:
    """One borrower (so one debtor account) per test: states never collide in one verification."""
    return f"L{claim_id[-7:]}"


def _event(kind: str, claim_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "haendelseId": f"H-{claim_id}-{kind}",
        "type": kind,
        "tidspunkt": "2026-01-10T09:00:00+01:00",
        "kommuneKode": "101",
        "kommuneCvr": COPENHAGEN_CVR,
        "fordring": {
            "fordringId": claim_id,
            "laanerId": _borrower(claim_id),
            "type": "GEBYR",
            "beloebOere": 12000,
            "tekst": "Gebyr for sen aflevering",
            "stiftelsesdato": "2026-01-05",
            "forfaldsdato": "2026-01-05",
            "version": 1,
            "delposter": [{"delpostId": f"{claim_id}-1", "beloebOere": 12000, "tekst": "Gebyr for sen aflevering"}],
        },
        "laaner": {"laanerId": _borrower(claim_id), "cpr": CPR, "navn": "Test Borger"},
        **extra,
    }


def _state(claim_id: str, **extra: Any) -> dict[str, Any]:
    """What the provider must hold: the account and claim the event's earlier registration made.

    The ids and the CPR are examples: the state handler answers fresh ones, injected into requests."""
    return {
        "kommuneCvr": COPENHAGEN_CVR,
        "debitorkontoId": f"FBS-101-{_borrower(claim_id)}",
        "fordringId": claim_id,
        "delfordringId": f"{claim_id}-1",
        "cpr": CPR,
        "beloebOere": 12000,
        **extra,
    }


def _fresh(example: str, name: str) -> Any:
    """An id the provider state hands out: the engine's value here, the state's when verified."""
    return injected(example, f"${{{name}}}", regex=ID_RE)


def _deliver(sync: Engine, event: dict[str, Any], routes: RoutingTable) -> CycleReport:
    with sync.store.begin() as session:
        for spec in to_messages(event, routes):
            if spec.kind == "REGISTER":
                sync.remember_registration(session, spec, event["kommuneCvr"])
            sync.queue(session, spec, event["kommuneCvr"], event["fordring"]["fordringId"], event["haendelseId"])
    report = CycleReport()
    sync.deliver_due(report)
    return report


CLAIM_STATUS = {
    "fordringId": ident("FBS-101-0000101"),
    "status": match.regex("AKTIV", regex=r"^[A-Z_]+$"),
    "saldoOere": match.integer(10000),
    "ny": match.boolean(False),
}


def test_engine_registers_a_new_claim(tmp_path: Path) -> None:
    claim_id = "FBS-101-0000100"
    pact = new_pact("oir-engine", "oir-debitor-v3")
    (
        pact.upon_receiving("OpretDebitorkonto for a borrower's new fee")
        .given(NEW_BORROWER_STATE, _state(claim_id))
        .with_request("POST", "/debitorkonti")
        .with_headers(header_block())
        .with_body(
            {
                "debitorkontoId": _fresh("FBS-101-L0000100", "debitorkontoId"),
                "haeftelse": {"cpr": injected(CPR, "${cpr}", regex=CPR_RE), "navn": match.like("Test Borger")},
                "fordringer": match.each_like(
                    {
                        "fordringId": _fresh(claim_id, "fordringId"),
                        "produktkode": match.regex("BIB-GEBYR", regex=r"^[A-Z0-9][A-Z0-9-]{1,39}$"),
                        "tekst": match.like("Gebyr for sen aflevering"),
                        "stiftelsesdato": date("2026-01-05"),
                        "forfaldsdato": date("2026-01-05"),
                        "anerkendt": match.boolean(False),
                        "delfordringer": match.each_like(
                            {
                                "delfordringId": _fresh(f"{claim_id}-1", "delfordringId"),
                                "beloebOere": match.integer(12000),
                                "tekst": match.like("Gebyr for sen aflevering"),
                            }
                        ),
                    }
                ),
            },
            content_type="application/json",
        )
        .will_respond_with(201)
        .with_body(
            {
                "debitorkontoId": ident("FBS-101-L0000100"),
                "oprettet": match.boolean(True),
                "fordringer": match.each_like(
                    {
                        "fordringId": ident(claim_id),
                        "status": match.like("AKTIV"),
                        "saldoOere": match.integer(12000),
                        "ny": match.boolean(True),
                    }
                ),
            },
            content_type="application/json",
        )
    )
    with pact.serve(addr="127.0.0.1") as srv:
        sync = engine(tmp_path, debtor_url=str(srv.url).rstrip("/"))
        report = _deliver(sync, _event("FORDRING_OPRETTET", claim_id), sync.routes)
    assert (report.delivered, report.rejected, report.retrying) == (1, 0, 0)
    assert outbox(sync) == [("REGISTER", "DONE", "/debitorkonti")]
    write(pact)


def _state_change(tmp_path: Path, description: str, claim_id: str, event: dict[str, Any], body: dict[str, Any]) -> None:
    pact = new_pact("oir-engine", "oir-debitor-v3")
    (
        pact.upon_receiving(description)
        .given(ACCOUNT_STATE, _state(claim_id))
        .with_request("POST", injected_path(f"/fordringer/{claim_id}/tilstand", "/fordringer/${fordringId}/tilstand"))
        .with_headers(header_block())
        .with_body(body, content_type="application/json")
        .will_respond_with(200)
        .with_body({**CLAIM_STATUS, "fordringId": ident(claim_id)}, content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        sync = engine(tmp_path, debtor_url=str(srv.url).rstrip("/"))
        report = _deliver(sync, event, sync.routes)
    assert (report.delivered, report.rejected) == (1, 0)
    assert outbox(sync) == [("STATE_CHANGE", "DONE", f"/fordringer/{claim_id}/tilstand")]
    write(pact)


def test_engine_writes_a_claim_down(tmp_path: Path) -> None:
    claim_id = "FBS-101-0000101"
    event = _event(
        "FORDRING_NEDSKREVET",
        claim_id,
        nedskrivning={"beloebOere": 2000, "virkningsdato": "2026-01-10", "aarsag": "DIREKTE_BETALING"},
    )
    body = {
        "handling": "NEDSKRIVNING",
        "beloebOere": match.integer(2000),
        "virkningsdato": date("2026-01-10"),
        "aarsag": match.regex("DIREKTE_BETALING", regex=r"^[A-Z_]+$"),
    }
    _state_change(tmp_path, "RetFordringTilstand writing a claim down", claim_id, event, body)


def test_engine_annuls_a_claim(tmp_path: Path) -> None:
    claim_id = "FBS-101-0000102"
    body = {
        "handling": "ANNULLERING",
        "virkningsdato": date("2026-01-10"),
        "aarsag": match.regex("ANDET", regex=r"^[A-Z_]+$"),
    }
    _state_change(
        tmp_path, "RetFordringTilstand annulling a claim", claim_id, _event("FORDRING_ANNULLERET", claim_id), body
    )


def test_engine_changes_the_liable_party(tmp_path: Path) -> None:
    claim_id = "FBS-101-0000103"
    event = _event("CPR_AENDRET", claim_id, cprAendring={"gammelCpr": CPR, "nyCpr": NEW_CPR})
    pact = new_pact("oir-engine", "oir-debitor-v3")
    (
        pact.upon_receiving("AendrHaeftelse after a CPR change")
        .given(ACCOUNT_STATE, _state(claim_id, nyCpr=NEW_CPR, virkningsdato="2026-01-10"))
        .with_request(
            "POST",
            injected_path(f"/debitorkonti/{account_id(event)}/haeftelse", "/debitorkonti/${debitorkontoId}/haeftelse"),
        )
        .with_headers(header_block())
        .with_body(
            {
                "nyHaeftelse": {"cpr": injected(NEW_CPR, "${nyCpr}", regex=CPR_RE), "navn": match.like("Test Borger")},
                # the provider's own date the liability can change from: a vendor's date moves on (test control)
                "virkningsdato": injected("2026-01-10", "${virkningsdato}", regex=DATE),
            },
            content_type="application/json",
        )
        .will_respond_with(200)
        .with_body(
            {
                "debitorkontoId": ident(account_id(event)),
                "haeftelse": {"cpr": match.regex(NEW_CPR, regex=CPR_RE), "fra": date("2026-01-10")},
                "tidligereHaeftelser": match.each_like(
                    {"cpr": match.regex(CPR, regex=CPR_RE), "fra": date("2026-01-05"), "til": date("2026-01-10")}
                ),
            },
            content_type="application/json",
        )
    )
    with pact.serve(addr="127.0.0.1") as srv:
        sync = engine(tmp_path, debtor_url=str(srv.url).rstrip("/"))
        report = _deliver(sync, event, sync.routes)
    assert (report.delivered, report.rejected) == (1, 0)
    assert outbox(sync) == [("LIABLE_CHANGE", "DONE", f"/debitorkonti/{account_id(event)}/haeftelse")]
    write(pact)


def test_reconciliation_reads_the_debtor_account_and_the_fbs_claim(tmp_path: Path) -> None:
    """Reconciliation talks to two providers: one Pact object each, both served at once."""
    claim_id = "FBS-101-0000104"
    account = f"FBS-101-{_borrower(claim_id)}"
    debtor = new_pact("oir-engine", "oir-debitor-v3")
    movement = {"type": match.like("DAEKNING"), "beloebOere": match.integer(5000), "dato": date("2026-01-20")}
    (
        debtor.upon_receiving("HentDebitorkonto for reconciliation")
        .given(ACCOUNT_STATE, _state(claim_id))
        .with_request("GET", injected_path(f"/debitorkonti/{account}", "/debitorkonti/${debitorkontoId}"))
        .with_headers(header_block())
        .will_respond_with(200)
        .with_body(
            {
                "debitorkontoId": ident(account),
                "status": match.like("AABEN"),
                "saldoOere": match.integer(7000),
                "haeftelse": {"cpr": match.regex(CPR, regex=CPR_RE)},
                "fordringer": match.each_like(
                    {
                        "fordringId": ident(claim_id),
                        "status": match.like("AKTIV"),
                        "saldoOere": match.integer(7000),
                        "delfordringer": match.each_like(
                            {
                                "delfordringId": ident(f"{claim_id}-1"),
                                "restOere": match.integer(7000),
                                # a claim without movements yet has an empty list: the shape is pinned
                                "bevaegelser": match.like([movement]),
                            }
                        ),
                    }
                ),
            },
            content_type="application/json",
        )
    )
    fbs = new_pact("oir-engine", "fbs")
    (
        fbs.upon_receiving("a look-up of a claim for reconciliation")
        .given(
            "a claim was created in FBS",
            {"kommuneCvr": COPENHAGEN_CVR, "cpr": CPR, "type": "GEBYR", "beloebOere": 12000},
        )
        .with_request("GET", injected_path(f"/fordringer/{claim_id}", "/fordringer/${fordringId}"))
        .with_headers(header_block())
        .will_respond_with(200)
        .with_body(
            {
                "fordringId": injected(claim_id, "${fordringId}"),
                "saldoOere": match.integer(12000),
                "status": match.like("AABEN"),
                "posteringer": match.like(
                    [
                        {
                            "posteringId": match.like("P-1"),
                            "type": match.like("DAEKNING"),
                            "beloebOere": match.integer(2000),
                        }
                    ]
                ),
            },
            content_type="application/json",
        )
    )
    with debtor.serve(addr="127.0.0.1") as debtor_srv, fbs.serve(addr="127.0.0.1") as fbs_srv:
        sync = engine(tmp_path, fbs_url=str(fbs_srv.url).rstrip("/"), debtor_url=str(debtor_srv.url).rstrip("/"))
        with sync.store.begin() as session:
            register = to_messages(_event("FORDRING_OPRETTET", claim_id), sync.routes)[0]
            sync.remember_registration(session, register, COPENHAGEN_CVR)
        result = reconcile(sync)
    assert result.unreachable == []
    assert [(d.claim_id, d.kind, d.fbs_oere, d.debtor_oere) for d in result.differences] == [
        (claim_id, "DAEKNING", 2000, 5000)
    ]
    assert outbox(sync) == [("POSTING", "PENDING", "/posteringer")]  # the repair, delivered next cycle
    write(debtor)
    write(fbs)
