"""The citizen payment solution as a consumer of B_03: the real payment simulator, pointed at the Pact
mock server as its municipality's debtor system, searches and pays; pact `betalingsloesning-oir-debitor-v3`."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pact import match

from simulators import factory
from tests.pact.support import COPENHAGEN_CVR, CPR, CPR_RE, ID_RE, date, header_block, ident, injected, new_pact, write

STATE = "a citizen has a payable sub-claim"
CLAIM_ID = "FBS-101-0000200"
# Examples: the state handler answers fresh ids, CPR and betalingId per interaction (a real debtor
# system keeps what earlier certifications registered and paid); requests carry them injected.
PARAMS = {
    "kommuneCvr": COPENHAGEN_CVR,
    "debitorkontoId": "FBS-101-L101000020",
    "fordringId": CLAIM_ID,
    "delfordringId": f"{CLAIM_ID}-1",
    "cpr": CPR,
    "beloebOere": 12000,
    "betalingId": "BET-0001",
}


def test_payment_solution_searches_and_pays() -> None:
    pact = new_pact("betalingsloesning", "oir-debitor-v3")
    (
        pact.upon_receiving("SoegDelfordringTilIndbetaling for a citizen")
        .given(STATE, PARAMS)
        .with_request("POST", "/indbetaling/soeg")
        .with_headers(header_block())
        .with_body({"cpr": injected(CPR, "${cpr}", regex=CPR_RE)}, content_type="application/json")
        .will_respond_with(200)
        .with_body(
            {
                "delfordringer": match.each_like(
                    {
                        "delfordringId": ident(f"{CLAIM_ID}-1"),
                        "fordringId": ident(CLAIM_ID),
                        "debitorkontoId": ident("FBS-101-L101000020"),
                        "tekst": match.like("Gebyr for sen aflevering"),
                        "restOere": match.integer(12000),
                        "betalingsreference": match.like("+71<000000000000001+85>"),
                        "forfaldsdato": date("2026-01-05"),
                    }
                )
            },
            content_type="application/json",
        )
    )
    (
        pact.upon_receiving("ForetagIndbetaling of a payable sub-claim")
        .given(STATE, PARAMS)
        .with_request("POST", "/indbetalinger")
        .with_headers(header_block())
        .with_body(
            {
                "betalingId": injected("BET-0001", "${betalingId}", regex=ID_RE),
                "betalingsmetode": match.like("KORT"),
                "delfordringer": match.each_like(
                    {
                        "delfordringId": injected(f"{CLAIM_ID}-1", "${delfordringId}", regex=ID_RE),
                        "beloebOere": match.integer(5000),
                    }
                ),
            },
            content_type="application/json",
        )
        .will_respond_with(201)
        .with_body(
            {
                "betalingId": ident("BET-0001"),
                "beloebOere": match.integer(5000),
                "delfordringer": match.each_like(
                    {
                        "delfordringId": ident(f"{CLAIM_ID}-1"),
                        "beloebOere": match.integer(5000),
                        "restOere": match.integer(7000),
                    }
                ),
            },
            content_type="application/json",
        )
    )
    with pact.serve(addr="127.0.0.1") as srv:
        app = factory("payment")(debtor_url_kmd_opus=str(srv.url).rstrip("/"))
        headers = {
            "Authorization": "Bearer oir-dev-token",
            "X-Transaktion-Tid": "2026-01-06T10:00:00+01:00",
            "X-Kommune-Cvr": COPENHAGEN_CVR,
        }
        with TestClient(app) as client:
            overview = client.post(
                "/betalingsoverblik",
                json={"cpr": CPR},
                headers={**headers, "X-Transaktion-Id": "0d5b3a8e-0d57-4c46-9d0a-6f1c3d2e1a01"},
            )
            paid = client.post(
                "/betalinger",
                json={
                    "cpr": CPR,
                    "betalingId": "BET-0001",
                    "delfordringer": [{"delfordringId": f"{CLAIM_ID}-1", "beloebOere": 5000}],
                },
                headers={**headers, "X-Transaktion-Id": "0d5b3a8e-0d57-4c46-9d0a-6f1c3d2e1a02"},
            )
    assert overview.status_code == 200, overview.text
    assert overview.json()["betalingsloesning"] is True
    assert [p["delfordringId"] for p in overview.json()["poster"]] == [f"{CLAIM_ID}-1"]
    assert paid.status_code == 201, paid.text
    assert paid.json()["beloebOere"] == 5000
    write(pact)
