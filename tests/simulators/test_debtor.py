"""The debtor simulator over real HTTP: ØiR v3 semantics, the five profiles, callbacks, faults, bad input."""

from __future__ import annotations

import uuid

import httpx
import pytest
from starlette.testclient import TestClient

from contracts.municipalities import by_code, for_vendor
from contracts.profile import PROFILE_NAMES, load_profile
from contracts.synthetic import SyntheticData
from simulators import factory
from simulators.kernel import Principal
from tests.support.claims import account, claim, new_id
from tests.support.client import SimClient, wait_until
from tests.support.fagsystem import Receiver

PEOPLE = SyntheticData(seed=2026)
KK = by_code("101")  # København, KMD Opus
assert KK is not None


def cpr() -> str:
    return PEOPLE.cpr()


def register(client: SimClient, body: dict, **kwargs: object) -> httpx.Response:
    response = client.post("/debitorkonti", body, **kwargs)  # type: ignore[arg-type]
    assert response.status_code in (200, 201), response.text
    return response


def lookup(client: SimClient, account_id: str, cvr: str | None = None) -> dict:
    response = client.get(f"/debitorkonti/{account_id}", cvr=cvr)
    assert response.status_code == 200, response.text
    return response.json()


def cvr_of(profile: str) -> str:
    return for_vendor(profile)[0].cvr


# ---- B_01 registration ---------------------------------------------------------------------------
def test_registration_creates_account_and_b02_shows_it(opus: SimClient) -> None:
    person = cpr()
    body = account(person, claim(12000), claim(45000, product="BIB-ERSTATNING", parts=[36000, 9000]))
    created = register(opus, body)
    assert created.status_code == 201 and created.json()["oprettet"] is True
    konto = lookup(opus, body["debitorkontoId"])
    assert konto["saldoOere"] == 57000
    assert [f["saldoOere"] for f in konto["fordringer"]] == [12000, 45000]
    assert konto["fordringer"][1]["delfordringer"][1]["oprindeligtBeloebOere"] == 9000
    listed = opus.post("/debitorforespoergsel", {"cpr": person}).json()["debitorkonti"]
    assert [k["debitorkontoId"] for k in listed] == [body["debitorkontoId"]]
    assert len(opus.journal("OpretDebitorkonto")) == 1


def test_a_retry_with_the_same_transaction_id_registers_once(opus: SimClient) -> None:
    body = account(cpr(), claim(12000))
    transaction = str(uuid.uuid4())
    first = register(opus, body, transaction_id=transaction)
    again = register(opus, body, transaction_id=transaction)
    assert again.headers["x-oir-replay"] == "true" and again.json() == first.json()
    other = opus.post("/debitorkonti", account(cpr(), claim(500)), transaction_id=transaction)
    assert other.status_code == 409 and other.json()["code"] == "OIR-409-TRANSACTION-ID-REUSED"
    assert lookup(opus, body["debitorkontoId"])["saldoOere"] == 12000


def test_a_claim_sent_twice_is_one_claim_and_other_content_is_refused(opus: SimClient) -> None:
    person, fee = cpr(), claim(12000)
    body = account(person, fee)
    register(opus, body)
    second = register(opus, body)  # a new transaction carrying the same claim
    assert second.status_code == 200 and second.json()["fordringer"][0]["ny"] is False
    changed = account(
        person,
        {**fee, "delfordringer": [{**fee["delfordringer"][0], "beloebOere": 99}]},
        account_id=body["debitorkontoId"],
    )
    conflict = opus.post("/debitorkonti", changed)
    assert conflict.status_code == 409 and conflict.json()["code"] == "OIR-409-CLAIM-EXISTS"
    assert len(lookup(opus, body["debitorkontoId"])["fordringer"]) == 1


def test_unknown_product_is_a_business_rejection(opus: SimClient) -> None:
    response = opus.post("/debitorkonti", account(cpr(), claim(12000, product="UKENDT-PRODUKT")))
    assert response.status_code == 422
    assert response.json()["code"] == "OIR-422-UNKNOWN-PRODUCT"
    assert "BIB-GEBYR" in response.json()["detail"]


def test_write_down_then_annulment_closes_the_account(opus: SimClient, receiver: tuple[Receiver, str]) -> None:
    fee = claim(20000)
    body = account(cpr(), fee)
    register(opus, body)
    path = f"/fordringer/{fee['fordringId']}/tilstand"
    down = opus.post(
        path,
        {"handling": "NEDSKRIVNING", "beloebOere": 5000, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
    )
    assert down.status_code == 200 and down.json()["saldoOere"] == 15000
    too_much = opus.post(
        path,
        {"handling": "NEDSKRIVNING", "beloebOere": 15001, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
    )
    assert too_much.status_code == 422 and too_much.json()["code"] == "OIR-422-WRITE-DOWN-EXCEEDS"
    annul = opus.post(path, {"handling": "ANNULLERING", "virkningsdato": "2026-01-06", "aarsag": "ANDET"})
    assert annul.status_code == 200 and annul.json()["status"] == "ANNULLERET" and annul.json()["saldoOere"] == 0
    konto = lookup(opus, body["debitorkontoId"])
    assert konto["status"] == "LUKKET" and konto["fordringer"][0]["nedskrevetOere"] == 20000
    rec, _ = receiver
    closed = wait_until(
        lambda: [m for m in rec.messages("KONTO_LUKKET") if m["debitorkontoId"] == body["debitorkontoId"]],
        what="KONTO_LUKKET callback",
    )
    assert len(closed) == 1
    after = opus.post(path, {"handling": "ANNULLERING", "virkningsdato": "2026-01-06", "aarsag": "ANDET"})
    assert after.status_code == 409 and after.json()["code"] == "OIR-409-CLAIM-CLOSED"


def test_liable_party_change_moves_the_account_to_the_new_cpr(opus: SimClient) -> None:
    old, new = cpr(), cpr()
    body = account(old, claim(12000))
    register(opus, body)
    changed = opus.post(
        f"/debitorkonti/{body['debitorkontoId']}/haeftelse",
        {"nyHaeftelse": {"cpr": new}, "virkningsdato": "2026-01-10"},
    )
    assert changed.status_code == 200
    assert changed.json()["haeftelse"]["cpr"] == new and changed.json()["tidligereHaeftelser"][0]["til"] == "2026-01-10"
    assert opus.post("/debitorforespoergsel", {"cpr": old}).json()["debitorkonti"] == []
    assert len(opus.post("/debitorforespoergsel", {"cpr": new}).json()["debitorkonti"]) == 1


# ---- reminders, fees and interest on virtual time --------------------------------------------------
def test_reminders_with_fees_and_interest_follow_the_profile(opus: SimClient) -> None:
    body = account(cpr(), claim(12000))  # registered 2026-01-05: SRB = 30 days later, 2026-02-04
    register(opus, body)
    opus.set_clock("2026-02-18T09:00:00+01:00")
    first = lookup(opus, body["debitorkontoId"])["fordringer"][0]
    assert first["sidsteRettidigeBetalingsdato"] == "2026-02-04"
    assert first["rykkere"] == [{"nummer": 1, "dato": "2026-02-18", "gebyrOere": 0}]
    assert first["saldoOere"] == 12000
    opus.set_clock("2026-03-10T09:00:00+01:00")
    second = lookup(opus, body["debitorkontoId"])["fordringer"][0]
    assert [r["gebyrOere"] for r in second["rykkere"]] == [0, 10000]  # 100 kr on a fee
    assert second["renterOere"] == 99  # 12,000 øre × 10.10 % × 30/365, rounded down
    assert second["saldoOere"] == 12000 + 10000 + 99
    kinds = [d["art"] for d in second["delfordringer"]]
    assert kinds.count("RYKKERGEBYR") == 1 and kinds.count("RENTE") == 1


def test_a_replacement_claim_gets_the_higher_reminder_fee(opus: SimClient) -> None:
    body = account(cpr(), claim(45000, product="BIB-ERSTATNING"))
    register(opus, body)
    opus.advance(days=70)
    assert lookup(opus, body["debitorkontoId"])["fordringer"][0]["rykkergebyrerOere"] == 25000


def test_a_payment_hold_pauses_reminders_until_the_next_bank_day_after_it_and_counts_on_from_there(
    opus: SimClient,
) -> None:
    """Betalingsstandsning until Maundy Thursday 2026-04-02: no reminder while it holds (without it the first
    is due 2026-02-18); its payment deadline is the next bank day, Tuesday 2026-04-07 (Good Friday, Easter
    and Easter Monday are closed), and the first reminder 14 days after that, 2026-04-21."""
    body = account(cpr(), claim(12000))
    register(opus, body)
    claim_id = body["fordringer"][0]["fordringId"]
    held = opus.post(f"/fordringer/{claim_id}/tilstand", {"handling": "BETALINGSSTANDSNING", "tilDato": "2026-04-02"})
    assert held.status_code == 200, held.text
    opus.set_clock("2026-04-07T09:00:00+02:00")
    during = lookup(opus, body["debitorkontoId"])["fordringer"][0]
    assert during["rykkere"] == [] and during["inddrivelse"] == "IKKE_OVERDRAGET"
    assert during["betalingsstandsning"] == {"fra": "2026-01-05", "til": "2026-04-02"}
    opus.set_clock("2026-04-20T09:00:00+02:00")
    assert lookup(opus, body["debitorkontoId"])["fordringer"][0]["rykkere"] == []
    opus.set_clock("2026-04-21T09:00:00+02:00")
    after = lookup(opus, body["debitorkontoId"])["fordringer"][0]
    assert after["rykkere"] == [{"nummer": 1, "dato": "2026-04-21", "gebyrOere": 0}]
    assert "betalingsstandsning" not in after


def test_a_hold_without_end_holds_until_lifted_and_a_lift_without_hold_is_a_conflict(opus: SimClient) -> None:
    body = account(cpr(), claim(12000))
    register(opus, body)
    claim_id = body["fordringer"][0]["fordringId"]
    path = f"/fordringer/{claim_id}/tilstand"
    assert opus.post(path, {"handling": "BETALINGSSTANDSNING", "aarsag": "INDSIGELSE"}).status_code == 200
    opus.set_clock("2026-03-31T09:00:00+02:00")  # Tuesday; without the hold two reminders would have gone
    held = lookup(opus, body["debitorkontoId"])["fordringer"][0]
    assert held["rykkere"] == [] and held["betalingsstandsning"]["aarsag"] == "INDSIGELSE"
    assert "til" not in held["betalingsstandsning"]
    assert opus.post(path, {"handling": "OPHAEV_BETALINGSSTANDSNING"}).status_code == 200
    again = opus.post(path, {"handling": "OPHAEV_BETALINGSSTANDSNING"})
    assert again.status_code == 409 and again.json()["code"] == "OIR-409-NO-PAYMENT-HOLD"
    opus.set_clock("2026-04-14T09:00:00+02:00")  # the deadline is the lifting day; 14 days later, reminder 1
    assert lookup(opus, body["debitorkontoId"])["fordringer"][0]["rykkere"] == [
        {"nummer": 1, "dato": "2026-04-14", "gebyrOere": 0}
    ]
    past = opus.post(path, {"handling": "BETALINGSSTANDSNING", "tilDato": "2026-04-01"})
    assert past.status_code == 422 and past.json()["code"] == "OIR-422-DATES"


# ---- B_03 and payments -----------------------------------------------------------------------------
def test_b03_shows_claims_the_day_after_and_a_payment_reaches_the_fagsystem(
    opus: SimClient, receiver: tuple[Receiver, str]
) -> None:
    person, fee = cpr(), claim(12000)
    body = account(person, fee)
    register(opus, body)
    assert opus.post("/indbetaling/soeg", {"cpr": person}).json()["delfordringer"] == []
    opus.advance(days=1)
    payable = opus.post("/indbetaling/soeg", {"cpr": person}).json()["delfordringer"]
    assert [(p["fordringId"], p["restOere"]) for p in payable] == [(fee["fordringId"], 12000)]
    payment = {
        "betalingId": new_id("B"),
        "delfordringer": [{"delfordringId": payable[0]["delfordringId"], "beloebOere": 5000}],
    }
    paid = opus.post("/indbetalinger", payment)
    assert paid.status_code == 201 and paid.json()["delfordringer"][0]["restOere"] == 7000
    again = opus.post("/indbetalinger", payment)
    assert again.json()["beloebOere"] == 5000
    over = opus.post(
        "/indbetalinger",
        {
            "betalingId": new_id("B"),
            "delfordringer": [{"delfordringId": payable[0]["delfordringId"], "beloebOere": 7001}],
        },
    )
    assert over.status_code == 422 and over.json()["code"] == "OIR-422-OVERPAYMENT"
    assert lookup(opus, body["debitorkontoId"])["fordringer"][0]["indbetaltOere"] == 5000
    rec, _ = receiver
    paid_msgs = wait_until(
        lambda: [m for m in rec.messages("DAEKNING") if m.get("fordringId") == fee["fordringId"]],
        what="DAEKNING callback",
    )
    assert [(m["beloebOere"], m["kilde"], m["_cvr"]) for m in paid_msgs] == [(5000, "B03", KK.cvr)]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_b03_exists_exactly_where_the_profile_has_a_payment_solution(debtors: dict[str, str], profile: str) -> None:
    client = SimClient(debtors[profile], cvr=cvr_of(profile))
    response = client.post("/indbetaling/soeg", {"cpr": cpr()})
    if load_profile(profile).capabilities.b03_payment:
        assert response.status_code == 200
    else:
        assert response.status_code == 404 and response.json()["code"] == "OIR-404-NO-PAYMENT-SOLUTION"
    assert profile in ("kmd-opus", "prisme-2015-betaling") or response.status_code == 404


@pytest.mark.parametrize("profile", ["kmd-opus", "prisme-2015", "eg"])
def test_bank_transfer_payments_reach_the_fagsystem_at_once_in_real_time_profiles(
    debtors: dict[str, str], receiver: tuple[Receiver, str], profile: str
) -> None:
    client = SimClient(debtors[profile], cvr=cvr_of(profile))
    fee = claim(30000)
    body = account(cpr(), fee)
    register(client, body)
    reference = lookup(client, body["debitorkontoId"])["fordringer"][0]["delfordringer"][0]["betalingsreference"]
    paid = client.post("/simulering/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 30000})
    assert paid.status_code == 201 and paid.json()["restOere"] == 0
    rec, _ = receiver
    kinds = wait_until(
        lambda: (
            {m["type"] for m in rec.messages() if m["debitorkontoId"] == body["debitorkontoId"]}
            >= {"DAEKNING", "KONTO_LUKKET"}
            and {m["type"] for m in rec.messages() if m["debitorkontoId"] == body["debitorkontoId"]}
        ),
        what="payment and closure callbacks",
    )
    assert kinds == {"DAEKNING", "KONTO_LUKKET"}
    assert lookup(client, body["debitorkontoId"])["fordringer"][0]["status"] == "BETALT"


def test_prisme_2009_delivers_payment_notices_in_the_nightly_batch_on_the_next_business_day(
    debtors: dict[str, str], receiver: tuple[Receiver, str]
) -> None:
    client = SimClient(debtors["prisme-2009"], cvr=cvr_of("prisme-2009"))
    client.set_clock("2026-01-09T10:00:00+01:00")  # a Friday
    body = account(cpr(), claim(30000, on="2026-01-09"))
    register(client, body)
    reference = lookup(client, body["debitorkontoId"])["fordringer"][0]["delfordringer"][0]["betalingsreference"]
    client.post("/simulering/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 10000})
    rec, _ = receiver
    client.advance(hours=24)  # Saturday: nothing yet
    assert not [m for m in rec.messages() if m["debitorkontoId"] == body["debitorkontoId"]]
    client.set_clock("2026-01-12T09:00:00+01:00")  # Monday
    delivered = [m for m in rec.messages("DAEKNING") if m["debitorkontoId"] == body["debitorkontoId"]]
    assert [m["beloebOere"] for m in delivered] == [10000]
    sent = [e for e in client.journal("callback.DaekningAfskrivning", "out") if e["status"] == 202]
    assert [e["at"] for e in sent] == ["2026-01-12T02:00:00+01:00"]


def test_a_failed_callback_is_retried_until_delivered_once(opus: SimClient, receiver: tuple[Receiver, str]) -> None:
    rec, _ = receiver
    fee = claim(8000)
    body = account(cpr(), fee)
    register(opus, body)
    reference = lookup(opus, body["debitorkontoId"])["fordringer"][0]["delfordringer"][0]["betalingsreference"]
    rec.fail_next = 2
    opus.post("/simulering/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 2000})
    wait_until(lambda: rec.fail_next == 1, what="first delivery attempt")
    opus.advance(minutes=10)  # backoff 1 min, then 5 min
    mine = [m for m in rec.received if m.get("fordringId") == fee["fordringId"]]
    assert [m["beloebOere"] for m in mine] == [2000]
    attempts = [e["status"] for e in opus.journal("callback.DaekningAfskrivning", "out")]
    assert attempts == [503, 503, 202]


def test_callback_faults_drop_and_duplicate(opus: SimClient, receiver: tuple[Receiver, str]) -> None:
    rec, _ = receiver
    body = account(cpr(), claim(9000, parts=[3000, 3000, 3000]))
    register(opus, body)
    subs = lookup(opus, body["debitorkontoId"])["fordringer"][0]["delfordringer"]
    opus.fault(operation="callback.DaekningAfskrivning", kind="drop_callback", count=1)
    opus.post(
        "/simulering/bankindbetalinger", {"betalingsreference": subs[0]["betalingsreference"], "beloebOere": 3000}
    )
    opus.fault(operation="callback.DaekningAfskrivning", kind="duplicate_callback", count=1)
    opus.post(
        "/simulering/bankindbetalinger", {"betalingsreference": subs[1]["betalingsreference"], "beloebOere": 3000}
    )
    wait_until(
        lambda: len([m for m in rec.received if m["debitorkontoId"] == body["debitorkontoId"]]) == 2,
        what="the duplicated callback",
    )
    delivered = [m for m in rec.received if m["debitorkontoId"] == body["debitorkontoId"]]
    assert delivered[0]["meddelelseId"] == delivered[1]["meddelelseId"]
    assert [d["delfordringer"][0]["delfordringId"] for d in delivered] == [subs[1]["delfordringId"]] * 2
    outbox = opus.http.get("/simulering/callbacks", headers=opus.headers()).json()["callbacks"]
    assert all(c["leveret"] for c in outbox) and len(outbox) == 2


# ---- who may do what ---------------------------------------------------------------------------
def test_a_municipality_of_another_vendor_is_refused(opus: SimClient) -> None:
    other = for_vendor("eg")[0]
    response = opus.post("/debitorkonti", account(cpr(), claim(12000)), cvr=other.cvr)
    assert response.status_code == 422 and response.json()["code"] == "OIR-422-MUNICIPALITY-NOT-SERVED"


def test_a_fagsystem_sees_only_its_own_municipality_s_accounts(opus: SimClient) -> None:
    body = account(cpr(), claim(12000))
    register(opus, body)
    neighbour = next(m for m in for_vendor("kmd-opus") if m.cvr != KK.cvr)
    response = opus.get(f"/debitorkonti/{body['debitorkontoId']}", cvr=neighbour.cvr)
    assert response.status_code == 403 and response.json()["code"] == "OIR-403-NOT-OWN-ACCOUNT"


def test_credentials_bound_to_a_municipality_cannot_act_for_another() -> None:
    aarhus = by_code("751")
    assert aarhus is not None
    app = factory("debtor")(
        profile=aarhus.vendor,
        serve_all_municipalities=True,
        tokens={"aarhus-token": Principal("aarhus", frozenset({aarhus.cvr}))},
    )
    with TestClient(app) as http:

        def send(cvr: str) -> httpx.Response:
            return http.post(
                "/debitorkonti",
                json=account(cpr(), claim(100)),
                headers={
                    "Authorization": "Bearer aarhus-token",
                    "X-Transaktion-Id": str(uuid.uuid4()),
                    "X-Transaktion-Tid": "2026-01-05T09:00:00+01:00",
                    "X-Kommune-Cvr": cvr,
                },
            )

        assert send(aarhus.cvr).status_code == 201
        refused = send(KK.cvr)
        assert refused.status_code == 403 and refused.json()["code"] == "OIR-403-MUNICIPALITY-NOT-ALLOWED"


def test_two_sessions_never_see_each_other(debtors: dict[str, str]) -> None:
    first, second = SimClient(debtors["kmd-opus"]), SimClient(debtors["kmd-opus"])
    body = account(cpr(), claim(12000))
    register(first, body)
    assert second.get(f"/debitorkonti/{body['debitorkontoId']}").status_code == 404
    assert second.journal("OpretDebitorkonto") == []
    assert len(first.journal("OpretDebitorkonto")) == 1
    first.advance(days=10)
    assert first.now() != second.now()


# ---- faults on requests --------------------------------------------------------------------------
def test_injected_503s_then_recovery(opus: SimClient) -> None:
    opus.fault(operation="OpretDebitorkonto", kind="error", status=503, count=2)
    body = account(cpr(), claim(12000))
    statuses = [opus.post("/debitorkonti", body).status_code for _ in range(3)]
    assert statuses == [503, 503, 201]
    assert lookup(opus, body["debitorkontoId"])["saldoOere"] == 12000


def test_an_injected_drop_closes_the_connection_mid_answer(opus: SimClient) -> None:
    opus.fault(operation="HentDebitorkonto", kind="drop", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        opus.get("/debitorkonti/nothing")
    assert opus.get("/debitorkonti/nothing").status_code == 404


def test_an_injected_timeout_holds_the_request_past_the_client_s_patience(opus: SimClient) -> None:
    opus.fault(operation="HentDebitorkonto", kind="timeout", latency_ms=3000, count=1)
    with pytest.raises(httpx.TimeoutException):
        opus.http.get("/debitorkonti/nothing", headers=opus.headers(), timeout=0.5)
    assert opus.get("/debitorkonti/nothing").status_code == 404
    assert [r["fired"] for r in opus.http.get("/_sim/faults").json()["rules"]] == [1]


# ---- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda b: b.update(fordringer="nope"), 400, "OIR-400-VALIDATION"),
        (lambda b: b["haeftelse"].update(cpr="3213901234"), 400, "OIR-400-INVALID-CPR"),
        (lambda b: b["haeftelse"].update(cpr="01019012"), 400, "OIR-400-INVALID-CPR"),
        (lambda b: b["fordringer"][0]["delfordringer"][0].update(beloebOere=0), 400, "OIR-400-INVALID-AMOUNT"),
        (lambda b: b["fordringer"][0]["delfordringer"][0].update(beloebOere=-100), 400, "OIR-400-INVALID-AMOUNT"),
        (lambda b: b["fordringer"][0]["delfordringer"][0].update(beloebOere="100"), 400, "OIR-400-INVALID-AMOUNT"),
        (lambda b: b["fordringer"][0]["delfordringer"][0].update(beloebOere=100.5), 400, "OIR-400-INVALID-AMOUNT"),
        (lambda b: b.update(haeftelse={"cvr": "12345678"}), 422, "OIR-422-INVALID-CVR"),
        (lambda b: b["fordringer"][0].update(stiftelsesdato="05-01-2026"), 400, "OIR-400-VALIDATION"),
        (lambda b: b.update(extra=1), 400, "OIR-400-VALIDATION"),
    ],
    ids=[
        "wrong-type",
        "impossible-cpr",
        "short-cpr",
        "zero-amount",
        "negative-amount",
        "string-amount",
        "fractional-oere",
        "cvr-check-digit",
        "date-format",
        "unknown-field",
    ],
)
def test_bad_bodies_get_a_problem_with_a_code(opus: SimClient, mutate, status: int, code: str) -> None:
    body = account(cpr(), claim(12000))
    mutate(body)
    response = opus.post("/debitorkonti", body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_malformed_json_missing_header_block_and_unknown_municipality(opus: SimClient) -> None:
    malformed = opus.http.post(
        "/debitorkonti", content=b'{"debitorkontoId": ', headers={**opus.headers(), "Content-Type": "application/json"}
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, "OIR-400-MALFORMED-JSON")
    no_block = opus.http.post("/debitorkonti", json=account(cpr(), claim(100)))
    assert (no_block.status_code, no_block.json()["code"]) == (400, "OIR-400-HEADER-BLOCK")
    unknown = opus.post("/debitorkonti", account(cpr(), claim(100)), cvr="12345674")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "OIR-400-UNKNOWN-MUNICIPALITY")
    no_token = httpx.post(
        str(opus.http.base_url.join("/debitorkonti")), json=account(cpr(), claim(100)), headers=opus.headers()
    )
    assert (no_token.status_code, no_token.json()["code"]) == (401, "OIR-401-UNAUTHENTICATED")
    assert not [e for e in opus.journal() if (e["status"] or 0) >= 500]


def test_the_journal_masks_cpr_numbers(opus: SimClient) -> None:
    person = cpr()
    register(opus, account(person, claim(100)))
    text = str(opus.journal("OpretDebitorkonto")) + str(opus.state())
    assert person not in text and f"{person[:6]}-xxxx" in text


def test_the_journal_shows_what_was_exchanged_as_json_and_a_broken_body_as_text(opus: SimClient) -> None:
    person = cpr()
    body = account(person, claim(100))
    answer = register(opus, body).json()
    broken = opus.http.post(
        "/debitorkonti", content=b'{"debitorkontoId": ', headers={**opus.headers(), "Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    entries = opus.journal("OpretDebitorkonto")
    assert entries[0]["requestBody"] == {**body, "haeftelse": {**body["haeftelse"], "cpr": f"{person[:6]}-xxxx"}}
    assert entries[0]["responseBody"] == answer
    assert entries[1]["requestBody"] == {"_raw": '{"debitorkontoId": '}
    assert entries[1]["responseBody"]["code"] == "OIR-400-MALFORMED-JSON"


def test_the_500_misbehaviour_answers_bad_input_500_in_its_own_session_only(debtors: dict[str, str]) -> None:
    broken, sound = SimClient(debtors["kmd-opus"]), SimClient(debtors["kmd-opus"])
    broken.settings(misbehaviour="error_500_on_bad_input")

    def malformed(client: SimClient) -> int:
        return client.http.post(
            "/debitorkonti", content=b"{", headers={**client.headers(), "Content-Type": "application/json"}
        ).status_code

    assert (malformed(broken), malformed(sound)) == (500, 400)
    assert register(broken, account(cpr(), claim(100))).status_code == 201  # good input is still served


# ---- the profiles ----------------------------------------------------------------------------------
def test_the_profiles_differ_exactly_where_the_domain_says() -> None:
    baseline = load_profile("kmd-opus").model_dump()
    identity = {"name", "vendor", "product", "municipalities", "notes", "quirks"}
    differences = {}
    for name in PROFILE_NAMES:
        profile = load_profile(name).model_dump()
        differences[name] = {k for k in profile if profile[k] != baseline[k]} - identity
    assert differences == {
        "kmd-opus": set(),
        "prisme-2015-betaling": {"answer_time_limit_s"},  # only Opus waits at most 5 minutes
        "prisme-2015": {"capabilities", "answer_time_limit_s"},  # no payment solution
        "prisme-2009": {"capabilities", "callbacks", "answer_time_limit_s"},  # and a nightly batch (modelled)
        "eg": {"capabilities", "answer_time_limit_s"},
    }
    assert load_profile("kmd-opus").answer_time_limit_s == 300
    assert load_profile("prisme-2009").callbacks.mode == "nightly_batch"
    assert [load_profile(p).capabilities.b03_payment for p in PROFILE_NAMES] == [True, True, False, False, False]
    assert [load_profile(p).municipalities for p in PROFILE_NAMES] == [len(for_vendor(p)) for p in PROFILE_NAMES]
