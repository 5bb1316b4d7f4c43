"""The debtor system as the engine's consumer (`oir-fagsystem-v3`): the real debtor simulator, its
DækningAfskrivning callbacks pointed at the Pact mock server, registers an account, takes a citizen's
bank payment of the whole claim and delivers what it must — the payment, then the closed account;
pact `debitorsystem-oir-fagsystem-v3`, verified against the real engine (harness.contract_checks)."""

from __future__ import annotations

from typing import Any

from pact import match

from harness.servers import ServerThread
from simulators import factory
from tests.pact.support import COPENHAGEN_CVR, CPR, DATETIME, date, injected, new_pact, write
from tests.support.client import SimClient, wait_until

STATE = "the engine registered a claim for a municipality"
CALLBACK_TOKEN = "debtor-callback-token"
CLAIM_ID = "FBS-101-0000300"
ACCOUNT_ID = "FBS-101-L0000300"
AMOUNT = 12000
# What the provider state creates (in FBS, registered at a debtor by one engine cycle); the ids the
# engine's world assigns replace the examples below through provider-state injection.
PARAMS = {"kommuneCvr": COPENHAGEN_CVR, "cpr": CPR, "type": "GEBYR", "beloebOere": AMOUNT}


def _callback_headers() -> dict[str, Any]:
    return {
        "Authorization": match.regex(f"Bearer {CALLBACK_TOKEN}", regex=r"^Bearer \S+$"),
        "X-Transaktion-Id": match.uuid(),
        "X-Transaktion-Tid": match.regex("2026-01-05T09:00:00+01:00", regex=DATETIME),
        "X-Kommune-Cvr": match.regex(COPENHAGEN_CVR, regex=r"^[0-9]{8}$"),
    }


RECEIPT = {"meddelelseId": match.uuid(), "dublet": match.boolean(False)}


def _registration() -> dict[str, Any]:
    return {
        "debitorkontoId": ACCOUNT_ID,
        "haeftelse": {"cpr": CPR, "navn": "Test Borger"},
        "fordringer": [
            {
                "fordringId": CLAIM_ID,
                "produktkode": "BIB-GEBYR",
                "tekst": "Gebyr for sen aflevering",
                "stiftelsesdato": "2026-01-05",
                "forfaldsdato": "2026-01-05",
                "anerkendt": False,
                "delfordringer": [
                    {"delfordringId": f"{CLAIM_ID}-1", "beloebOere": AMOUNT, "tekst": "Gebyr for sen aflevering"}
                ],
            }
        ],
    }


def test_debtor_reports_a_payment_and_the_closed_account() -> None:
    pact = new_pact("debitorsystem", "oir-fagsystem-v3")
    (
        pact.upon_receiving("DaekningAfskrivning reporting a payment")
        .given(STATE, PARAMS)
        .with_request("POST", "/daekningafskrivning")
        .with_headers(_callback_headers())
        .with_body(
            {
                "meddelelseId": match.uuid(),
                "debitorkontoId": injected(ACCOUNT_ID, "${debitorkontoId}"),
                "fordringId": injected(CLAIM_ID, "${fordringId}"),
                "type": "DAEKNING",
                "beloebOere": match.integer(AMOUNT),
                "dato": date("2026-01-05"),
                "kilde": match.like("BANK"),
                "reference": match.like("+71<000000000000001+85>"),
                "delfordringer": [
                    {
                        "delfordringId": injected(f"{CLAIM_ID}-1", "${delfordringId}"),
                        "beloebOere": match.integer(AMOUNT),
                    }
                ],
            },
            content_type="application/json",
        )
        .will_respond_with(202)
        .with_body(RECEIPT, content_type="application/json")
    )
    (
        pact.upon_receiving("DaekningAfskrivning reporting a closed account")
        .given(STATE, PARAMS)
        .with_request("POST", "/daekningafskrivning")
        .with_headers(_callback_headers())
        .with_body(
            {
                "meddelelseId": match.uuid(),
                "debitorkontoId": injected(ACCOUNT_ID, "${debitorkontoId}"),
                "type": "KONTO_LUKKET",
                "dato": date("2026-01-05"),
            },
            content_type="application/json",
        )
        .will_respond_with(202)
        .with_body(RECEIPT, content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        app = factory("debtor")(
            profile="kmd-opus", callback_url=str(srv.url).rstrip("/"), callback_token=CALLBACK_TOKEN
        )
        with ServerThread(app, name="debtor-consumer", log_level="error") as debtor:
            client = SimClient(debtor.url, cvr=COPENHAGEN_CVR)
            try:
                registered = client.post("/debitorkonti", _registration())
                assert registered.status_code == 201, registered.text
                account = client.get(f"/debitorkonti/{ACCOUNT_ID}").json()
                reference = account["fordringer"][0]["delfordringer"][0]["betalingsreference"]
                paid = client.post(
                    "/simulering/bankindbetalinger", {"betalingsreference": reference, "beloebOere": AMOUNT}
                )
                assert paid.status_code == 201, paid.text

                def accepted() -> list[dict[str, Any]]:
                    out = client.journal(operation="callback.DaekningAfskrivning", direction="out")
                    return [e for e in out if e["status"] == 202]

                delivered = wait_until(
                    lambda: accepted() if len(accepted()) >= 2 else None,
                    what="both callbacks accepted by the mock fagsystem",
                )
            finally:
                client.close()
    assert [e["requestBody"]["type"] for e in delivered] == ["DAEKNING", "KONTO_LUKKET"]
    write(pact)
