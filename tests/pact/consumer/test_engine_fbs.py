"""The integration engine as FBS's consumer: the real Engine reads the feed and delivers postings,
status notices and rejections to the Pact mock server, which records the pact `oir-engine-fbs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pact import match

from integration import CycleReport
from integration.store import InboxEvent
from integration.translate import callback_to_fbs, rejection
from tests.pact.support import (
    COPENHAGEN_CVR,
    CPR,
    CPR_RE,
    DATETIME,
    date,
    engine,
    header_block,
    ident,
    injected,
    new_pact,
    outbox,
    write,
)

CLAIM_STATE = "a claim was created in FBS"
STATE_PARAMS = {"kommuneCvr": COPENHAGEN_CVR, "cpr": CPR, "type": "GEBYR", "beloebOere": 12000}
CLAIM_ID = "FBS-101-0000001"

EVENT = {
    "haendelseId": ident("H00000001"),
    "cursor": match.regex("c-00000001", regex=r"^c-[0-9]{8}$"),
    "type": match.regex(
        "FORDRING_OPRETTET", regex=r"^(FORDRING_OPRETTET|FORDRING_NEDSKREVET|FORDRING_ANNULLERET|CPR_AENDRET)$"
    ),
    "tidspunkt": match.regex("2026-01-05T09:00:00+01:00", regex=DATETIME),
    "kommuneKode": match.regex("101", regex=r"^[0-9]{3}$"),
    "kommuneCvr": match.regex(COPENHAGEN_CVR, regex=r"^[0-9]{8}$"),
    "fordring": {
        "fordringId": ident(CLAIM_ID),
        "laanerId": ident("L101000001"),
        "type": match.regex("GEBYR", regex=r"^(GEBYR|ERSTATNING|ERSTATNING_ANERKENDT)$"),
        "beloebOere": match.integer(12000),
        "tekst": match.like("Gebyr for sen aflevering"),
        "stiftelsesdato": date("2026-01-05"),
        "forfaldsdato": date("2026-01-05"),
        "version": match.integer(1),
        "delposter": match.each_like(
            {"delpostId": ident(f"{CLAIM_ID}-1"), "beloebOere": match.integer(12000), "tekst": match.like("Gebyr")}
        ),
    },
    "laaner": {
        "laanerId": ident("L101000001"),
        "cpr": match.regex(CPR, regex=CPR_RE),
        "navn": match.like("Test Borger"),
    },
}

RECEIPT = {
    "id": match.like("0b9c2a55-2b7e-4a43-9d8c-2f0c1d7f6a10"),
    "dublet": match.boolean(False),
    "fordring": match.like(
        {
            "fordringId": CLAIM_ID,
            "saldoOere": 7000,
            "status": "AABEN",
            "inddrivelse": "IKKE_OVERDRAGET",
        }
    ),
}


def _deliver_specs(tmp_path: Path, url: str, specs: list[Any]) -> list[tuple[str, str, str]]:
    sync = engine(tmp_path, fbs_url=url)
    with sync.store.begin() as session:
        for claim_id, spec in specs:
            sync.queue(session, spec, COPENHAGEN_CVR, claim_id, "pact")
    report = CycleReport()
    sync.deliver_due(report)
    assert report.delivered == len(specs), report
    return outbox(sync)


def test_engine_reads_the_claim_event_feed(tmp_path: Path) -> None:
    pact = new_pact("oir-engine", "fbs")
    (
        pact.upon_receiving("a read of the claim-event feed from the start")
        .given(CLAIM_STATE, STATE_PARAMS)
        .with_request("GET", "/haendelser")
        .with_query_parameter("antal", "500")
        .with_headers(header_block(municipality=False))
        .will_respond_with(200)
        .with_body(
            {"haendelser": match.each_like(EVENT), "naesteCursor": match.regex("c-99999999", regex=r"^c-[0-9]{8}$")},
            content_type="application/json",
        )
    )
    (
        pact.upon_receiving("a read of the claim-event feed after the last cursor")
        .with_request("GET", "/haendelser")
        .with_query_parameters({"antal": "500", "efter": "c-99999999"})
        .with_headers(header_block(municipality=False))
        .will_respond_with(200)
        .with_body({"haendelser": []}, content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        sync = engine(tmp_path, fbs_url=str(srv.url).rstrip("/"), debtor_url="http://127.0.0.1:9")
        report = CycleReport()
        sync.read_feed(report)
    assert report.events_read == 1
    with sync.store() as session:
        assert [e.claim_id for e in session.query(InboxEvent)] == [CLAIM_ID]
    assert outbox(sync) == [("REGISTER", "PENDING", "/debitorkonti")]
    write(pact)


def test_engine_posts_a_payment_to_fbs(tmp_path: Path) -> None:
    message_id = "6f2b4613-fbd8-492a-8c4c-9e1b75548042"
    pact = new_pact("oir-engine", "fbs")
    (
        pact.upon_receiving("a DAEKNING posting from a debtor system's callback")
        .given(CLAIM_STATE, STATE_PARAMS)
        .with_request("POST", "/posteringer")
        .with_headers(header_block())
        .with_body(
            {
                "posteringId": match.like(message_id),
                "fordringId": injected(CLAIM_ID, "${fordringId}"),
                "type": "DAEKNING",
                "beloebOere": match.integer(5000),
                "dato": date("2026-01-20"),
                "kilde": match.like("BANK"),
            },
            content_type="application/json",
        )
        .will_respond_with(201)
        .with_body(RECEIPT, content_type="application/json")
    )
    callback = {
        "meddelelseId": message_id,
        "debitorkontoId": "FBS-101-L101000001",
        "fordringId": CLAIM_ID,
        "type": "DAEKNING",
        "beloebOere": 5000,
        "dato": "2026-01-20",
        "kilde": "BANK",
        "delfordringer": [{"delfordringId": f"{CLAIM_ID}-1", "beloebOere": 5000}],
    }
    specs = callback_to_fbs(callback, {CLAIM_ID: [f"{CLAIM_ID}-1"]})
    with pact.serve(addr="127.0.0.1") as srv:
        assert _deliver_specs(tmp_path, str(srv.url).rstrip("/"), specs) == [("POSTING", "DONE", "/posteringer")]
    write(pact)


def test_engine_sends_a_status_notice_to_fbs(tmp_path: Path) -> None:
    message_id = "26f1d63e-cb86-416c-8749-dbd76455f3b1"
    pact = new_pact("oir-engine", "fbs")
    (
        pact.upon_receiving("a status notice that a claim was handed over to PSRM")
        .given(CLAIM_STATE, STATE_PARAMS)
        .with_request("POST", "/statusmeddelelser")
        .with_headers(header_block())
        .with_body(
            {
                "meddelelseId": match.uuid(message_id),
                "fordringId": injected(CLAIM_ID, "${fordringId}"),
                "status": match.regex(
                    "OVERDRAGET_TIL_INDDRIVELSE",
                    regex=r"^(OVERDRAGET_TIL_INDDRIVELSE|RETUR_FRA_INDDRIVELSE|KONTO_LUKKET)$",
                ),
                "dato": date("2026-06-01"),
            },
            content_type="application/json",
        )
        .will_respond_with(201)
        .with_body(RECEIPT, content_type="application/json")
    )
    callback = {
        "meddelelseId": message_id,
        "debitorkontoId": "FBS-101-L101000001",
        "fordringId": CLAIM_ID,
        "type": "OVERDRAGET_TIL_INDDRIVELSE",
        "dato": "2026-06-01",
    }
    specs = callback_to_fbs(callback, {CLAIM_ID: [f"{CLAIM_ID}-1"]})
    with pact.serve(addr="127.0.0.1") as srv:
        assert _deliver_specs(tmp_path, str(srv.url).rstrip("/"), specs) == [("STATUS", "DONE", "/statusmeddelelser")]
    write(pact)


def test_engine_returns_a_rejection_to_fbs(tmp_path: Path) -> None:
    pact = new_pact("oir-engine", "fbs")
    (
        pact.upon_receiving("a rejection of a claim the debtor system refused")
        .given(CLAIM_STATE, STATE_PARAMS)
        .with_request("POST", "/afvisninger")
        .with_headers(header_block())
        .with_body(
            {
                "afvisningId": ident("AFV-5c0e7d1e-8d1f-4d0a-9a53-7d6f3b1f0c11"),
                "fordringId": injected(CLAIM_ID, "${fordringId}"),
                "kode": match.like("OIR-422-UNKNOWN-PRODUCT"),
                "tekst": match.like("Produktkoden findes ikke i debitorsystemets sortiment"),
            },
            content_type="application/json",
        )
        .will_respond_with(201)
        .with_body(RECEIPT, content_type="application/json")
    )
    spec = rejection(
        CLAIM_ID,
        "AFV-5c0e7d1e-8d1f-4d0a-9a53-7d6f3b1f0c11",
        "OIR-422-UNKNOWN-PRODUCT",
        "Produktkoden findes ikke i debitorsystemets sortiment",
    )
    with pact.serve(addr="127.0.0.1") as srv:
        assert _deliver_specs(tmp_path, str(srv.url).rstrip("/"), [(CLAIM_ID, spec)]) == [
            ("REJECTION", "DONE", "/afvisninger")
        ]
    write(pact)
