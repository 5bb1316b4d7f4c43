"""Conformance probes: short HTTP conversations with a debtor system, each citing requirement IDs.

They use only the vendor-facing `oir-debitor-v3` operations and the callback address the harness runs
(the relay), so they work unchanged against a real vendor's test system. Each probe returns a verdict
with the evidence a vendor's engineer needs (the request and the answer), CPR numbers masked. A probe
that cannot be carried out against a vendor's real system (a payment without B_03 needs money to
arrive inside that system) says so: it is reported as not run, never as passed — unless the vendor
declares test control (`oir-testkontrol-v1`): then a day can pass and a bank transfer be booked there,
and a probe of its own checks the test control itself (TC-*).
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from contracts import wire_client
from contracts.identity import mask_cpr_in_text
from contracts.municipalities import Municipality
from contracts.synthetic import SyntheticData
from scenarios.redaction import redact_exchange

from ..callback_relay import CallbackRelay
from ..errors import HarnessError


@dataclass
class ProbeResult:
    name: str
    requirements: list[str]
    passed: bool
    message: str
    evidence: list[str] = field(default_factory=list)
    ran: bool = True  # False: the probe could not be carried out here (the message says why)


TEST_CONTROL_PROBE = "test-control"


class ProbeFailure(HarnessError, AssertionError):
    """A probe saw the system do something the contract forbids."""


class ProbeNotRun(HarnessError):
    """The probe needs something this target does not offer; nothing was judged."""


class DebtorConversation:
    """Requests to one debtor system for one municipality, recording evidence as it goes."""

    def __init__(
        self,
        base_url: str,
        token: str,
        municipality: Municipality,
        session: str,
        exchanges: list[dict[str, Any]] | None = None,
    ) -> None:
        self.municipality = municipality
        self.evidence: list[str] = []
        self.exchanges = exchanges if exchanges is not None else []  # for the HAR evidence of the run
        self.http = httpx.Client(base_url=base_url, timeout=30.0, headers=wire_client.credentials(token, session))

    def headers(self, transaction_id: str | None = None) -> dict[str, str]:
        return wire_client.header_block(
            transaction_id=transaction_id, at=wire_client.FIXED_SENT_AT, cvr=self.municipality.cvr
        )

    def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(kwargs.pop("transaction_id", None)), **kwargs.pop("headers", {})}
        sent = wire_client.exchange(self.http, method, path, body=body, headers=headers, **kwargs)
        response = sent.response
        # evidence: no token, in a header, a body or the URL
        recorded = redact_exchange(sent.record("debtor", headers[wire_client.TRANSACTION_TIME]))
        self.exchanges.append(recorded)
        shown = recorded["response_body"]
        text = "" if shown is None else shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False)
        self.evidence.append(
            mask_cpr_in_text(f"{method} {path} {recorded['request_body']!r} -> {response.status_code} {text[:600]}")
        )
        return response


def _account(data: SyntheticData, amount: int = 12000, product: str = "BIB-GEBYR") -> dict[str, Any]:
    claim = f"CERT-{uuid.uuid4().hex[:12]}"
    return {
        "debitorkontoId": f"K-{claim}",
        "haeftelse": {"cpr": data.cpr(), "navn": "Certificering Testborger"},
        "fordringer": [
            {
                "fordringId": claim,
                "produktkode": product,
                "tekst": "Certificeringsgebyr",
                "stiftelsesdato": "2026-01-05",
                "forfaldsdato": "2026-01-05",
                "delfordringer": [{"delfordringId": f"{claim}-1", "beloebOere": amount, "tekst": "Gebyr"}],
            }
        ],
    }


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ProbeFailure(message)


def probe_registration(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
    body = _account(data)
    created = talk.send("POST", "/debitorkonti", body)
    _expect(created.status_code == 201, f"OpretDebitorkonto answered {created.status_code}, expected 201")
    looked = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}")
    _expect(looked.status_code == 200, f"HentDebitorkonto answered {looked.status_code}")
    _expect(looked.json().get("saldoOere") == 12000, f"balance {looked.json().get('saldoOere')} øre, expected 12000")
    listed = talk.send("POST", "/debitorforespoergsel", {"cpr": body["haeftelse"]["cpr"]})
    _expect(
        listed.status_code == 200
        and [k["debitorkontoId"] for k in listed.json()["debitorkonti"]] == [body["debitorkontoId"]],
        "DebitorForespoergsel did not list exactly the new account",
    )
    return "account registered and visible through B_02 with the right balance"


def probe_retry_is_harmless(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
    body = _account(data)
    transaction = str(uuid.uuid4())
    first = talk.send("POST", "/debitorkonti", body, transaction_id=transaction)
    second = talk.send("POST", "/debitorkonti", body, transaction_id=transaction)
    _expect(first.status_code == 201 and second.status_code in (200, 201), "the retry was not accepted")
    again = talk.send("POST", "/debitorkonti", body)
    _expect(again.status_code in (200, 201), f"the same claim in a new message answered {again.status_code}")
    account = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()
    _expect(
        len(account["fordringer"]) == 1 and account["saldoOere"] == 12000,
        f"{len(account['fordringer'])} claims and {account['saldoOere']} øre after three sends; expected 1 and 12000",
    )
    return "a retried and a resent claim were registered once"


def probe_write_down_and_annul(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
    body = _account(data, 20000)
    talk.send("POST", "/debitorkonti", body)
    path = f"/fordringer/{body['fordringer'][0]['fordringId']}/tilstand"
    down = talk.send(
        "POST",
        path,
        {"handling": "NEDSKRIVNING", "beloebOere": 5000, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
    )
    _expect(down.status_code == 200 and down.json()["saldoOere"] == 15000, "the write-down did not leave 15000 øre")
    over = talk.send(
        "POST",
        path,
        {"handling": "NEDSKRIVNING", "beloebOere": 15001, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
    )
    _expect(over.status_code == 422, f"a write-down below zero answered {over.status_code}, expected 422")
    annul = talk.send("POST", path, {"handling": "ANNULLERING", "virkningsdato": "2026-01-05", "aarsag": "ANDET"})
    _expect(annul.status_code == 200 and annul.json()["saldoOere"] == 0, "the annulment did not leave 0 øre")
    return "write-down, refused over-write-down and annulment behave"


def probe_bad_input(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
    cases = {
        "invalid CPR": {**_account(data), "haeftelse": {"cpr": "3213901234"}},
        "zero amount": _account(data, 0),
        "malformed": "{",
    }
    for name, body in cases.items():
        if body == "{":
            response = talk.send(
                "POST", "/debitorkonti", None, content=b"{", headers={"Content-Type": "application/json"}
            )
        else:
            response = talk.send("POST", "/debitorkonti", body)
        _expect(400 <= response.status_code < 500, f"{name}: answered {response.status_code}, expected 4xx")
        _expect(
            response.headers.get("content-type", "").startswith("application/problem+json")
            and "code" in response.json(),
            f"{name}: the answer is not problem+json with a code",
        )
    missing = talk.http.post("/debitorkonti", json=_account(data))
    _expect(missing.status_code == 400, f"missing header block answered {missing.status_code}, expected 400")
    return "malformed JSON, invalid CPR, zero amount and a missing header block get 4xx problem+json"


def probe_own_accounts_only(
    talk: DebtorConversation, data: SyntheticData, *, neighbour: Municipality | None, **_: Any
) -> str:
    if neighbour is None:
        return "only one municipality: nothing to compare"
    body = _account(data)
    talk.send("POST", "/debitorkonti", body)
    other = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}", headers={"X-Kommune-Cvr": neighbour.cvr})
    _expect(other.status_code in (403, 404), f"another municipality read the account ({other.status_code})")
    return f"{neighbour.name} cannot read {talk.municipality.name}'s account"


def probe_payment_capability(talk: DebtorConversation, data: SyntheticData, *, b03: bool, **_: Any) -> str:
    response = talk.send("POST", "/indbetaling/soeg", {"cpr": data.cpr()})
    if b03:
        _expect(
            response.status_code == 200,
            f"B_03 declared but SoegDelfordringTilIndbetaling answered {response.status_code}",
        )
        return "B_03 is offered, as the profile declares"
    _expect(response.status_code == 404, f"no payment solution declared but B_03 answered {response.status_code}")
    return "no payment solution: B_03 answers 404, as the profile declares"


def probe_payment_reaches_fagsystem(
    talk: DebtorConversation,
    data: SyntheticData,
    *,
    b03: bool,
    inbox: CallbackRelay,
    advance: Callable[[int], bool],
    callback_timeout: float,
    simulated: bool = True,
    test_control: bool = False,
    **_: Any,
) -> str:
    if not b03 and not simulated and not test_control:
        raise ProbeNotRun(
            "without B_03 a payment must arrive inside the vendor's own system (a bank transfer), which the harness "
            "cannot make, so this run does not verify that payments are reported back (B01R-PAYMENT)"
        )
    body = _account(data)
    talk.send("POST", "/debitorkonti", body)
    if not advance(1):  # new claims are payable the day after
        raise ProbeNotRun(
            "the system lives in real time: a claim registered now is payable only tomorrow (B03-NEXT-DAY), "
            "so this run cannot pay it and see the payment reported back (B01R-PAYMENT)"
        )
    claim_id = body["fordringer"][0]["fordringId"]
    if b03:
        payable = talk.send("POST", "/indbetaling/soeg", {"cpr": body["haeftelse"]["cpr"]}).json()["delfordringer"]
        sub = next((p for p in payable if p["fordringId"] == claim_id), None)
        if sub is None:
            raise ProbeFailure("the claim is not payable the day after registration")
        paid = talk.send(
            "POST",
            "/indbetalinger",
            {
                "betalingId": f"P-{uuid.uuid4().hex[:10]}",
                "delfordringer": [{"delfordringId": sub["delfordringId"], "beloebOere": 12000}],
            },
        )
        _expect(paid.status_code == 201, f"ForetagIndbetaling answered {paid.status_code}")
    else:
        account = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()
        reference = account["fordringer"][0]["delfordringer"][0]["betalingsreference"]
        # the citizen's bank transfer: through the vendor's test control, or the simulator's own operation
        where = f"{wire_client.TEST_CONTROL}/bankindbetalinger" if test_control else "/simulering/bankindbetalinger"
        paid = talk.send("POST", where, {"betalingsreference": reference, "beloebOere": 12000})
        _expect(paid.status_code == 201, f"the bank transfer ({where}) answered {paid.status_code}")
    advance(4)  # past a nightly batch and a weekend
    found = inbox.wait_for(lambda m: m.get("fordringId") == claim_id and m.get("type") == "DAEKNING", callback_timeout)
    _expect(bool(found), "no DAEKNING callback reached the fagsystem")
    _expect(
        sum(m["beloebOere"] for m in {m["meddelelseId"]: m for m in found}.values()) == 12000,
        "the callbacks do not add up to the 12000 øre paid",
    )
    return "the payment reached the fagsystem as one DAEKNING of 12000 øre"


def _anonymous(talk: DebtorConversation, method: str, path: str, body: Any = None) -> httpx.Response:
    """A request without the bearer token, recorded as evidence like the others."""
    with httpx.Client(base_url=talk.http.base_url, timeout=30.0) as bare:
        sent = wire_client.exchange(bare, method, path, body=body, headers=talk.headers())
    talk.evidence.append(f"{method} {path} (no token) -> {sent.response.status_code}")
    return sent.response


def _is_problem(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/problem+json") and bool(
        response.json().get("code")
    )


def probe_test_control(
    talk: DebtorConversation,
    data: SyntheticData,
    *,
    inbox: CallbackRelay,
    callback_timeout: float,
    follow_psrm: Callable[[datetime], None],
    reminder_after_days: int,
    **_: Any,
) -> str:
    """Test control (oir-testkontrol-v1) as a vendor declares it: authenticated, a business date that only
    moves forward, moving it runs the system's jobs on their own days, a bank transfer is booked, and what
    the system sent is listed once, CPR masked."""
    tc = wire_client.TEST_CONTROL
    for method, path, payload in (
        ("GET", f"{tc}/forretningsdato", None),
        ("POST", f"{tc}/forretningsdato/frem", {"dage": 1}),
    ):
        refused = _anonymous(talk, method, path, payload)
        _expect(refused.status_code == 401, f"{method} {path} without the token answered {refused.status_code}")
        _expect(_is_problem(refused), f"{method} {path} without the token: not a problem+json with a code")
    today = talk.send("GET", f"{tc}/forretningsdato")
    _expect(today.status_code == 200, f"HentForretningsdato answered {today.status_code}")
    start = datetime.fromisoformat(today.json()["tidspunkt"])
    _expect(today.json()["forretningsdato"] == start.date().isoformat(), "the business date is not the instant's date")
    back = talk.send("POST", f"{tc}/forretningsdato/frem", {"tilDato": (start.date() - timedelta(days=1)).isoformat()})
    _expect(back.status_code == 409 and _is_problem(back), f"a move back in time answered {back.status_code}")
    again = talk.send("GET", f"{tc}/forretningsdato").json()["tidspunkt"]
    _expect(again == today.json()["tidspunkt"], "the business date moved although no move was accepted")

    body = _account(data)
    _expect(talk.send("POST", "/debitorkonti", body).status_code == 201, "OpretDebitorkonto did not create the account")
    claim_id = body["fordringer"][0]["fordringId"]
    account = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()["fordringer"][0]
    reference = account["delfordringer"][0]["betalingsreference"]
    paid = talk.send("POST", f"{tc}/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 5000})
    _expect(paid.status_code == 201, f"BogfoerBankindbetaling answered {paid.status_code}")
    _expect(paid.json().get("restOere") == 7000, f"after 5000 of 12000 øre the rest is {paid.json().get('restOere')}")

    # the first reminder falls due on its own date after SRB: moving past it must have sent it on that date
    reminder_on = date.fromisoformat(account["sidsteRettidigeBetalingsdato"]) + timedelta(days=reminder_after_days)
    target = datetime.combine(reminder_on + timedelta(days=1), start.timetz())
    follow_psrm(target)  # PSRM first: a handover the system makes on the way finds PSRM on that day or later
    moved = talk.send("POST", f"{tc}/forretningsdato/frem", {"tilDato": target.date().isoformat()})
    _expect(moved.status_code == 200, f"FremrykForretningsdato answered {moved.status_code}")
    _expect(moved.json()["forretningsdato"] == target.date().isoformat(), "the business date did not reach its target")
    view = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()["fordringer"][0]
    reminders = [r["dato"] for r in view.get("rykkere", [])]
    _expect(
        reminders[:1] == [reminder_on.isoformat()],
        f"moving the date past {reminder_on} did not send the first reminder on that date: {reminders}",
    )
    found = inbox.wait_for(lambda m: m.get("fordringId") == claim_id and m.get("type") == "DAEKNING", callback_timeout)
    _expect(bool(found), "the bank transfer's DAEKNING callback never reached the fagsystem")
    sent = talk.send("GET", f"{tc}/afsendt", params={"modtager": "FAGSYSTEM", "fordringId": claim_id})
    _expect(sent.status_code == 200, f"HentAfsendteMeddelelser answered {sent.status_code}")
    payments = [m for m in sent.json()["meddelelser"] if (m.get("krop") or {}).get("type") == "DAEKNING"]
    _expect(len(payments) == 1, f"the DAEKNING is listed {len(payments)} times as sent, not once")
    _expect(
        payments[0]["krop"].get("meddelelseId") in {m.get("meddelelseId") for m in found},
        "the DAEKNING listed as sent is not the one the fagsystem received",
    )
    _expect(body["haeftelse"]["cpr"] not in sent.text, "the list of sent messages shows a CPR number unmasked")
    return (
        f"test control: business date {start.date()} only moves forward; moved to {target.date()}, the first "
        f"reminder went out on {reminder_on}; a bank transfer was booked and its DAEKNING listed as sent once"
    )


PROBES: list[tuple[str, list[str], Callable[..., str]]] = [
    ("registration", ["B01-CREATE-ACCOUNT", "B02-LIST", "B02-LOOKUP", "MSG-HEADER-BLOCK"], probe_registration),
    ("retry-harmless", ["MSG-RETRY-HARMLESS", "B01-CLAIM-ONCE"], probe_retry_is_harmless),
    ("write-down-annul", ["B01-WRITE-DOWN", "B01-ANNUL"], probe_write_down_and_annul),
    ("bad-input", ["MSG-PROBLEM-JSON", "ID-CPR-FORMAT", "MSG-MONEY-OERE", "MSG-HEADER-BLOCK"], probe_bad_input),
    ("own-accounts-only", ["B01-OWN-ACCOUNTS-ONLY"], probe_own_accounts_only),
    (
        "payment-capability",
        ["PROFILE-B03-CAPABILITY", "B03-ABSENT-NO-PAY-BUTTON", "B03-SEARCH"],
        probe_payment_capability,
    ),
    ("payment-callback", ["B01R-PAYMENT", "B03-PAY", "B03-NEXT-DAY"], probe_payment_reaches_fagsystem),
    # only where test control is offered: the harness's own simulator, or a vendor that declares it
    (
        TEST_CONTROL_PROBE,
        ["TC-AUTH", "TC-BUSINESS-DATE", "TC-ADVANCE-RUNS-JOBS", "TC-BANK-TRANSFER", "TC-SENT-MESSAGES"],
        probe_test_control,
    ),
]


def run_probes(
    talk_factory: Callable[[], DebtorConversation],
    *,
    progress: Callable[[str], None] | None = None,
    data_salt: int = 0,
    **context: Any,
) -> list[ProbeResult]:
    """Run every probe. Each makes its people from a seed of its own, mixed with `data_salt`: 0 replays
    the same people (a simulator starts empty each session); a vendor's real system keeps earlier
    runs' accounts, so a run against one salts its people to meet no earlier run's."""
    results = []
    for name, requirements, probe in PROBES:
        if name == TEST_CONTROL_PROBE and not context.get("offers_test_control"):
            continue  # a vendor that does not declare test control is not judged on it
        if progress:
            progress(name)
        talk = talk_factory()
        try:
            message = probe(talk, SyntheticData(seed=zlib.crc32(name.encode()) ^ data_salt), **context)
            results.append(ProbeResult(name, requirements, True, message, talk.evidence))
        except ProbeFailure as failure:
            results.append(ProbeResult(name, requirements, False, str(failure), talk.evidence))
        except ProbeNotRun as reason:
            results.append(ProbeResult(name, requirements, False, str(reason), talk.evidence, ran=False))
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            results.append(ProbeResult(name, requirements, False, f"{type(exc).__name__}: {exc}", talk.evidence))
        finally:
            talk.http.close()
    return results
