"""The debtor system as PSRM's consumer: the debtor simulator's real PSRM client (and its hand-over
action builder) submits a claim, fetches receipts and notifications against the Pact mock server;
pact `debitorsystem-psrm-fordringshaver`."""

from __future__ import annotations

import asyncio
from datetime import date as Date
from typing import Any

from fastapi.testclient import TestClient
from pact import match

from simulators import factory
from simulators.debtor import jobs, psrm_client
from tests.pact.support import (
    COPENHAGEN_CVR,
    CPR,
    CPR_RE,
    DATETIME,
    date,
    header_block,
    ident,
    injected,
    new_pact,
    write,
)

CLAIM_ID = "FBS-101-0000300"
DELIVERY = "LEV-00000001"
ACTION_RE = r"^MFA-[0-9a-f-]{36}$"


def _claim_and_actions(psrm_url: str) -> tuple[Any, list[dict[str, Any]]]:
    """A recoverable claim registered in the debtor simulator, and the actions its hand-over sends."""
    app = factory("debtor")(profile="kmd-opus", psrm_url=psrm_url)
    body = {
        "debitorkontoId": "FBS-101-L101000030",
        "haeftelse": {"cpr": CPR, "navn": "Test Borger"},
        "fordringer": [
            {
                "fordringId": CLAIM_ID,
                "produktkode": "BIB-ERSTATNING",
                "tekst": "Erstatning for bog",
                "stiftelsesdato": "2025-01-05",
                "forfaldsdato": "2025-01-05",
                "sidsteRettidigeBetalingsdato": "2025-02-04",
                "anerkendt": True,
                "delfordringer": [{"delfordringId": f"{CLAIM_ID}-1", "beloebOere": 50000, "tekst": "Erstatning"}],
            }
        ],
    }
    headers = {
        "Authorization": "Bearer oir-dev-token",
        "X-Transaktion-Id": "2b1f8d8e-3c0a-4c7e-8f0e-1d2c3b4a5f60",
        "X-Transaktion-Tid": "2025-01-05T10:00:00+01:00",
        "X-Kommune-Cvr": COPENHAGEN_CVR,
        "X-Sim-Session": "pact",
    }
    with TestClient(app) as client:
        assert client.post("/debitorkonti", json=body, headers=headers).status_code == 201
    runtime = app.state.sim
    session = runtime.sessions.get("pact")
    claim = session.state.claims[CLAIM_ID]
    actions = jobs._claim_actions(claim, Date(2025, 6, 1))
    for action in actions:
        action["haeftere"] = [{"cpr": CPR, **action["haeftere"][0]}]
    return (runtime, session), actions


ACTION = {
    "mfAktionId": match.regex("MFA-3f1d2c4b-5a6e-4f70-8b9c-0d1e2f3a4b5c", regex=ACTION_RE),
    "aktion": match.regex(
        "OPRETFORDRING", regex=r"^(OPRETFORDRING|NEDSKRIV|TILBAGEKALD|OPSKRIVNINGREGULERING|GENINDSENDFORDRING)$"
    ),
    "fordringshaverReference": ident(CLAIM_ID),
    "fordringsart": match.regex("HOVEDFORDRING", regex=r"^(HOVEDFORDRING|RENTE)$"),
    "fordringstype": match.like("BIB-ERSTATNING"),
    "beloebOere": match.integer(50000),
    "stiftelsesdato": date("2025-01-05"),
    "forfaldsdato": date("2025-01-05"),
    "sidsteRettidigeBetalingsdato": date("2025-02-04"),
    "periodeFra": date("2025-01-05"),
    "periodeTil": date("2025-01-05"),
    "haeftere": match.each_like({"cpr": match.regex(CPR, regex=CPR_RE), "foraeldelsesdato": date("2028-02-04")}),
    "varselDato": date("2025-06-01"),
    "rykkerForloebGennemfoert": match.boolean(True),
}
# What a provider state submits first (plain values: state parameters carry no matchers).
STATE_ACTION = {
    "aktion": "OPRETFORDRING",
    "fordringshaverReference": "FBS-101-0000301",
    "fordringsart": "HOVEDFORDRING",
    "fordringstype": "BIB-ERSTATNING",
    "beloebOere": 50000,
    "stiftelsesdato": "2025-01-05",
    "forfaldsdato": "2025-01-05",
    "sidsteRettidigeBetalingsdato": "2025-02-04",
    "periodeFra": "2025-01-05",
    "periodeTil": "2025-01-05",
    "haeftere": [{"cpr": CPR, "foraeldelsesdato": "2028-02-04"}],
    "varselDato": "2025-06-01",
    "rykkerForloebGennemfoert": True,
}


def test_debtor_system_hands_a_claim_to_psrm_and_follows_it() -> None:
    pact = new_pact("debitorsystem", "psrm-fordringshaver")
    (
        pact.upon_receiving("MFFordringIndberet of a claim past its SRB")
        .with_request("POST", "/fordringsindberetninger")
        .with_headers(header_block())
        .with_body({"aktioner": match.each_like(ACTION)}, content_type="application/json")
        .will_respond_with(200)
        .with_body(
            {
                "leveranceId": ident(DELIVERY),
                "modtaget": match.regex("2026-01-05T09:00:00+01:00", regex=DATETIME),
                "aktioner": match.each_like(
                    {
                        "mfAktionId": match.regex("MFA-3f1d2c4b-5a6e-4f70-8b9c-0d1e2f3a4b5c", regex=ACTION_RE),
                        "status": match.regex("MODTAGET", regex=r"^(MODTAGET|AFVIST)$"),
                        "fejl": match.like([]),
                    }
                ),
            },
            content_type="application/json",
        )
    )
    submitted = {"kommuneCvr": COPENHAGEN_CVR, "aktion": STATE_ACTION}
    (
        pact.upon_receiving("MFKvitteringHent before the receipt is ready")
        .given("a delivery was just submitted", submitted)
        .with_request("GET", _receipt_path(DELIVERY))
        .with_headers(header_block())
        .will_respond_with(202)
        .with_body(
            {
                "leveranceId": injected(DELIVERY, "${leveranceId}"),
                "klar": False,
                "forventetKlar": match.regex("2026-01-05T09:05:00+01:00", regex=DATETIME),
            },
            content_type="application/json",
        )
    )
    (
        pact.upon_receiving("MFKvitteringHent of a finished receipt")
        .given("a delivery's receipt is finished", submitted)
        .with_request("GET", _receipt_path("LEV-00000002"))
        .with_headers(header_block())
        .will_respond_with(200)
        .with_body(
            {
                "leveranceId": injected("LEV-00000002", "${leveranceId}"),
                "klar": True,
                "kvitteringer": match.each_like(
                    {
                        "mfAktionId": match.regex("MFA-3f1d2c4b-5a6e-4f70-8b9c-0d1e2f3a4b5c", regex=ACTION_RE),
                        "status": match.regex("UDFOERT", regex=r"^(UDFOERT|AFVIST|HOERING)$"),
                        "fejl": match.like([]),
                    }
                ),
            },
            content_type="application/json",
        )
    )
    (
        pact.upon_receiving("MFUnderretSamlingHent for the last three months")
        .with_request("GET", "/underretninger")
        .with_query_parameters({"fra": date("2025-11-01"), "til": date("2026-01-01")})
        .with_headers(header_block())
        .will_respond_with(200)
        .with_body({"underretninger": match.like([])}, content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        (runtime, session), actions = _claim_and_actions(str(srv.url).rstrip("/"))
        cvr = COPENHAGEN_CVR

        async def conversation() -> list[psrm_client.PsrmAnswer]:
            try:
                return [
                    await psrm_client.submit(runtime, session, cvr, actions),
                    await psrm_client.fetch_receipt(runtime, session, cvr, DELIVERY),
                    await psrm_client.fetch_receipt(runtime, session, cvr, "LEV-00000002"),
                    await psrm_client.fetch_notifications(runtime, session, cvr, Date(2025, 11, 1), Date(2026, 1, 1)),
                ]
            finally:
                await runtime.aclose()

        answers = asyncio.run(conversation())
    assert [a.status for a in answers] == [200, 202, 200, 200]
    assert answers[0].body["aktioner"][0]["status"] == "MODTAGET"
    assert answers[2].body["kvitteringer"][0]["status"] == "UDFOERT"
    assert len(actions) == 1 and actions[0]["aktion"] == "OPRETFORDRING"
    write(pact)


def _receipt_path(delivery: str) -> Any:
    """The example path exactly (so the mock tells the two receipt fetches apart); when verified, the
    delivery id the provider state's submission got."""
    from pact import generate
    from pact.match.matcher import GenericMatcher

    path = f"/kvitteringer/{delivery}"
    return GenericMatcher(
        "regex",
        value=path,
        generator=generate.provider_state("/kvitteringer/${leveranceId}"),
        regex=f"^/kvitteringer/{delivery}$",  # the mock must tell the two fetches apart
    )
