"""Test control (`oir-testkontrol-v1`) on the debtor simulator, its reference implementation: reached the
way certification reaches a vendor's test system — the simulator wrapped as a real system (no `/_sim/`,
no sessions) — authenticated like the debtor API, refusing with problem+json, moving the business date
with the system's own jobs on each day, booking bank transfers, and listing what the system sent."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contracts.municipalities import by_code, for_vendor
from contracts.synthetic import SyntheticData
from harness.servers import ServerThread
from simulators import factory
from tests.support.claims import account, claim
from tests.support.client import wait_until
from tests.support.fagsystem import TOKEN, Receiver
from tests.support.misbehaving import AsARealSystem

PEOPLE = SyntheticData(seed=1414)
KK = by_code("101")  # København, KMD Opus
assert KK is not None
TC = "/testkontrol"


class Vendor:
    """A wrapped debtor simulator, talked to as certification talks to a vendor: no session, no `/_sim/`."""

    def __init__(self, url: str, cvr: str, token: str = "oir-dev-token") -> None:
        self.cvr = cvr
        self.http = httpx.Client(base_url=url, timeout=20.0, headers={"Authorization": f"Bearer {token}"})

    def block(self) -> dict[str, str]:
        return {
            "X-Transaktion-Id": str(uuid.uuid4()),
            "X-Transaktion-Tid": "2026-01-05T09:00:00+01:00",
            "X-Kommune-Cvr": self.cvr,
        }

    def post(self, path: str, body: Any, *, block: bool = True) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.block() if block else {})

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, headers=self.block(), params=params)

    def today(self) -> str:
        return self.get(f"{TC}/forretningsdato").raise_for_status().json()["forretningsdato"]

    def forward(self, **body: Any) -> httpx.Response:
        return self.post(f"{TC}/forretningsdato/frem", body, block=False)

    def register(self, *claims: dict[str, Any]) -> dict[str, Any]:
        body = account(PEOPLE.cpr(), *claims)
        assert self.post("/debitorkonti", body).status_code == 201
        return body

    def claim_view(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.get(f"/debitorkonti/{body['debitorkontoId']}").raise_for_status().json()["fordringer"][0]

    def sent(self, **params: Any) -> list[dict[str, Any]]:
        return self.get(f"{TC}/afsendt", **params).raise_for_status().json()["meddelelser"]


@pytest.fixture(scope="module")
def psrm_server() -> Iterator[str]:
    with ServerThread(factory("psrm")(), name="psrm-tc") as server:
        yield server.url


def _vendor(profile: str, receiver: tuple[Receiver, str], psrm_url: str, **settings: Any) -> ServerThread:
    app = factory("debtor")(
        profile=profile, psrm_url=psrm_url, callback_url=receiver[1], callback_token=TOKEN, **settings
    )
    return ServerThread(AsARealSystem(app), name=f"vendor-{profile}-tc")


@pytest.fixture
def opus(receiver: tuple[Receiver, str], psrm_server: str) -> Iterator[Vendor]:
    """A fresh KMD Opus test system per test: its business date starts on 2026-01-05 and only moves forward."""
    with _vendor("kmd-opus", receiver, psrm_server) as server:
        client = Vendor(server.url, KK.cvr)  # type: ignore[union-attr]
        yield client
        client.http.close()


def test_every_test_control_operation_refuses_a_caller_without_the_token_with_a_problem(opus: Vendor) -> None:
    calls = [
        ("GET", f"{TC}/forretningsdato", None),
        ("POST", f"{TC}/forretningsdato/frem", {"dage": 1}),
        ("POST", f"{TC}/bankindbetalinger", {"betalingsreference": "X", "beloebOere": 100}),
        ("GET", f"{TC}/afsendt", None),
    ]
    base = str(opus.http.base_url)
    for token in (None, "not-the-token"):
        headers = {**opus.block(), **({"Authorization": f"Bearer {token}"} if token else {})}
        for method, path, body in calls:
            answer = httpx.request(method, base + path, json=body, headers=headers, timeout=10)
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["code"] == "OIR-401-UNAUTHENTICATED"
    assert opus.today() == "2026-01-05"  # nothing moved
    # the simulator's own control plane is not there: test control lives beside it
    assert opus.http.get("/_sim/clock").status_code == 404
    assert opus.http.get(f"{TC}/openapi.json").json()["info"]["title"].startswith("ØiR test control")


def test_the_business_date_only_moves_forward_and_bad_moves_are_problems(opus: Vendor) -> None:
    moved = opus.forward(dage=3)
    assert moved.status_code == 200, moved.text
    assert moved.json()["forretningsdato"] == "2026-01-08" and moved.json()["dage"] == 3
    assert opus.today() == "2026-01-08"
    assert opus.forward(tilDato="2026-01-12").json()["tidspunkt"] == "2026-01-12T09:00:00+01:00"
    for body, status, code in [
        ({"tilDato": "2026-01-11"}, 409, "OIR-409-DATE-BACKWARDS"),
        ({"til": "2026-01-12T08:59:00+01:00"}, 409, "OIR-409-DATE-BACKWARDS"),
        ({"dage": 1, "tilDato": "2026-02-01"}, 400, "OIR-400-VALIDATION"),
        ({}, 400, "OIR-400-VALIDATION"),
        ({"dage": 0}, 400, "OIR-400-VALIDATION"),
        ({"dage": "1"}, 400, "OIR-400-VALIDATION"),
        ({"tilDato": "2028-01-12"}, 422, "OIR-422-DATE-TOO-FAR"),
    ]:
        answer = opus.forward(**body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == code
    assert opus.today() == "2026-01-12"


def test_moving_the_date_runs_each_day_s_jobs_in_order(opus: Vendor) -> None:
    body = opus.register(claim(12000))  # SRB 2026-02-04; reminders 02-18 and 03-10; interest from SRB
    assert opus.forward(tilDato="2026-02-17").json()["jobKoert"] == 0
    assert opus.claim_view(body)["rykkere"] == []
    jumped = opus.forward(dage=21).json()  # to 2026-03-10 in one call: both reminders, each on its own date
    assert jumped["forretningsdato"] == "2026-03-10" and jumped["jobKoert"] >= 3
    view = opus.claim_view(body)
    assert [(r["dato"], r["gebyrOere"]) for r in view["rykkere"]] == [("2026-02-18", 0), ("2026-03-10", 10000)]
    assert view["renterOere"] == 99  # 12,000 øre × 10.10 % × 30/365 for 02-04..03-06, rounded down
    assert view["saldoOere"] == 12000 + 10000 + 99


def test_a_bank_transfer_is_booked_and_the_callbacks_it_causes_are_listed_as_sent_once(
    opus: Vendor, receiver: tuple[Receiver, str]
) -> None:
    fee = claim(30000)
    body = opus.register(fee)
    reference = opus.claim_view(body)["delfordringer"][0]["betalingsreference"]
    paid = opus.post(f"{TC}/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 10000})
    assert paid.status_code == 201, paid.text
    assert paid.json()["restOere"] == 20000
    assert opus.claim_view(body)["indbetaltOere"] == 10000
    rec, _ = receiver
    wait_until(lambda: [m for m in rec.messages("DAEKNING") if m["fordringId"] == fee["fordringId"]], what="DAEKNING")
    sent = wait_until(lambda: opus.sent(modtager="FAGSYSTEM", fordringId=fee["fordringId"]), what="sent list")
    assert [(m["operation"], m["status"], m["krop"]["type"], m["krop"]["beloebOere"]) for m in sent] == [
        ("callback.DaekningAfskrivning", 202, "DAEKNING", 10000)
    ]
    assert opus.sent(modtager="PSRM", fordringId=fee["fordringId"]) == []
    for bad, status, code in [
        ({"betalingsreference": "NO-SUCH-REF", "beloebOere": 100}, 404, "OIR-404-PAYMENT-REFERENCE"),
        ({"betalingsreference": reference, "beloebOere": 0}, 400, "OIR-400-INVALID-AMOUNT"),
    ]:
        answer = opus.post(f"{TC}/bankindbetalinger", bad)
        assert answer.status_code == status and answer.json()["code"] == code, answer.text
    headerless = opus.post(f"{TC}/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 1}, block=False)
    assert headerless.status_code == 400 and headerless.headers["content-type"].startswith("application/problem+json")


def test_a_bank_transfer_on_an_annulled_claim_is_held_for_refund_and_reported(
    opus: Vendor, receiver: tuple[Receiver, str]
) -> None:
    """Before: 422 OIR-422-CLAIM-NOT-PAYABLE, and the citizen's money had no way back to the fagsystem."""
    fee = claim(12000)
    body = opus.register(fee)
    reference = opus.claim_view(body)["delfordringer"][0]["betalingsreference"]
    annul = {"handling": "ANNULLERING", "virkningsdato": opus.today(), "aarsag": "ANDET"}
    assert opus.post(f"/fordringer/{fee['fordringId']}/tilstand", annul).status_code == 200
    paid = opus.post(f"{TC}/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 12000})
    assert paid.status_code == 201, paid.text
    view = opus.claim_view(body)
    assert (view["status"], view["saldoOere"], view["indbetaltOere"]) == ("ANNULLERET", 0, 12000)
    more = opus.post(f"{TC}/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 1})
    assert (more.status_code, more.json()["code"]) == (422, "OIR-422-OVERPAYMENT")
    sent = wait_until(lambda: opus.sent(modtager="FAGSYSTEM", fordringId=fee["fordringId"]), what="sent list")
    assert [(m["krop"]["type"], m["krop"]["beloebOere"]) for m in sent] == [("DAEKNING", 12000)]


def test_the_handover_to_psrm_is_listed_once_with_cpr_masked(opus: Vendor, psrm_server: str) -> None:
    body = opus.register(claim(45000, product="BIB-ERSTATNING-ANERKENDT", acknowledged=True))
    cpr = body["haeftelse"]["cpr"]
    psrm = httpx.Client(base_url=psrm_server, headers={"Authorization": "Bearer oir-dev-token"}, timeout=10)
    # the harness moves PSRM (its default session: the vendor sends none) with the vendor's business date
    psrm.put("/_sim/clock", json={"now": "2026-01-05T09:00:00+01:00"})
    for _ in range(184):  # handover on 2026-07-08 (SRB, two reminders, 120 days' notice)
        psrm.post("/_sim/clock/advance", json={"days": 1}).raise_for_status()
        opus.forward(dage=1).raise_for_status()
    psrm.close()
    [handover] = opus.sent(
        modtager="PSRM", operation="MFFordringIndberet", fordringId=body["fordringer"][0]["fordringId"]
    )
    assert handover["status"] == 200 and handover["tidspunkt"].startswith("2026-07-08")
    assert cpr not in str(handover["krop"]) and cpr[:6] in str(handover["krop"])  # masked DDMMYY-xxxx
    assert opus.claim_view(body)["inddrivelse"] != "IKKE_OVERDRAGET"


def test_drop_every_second_callback_keeps_the_second_one_from_the_wire_and_from_the_sent_list(
    receiver: tuple[Receiver, str], psrm_server: str
) -> None:
    with _vendor("eg", receiver, psrm_server, misbehaviour="drop_every_second_callback") as server:
        eg = Vendor(server.url, for_vendor("eg")[0].cvr)
        fee = claim(30000)
        body = eg.register(fee)
        reference = eg.claim_view(body)["delfordringer"][0]["betalingsreference"]
        for _ in range(3):
            eg.post(f"{TC}/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 1000}).raise_for_status()
            eg.forward(dage=1).raise_for_status()  # the callback runs
        rec, _ = receiver
        arrived = wait_until(
            lambda: len([m for m in rec.messages("DAEKNING") if m["fordringId"] == fee["fordringId"]]) == 2 or None,
            what="two of three DAEKNING callbacks",
        )
        assert arrived
        sent = eg.sent(modtager="FAGSYSTEM", fordringId=fee["fordringId"])
        assert len(sent) == 2  # the second payment's callback never left, and is not listed as sent
        eg.http.close()
