"""The citizen payment solution over HTTP, in front of a real KMD Opus and a real EG debtor simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contracts.municipalities import by_code, for_vendor
from contracts.synthetic import SyntheticData
from harness.servers import ServerThread
from simulators import factory
from simulators.kernel import Principal
from tests.support.claims import account, claim, new_id
from tests.support.client import SimClient

PEOPLE = SyntheticData(seed=5)
KK = by_code("101")
EG = for_vendor("eg")[0]
assert KK is not None


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, str]]:
    opus = ServerThread(factory("debtor")(profile="kmd-opus"), name="opus").start()
    eg = ServerThread(factory("debtor")(profile="eg"), name="eg").start()
    payment = ServerThread(factory("payment")(debtor_url_kmd_opus=opus.url, debtor_url_eg=eg.url), name="pay").start()
    yield {"opus": opus.url, "eg": eg.url, "payment": payment.url}
    for server in (payment, eg, opus):
        server.stop()


def test_a_citizen_sees_and_pays_their_claims_where_there_is_a_payment_solution(world: dict[str, str]) -> None:
    debtor = SimClient(world["opus"])
    payment = SimClient(world["payment"], debtor.session)
    person = PEOPLE.cpr()
    body = account(person, claim(12000), claim(30000, product="BIB-ERSTATNING"))
    assert debtor.post("/debitorkonti", body).status_code == 201
    assert payment.post("/betalingsoverblik", {"cpr": person}).json()["poster"] == []  # shown the day after
    debtor.advance(days=1)
    payment.advance(days=1)
    overview = payment.post("/betalingsoverblik", {"cpr": person}).json()
    assert overview["betalingsloesning"] is True and overview["kommune"] == "København"
    assert sorted(p["restOere"] for p in overview["poster"]) == [12000, 30000]
    fee = next(p for p in overview["poster"] if p["restOere"] == 12000)
    paid = payment.post(
        "/betalinger",
        {
            "cpr": person,
            "betalingId": new_id("B"),
            "delfordringer": [{"delfordringId": fee["delfordringId"], "beloebOere": 12000}],
        },
    )
    assert paid.status_code == 201 and paid.json()["beloebOere"] == 12000
    account_after = debtor.get(f"/debitorkonti/{body['debitorkontoId']}").json()
    assert [f["status"] for f in account_after["fordringer"]] == ["BETALT", "AKTIV"]
    assert len(debtor.journal("ForetagIndbetaling")) == 1


def test_a_citizen_cannot_pay_someone_else_s_claim(world: dict[str, str]) -> None:
    debtor = SimClient(world["opus"])
    payment = SimClient(world["payment"], debtor.session)
    owner, other = PEOPLE.cpr(), PEOPLE.cpr()
    body = account(owner, claim(5000))
    debtor.post("/debitorkonti", body)
    for client in (debtor, payment):
        client.advance(days=1)
    sub_id = body["fordringer"][0]["delfordringer"][0]["delfordringId"]
    refused = payment.post(
        "/betalinger",
        {"cpr": other, "betalingId": new_id("B"), "delfordringer": [{"delfordringId": sub_id, "beloebOere": 5000}]},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "OIR-403-NOT-YOUR-CLAIM"
    assert debtor.journal("ForetagIndbetaling") == []


def test_without_a_payment_solution_the_citizen_is_told_plainly(world: dict[str, str]) -> None:
    payment = SimClient(world["payment"], cvr=EG.cvr)
    overview = payment.post("/betalingsoverblik", {"cpr": PEOPLE.cpr()}).json()
    assert overview["betalingsloesning"] is False and overview["poster"] == []
    assert "bankoverførsel" in overview["besked"]
    refused = payment.post(
        "/betalinger",
        {
            "cpr": PEOPLE.cpr(),
            "betalingId": new_id("B"),
            "delfordringer": [{"delfordringId": "X-1", "beloebOere": 100}],
        },
    )
    assert refused.status_code == 422 and refused.json()["code"] == "OIR-422-NO-PAYMENT-SOLUTION"
    assert SimClient(world["eg"], payment.session).journal() == []  # the EG system was never asked


def test_a_vendor_s_own_credentials_are_used_at_its_debtor_system() -> None:
    """A vendor's real system takes its own token; the payment solution sends it there and only there."""
    opus = ServerThread(
        factory("debtor")(profile="kmd-opus", tokens={"opus-secret": Principal("opus")}), name="opus-own-token"
    ).start()
    try:
        payment = factory("payment")(debtor_url_kmd_opus=opus.url)
        with ServerThread(payment, name="pay-token") as pay:
            client = SimClient(pay.url)
            refused = client.post("/betalingsoverblik", {"cpr": PEOPLE.cpr()})
            assert refused.json()["code"] == "OIR-401-UNAUTHENTICATED"  # the dev token is refused there
            client.settings(debtor_token_kmd_opus="opus-secret")
            accepted = client.post("/betalingsoverblik", {"cpr": PEOPLE.cpr()})
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["poster"] == []
    finally:
        opus.stop()
