"""Conformance probes: short HTTP conversations with a debtor system, each citing requirement IDs.

They use only the vendor-facing `oir-debitor-v3` operations and the callback address the harness runs
(the relay), so they work unchanged against a real vendor's test system. Each probe returns a verdict
with the evidence a vendor's engineer needs (the request and the answer), CPR numbers masked. A probe
that cannot be carried out against a vendor's real system (a payment without B_03 needs money to
arrive inside that system) says so: it is reported as not run, never as passed — unless the vendor
declares test control (`oir-testkontrol-v1`): then a day can pass and a bank transfer be booked there,
and a probe of its own checks the test control itself (TC-*).

A probe that needs the next business day — against a vendor's system without test control, a claim
registered today is payable through B_03 only tomorrow — can do its part today and park (`ProbeWaiting`
with a `Parked`: the ids it needs, what it expects, when it resumes; never a CPR). The certification
session (sessions.py) keeps it, and `oir certify --resume` runs its second half (`resume_probes`).
Who is to blame is kept apart: a probe that saw the system break a rule, or that got no answer from it
(an HTTP error), failed; an exception in the probe's own code (a KeyError on an answer it did not check,
say) is an ERROR of the harness — no verdict on the system, never a pass — and says where it broke.
Evidence is JSON (what curl would send), and each probe keeps its own exchanges (redacted) so a report
can show the request that failed as a curl line.
"""

from __future__ import annotations

import json
import traceback
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from contracts import wire_client
from contracts.identity import mask_cpr, mask_cpr_in_text
from contracts.municipalities import Municipality
from contracts.synthetic import SyntheticData
from scenarios.redaction import redact_exchange

from ..callback_relay import CallbackRelay
from ..errors import HarnessError


@dataclass
class Parked:
    """What a probe that did its part today leaves for its second half on the next bank day."""

    stage: str  # which second half resumes it (SECOND_HALVES)
    needs: dict[str, Any]  # ids, references, amounts, a masked CPR: never an unmasked one
    expects: str  # what the second half will check, in words
    resume_at: str = ""  # RFC 3339: the next bank day's business hours (sessions.resume_time)


@dataclass
class ProbeResult:
    name: str
    requirements: list[str]
    passed: bool
    message: str
    evidence: list[str] = field(default_factory=list)
    ran: bool = True  # False: the probe could not be carried out here (the message says why)
    waiting: Parked | None = None  # parked: it resumes in the session (never a pass meanwhile)
    error: bool = False  # True: the probe's own code broke (a harness error, not the system's failure)
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # its requests and answers, redacted
    # failed, where the probe said which rule broke: what the failure is evidence against (None: all it
    # cites) and the rest, which the probe stopped before judging (neither verified nor failed by it)
    blamed: list[str] | None = None
    unproven: list[str] = field(default_factory=list)


TEST_CONTROL_PROBE = "test-control"


class ProbeFailure(HarnessError, AssertionError):
    """A probe saw the system do something the contract forbids. `blames`: the requirements of the rule it
    saw broken, when the probe says which (None: every requirement the probe cites)."""

    def __init__(self, message: str, blames: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.blames = blames


class ProbeNotRun(HarnessError):
    """The probe needs something this target does not offer; nothing was judged."""


class ProbeWaiting(HarnessError):
    """The probe did its part and needs the next business day for the rest; nothing was judged yet."""

    def __init__(self, parked: Parked) -> None:
        super().__init__(f"waiting until {parked.resume_at}: {parked.expects}")
        self.parked = parked


class DebtorConversation:
    """Requests to one debtor system for one municipality, recording evidence as it goes."""

    def __init__(
        self,
        base_url: str,
        token: str,
        municipality: Municipality,
        session: str,
        exchanges: list[dict[str, Any]] | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`timeout`: how long to wait for each answer (certification: what the profile allows);
        `transport`: e.g. one that times every call (latency.TimingTransport)."""
        self.municipality = municipality
        self.evidence: list[str] = []
        self.exchanges = exchanges if exchanges is not None else []  # for the HAR evidence of the run
        self.own: list[dict[str, Any]] = []  # this conversation's exchanges alone (a failure's curl line)
        self.http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            headers=wire_client.credentials(token, session),
            transport=transport,
            verify=wire_client.tls(),
        )
        # the same system, with no credentials of its own: for calls with another token, or none
        self.anonymous = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            headers=wire_client.credentials(None, session),
            transport=transport,
            verify=wire_client.tls(),
        )

    def headers(self, transaction_id: str | None = None) -> dict[str, str]:
        return wire_client.header_block(
            transaction_id=transaction_id, at=wire_client.FIXED_SENT_AT, cvr=self.municipality.cvr
        )

    def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        """One call for the conversation's municipality. `omit` leaves headers of the header block out;
        `as_token` sends another bearer token instead of the conversation's (None: no Authorization)."""
        omit = {name.lower() for name in kwargs.pop("omit", ())}
        headers = {**self.headers(kwargs.pop("transaction_id", None)), **kwargs.pop("headers", {})}
        headers = {name: value for name, value in headers.items() if name.lower() not in omit}
        http = self.http
        if "as_token" in kwargs:
            other = kwargs.pop("as_token")
            http = self.anonymous
            headers.update(wire_client.credentials(other))
        raw = kwargs.get("content")
        sent = wire_client.exchange(http, method, path, body=body, headers=headers, **kwargs)
        response = sent.response
        # evidence: no token, in a header, a body or the URL
        recorded = redact_exchange(
            sent.record("debtor", headers.get(wire_client.TRANSACTION_TIME, wire_client.FIXED_SENT_AT))
        )
        if body is None and isinstance(raw, bytes):  # sent as it is (malformed JSON on purpose)
            recorded["request_body"] = raw.decode("utf-8", "replace")
        self.exchanges.append(recorded)
        self.own.append(recorded)
        self.evidence.append(mask_cpr_in_text(evidence_line(recorded, path)))
        return response


def _json_text(value: Any) -> str:
    """A body as a person pastes it: JSON (not Python's repr), a raw text as it was."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def evidence_line(exchange: dict[str, Any], path: str) -> str:
    """`POST /debitorkonti {"cpr": …} -> 422 {"code": …}`: the request and the answer, in JSON."""
    request = _json_text(exchange["request_body"])
    answer = _json_text(exchange["response_body"])
    sent = f"{exchange['method']} {path} {request}".rstrip()
    return f"{sent} -> {exchange['status']} {answer[:600]}".rstrip()


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


def _expect(condition: bool, message: str, blames: tuple[str, ...] | None = None) -> None:
    if not condition:
        raise ProbeFailure(message, blames)


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


def _same_answer(first: httpx.Response, second: httpx.Response) -> bool:
    """Did a retry get the first answer again (status and body)?"""
    return first.status_code == second.status_code and first.content == second.content


def probe_retry_is_harmless(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
    body = _account(data)
    transaction = str(uuid.uuid4())
    first = talk.send("POST", "/debitorkonti", body, transaction_id=transaction)
    second = talk.send("POST", "/debitorkonti", body, transaction_id=transaction)
    _expect(first.status_code == 201 and second.status_code in (200, 201), "the retry was not accepted")
    _expect(_same_answer(first, second), "OpretDebitorkonto: the retry did not get the first answer again")
    again = talk.send("POST", "/debitorkonti", body)
    _expect(again.status_code in (200, 201), f"the same claim in a new message answered {again.status_code}")
    account = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()
    _expect(
        len(account["fordringer"]) == 1 and account["saldoOere"] == 12000,
        f"{len(account['fordringer'])} claims and {account['saldoOere']} øre after three sends; expected 1 and 12000",
    )
    # every other write operation: its retry changes nothing and gets the first answer
    claim = body["fordringer"][0]["fordringId"]
    down = {"handling": "NEDSKRIVNING", "beloebOere": 2000, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"}
    liable = {"nyHaeftelse": {"cpr": data.cpr(), "navn": "Certificering Ny"}, "virkningsdato": "2026-01-05"}
    for operation, path, message in (
        ("RetFordringTilstand", f"/fordringer/{claim}/tilstand", down),
        ("AendrHaeftelse", f"/debitorkonti/{body['debitorkontoId']}/haeftelse", liable),
    ):
        transaction = str(uuid.uuid4())
        first = talk.send("POST", path, message, transaction_id=transaction)
        _expect(first.status_code == 200, f"{operation} answered {first.status_code}, expected 200")
        second = talk.send("POST", path, message, transaction_id=transaction)
        _expect(_same_answer(first, second), f"{operation}: the retry did not get the first answer again")
    account = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()
    _expect(
        account["saldoOere"] == 10000,
        f"{account['saldoOere']} øre after a write-down of 2000 øre and its retry; expected 10000",
    )
    return "a retried and a resent claim were registered once; a retried write-down or liability change changed nothing"


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
    looked = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()["fordringer"][0]
    _expect(looked["saldoOere"] == 15000, f"after the write-down the claim shows {looked['saldoOere']} øre, not 15000")
    annul = talk.send("POST", path, {"handling": "ANNULLERING", "virkningsdato": "2026-01-05", "aarsag": "ANDET"})
    _expect(annul.status_code == 200 and annul.json()["saldoOere"] == 0, "the annulment did not leave 0 øre")
    looked = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()["fordringer"][0]
    _expect(
        looked["status"] == "ANNULLERET" and looked["saldoOere"] == 0,
        f"after the annulment the claim is {looked['status']} with {looked['saldoOere']} øre; expected ANNULLERET, 0",
    )
    return "write-down, refused over-write-down and annulment behave, as a look-up confirms"


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
    account, claim = body["debitorkontoId"], body["fordringer"][0]["fordringId"]
    theirs = {"X-Kommune-Cvr": neighbour.cvr}
    other = talk.send("GET", f"/debitorkonti/{account}", headers=theirs)
    if other.status_code not in (403, 404):
        asked = f"{neighbour.name} (CVR {neighbour.cvr}) asked for {talk.municipality.name}'s account"
        if other.is_success:
            raise ProbeFailure(f"{asked} and read it ({other.status_code}): it must be refused with 403 or 404")
        raise ProbeFailure(
            f"{asked} and was answered {other.status_code}{_problem_code(other)}: it was not let in, but the "
            "contract answers another municipality's account with 403 or 404"
        )
    listed = talk.send("POST", "/debitorforespoergsel", {"cpr": body["haeftelse"]["cpr"]}, headers=theirs)
    _expect(
        listed.status_code in (200, 403, 404)
        and account not in [k.get("debitorkontoId") for k in (listed.json().get("debitorkonti") or [])],
        f"another municipality's DebitorForespoergsel listed the account ({listed.status_code})",
    )
    down = {"handling": "NEDSKRIVNING", "beloebOere": 1000, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"}
    written = talk.send("POST", f"/fordringer/{claim}/tilstand", down, headers=theirs)
    _expect(written.status_code in (403, 404), f"another municipality wrote the claim down ({written.status_code})")
    liable = {"nyHaeftelse": {"cpr": data.cpr(), "navn": "Fremmed Kommune"}, "virkningsdato": "2026-01-05"}
    changed = talk.send("POST", f"/debitorkonti/{account}/haeftelse", liable, headers=theirs)
    _expect(changed.status_code in (403, 404), f"another municipality changed the liable party ({changed.status_code})")
    ours = talk.send("GET", f"/debitorkonti/{account}").json()
    _expect(
        ours["saldoOere"] == 12000 and ours["haeftelse"].get("cpr") == body["haeftelse"]["cpr"],
        "another municipality's calls changed the account",
    )
    return f"{neighbour.name} can neither read, list, write down nor change {talk.municipality.name}'s account"


def _problem_code(response: httpx.Response) -> str:
    """` (OIR-…)`: the problem code of an answer, if it has one."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return ""
    return f" ({code})" if code else ""


def probe_payment_capability(talk: DebtorConversation, data: SyntheticData, *, b03: bool, **_: Any) -> str:
    response = talk.send("POST", "/indbetaling/soeg", {"cpr": data.cpr()})
    if b03:
        _expect(
            response.status_code == 200,
            f"B_03 declared but SoegDelfordringTilIndbetaling answered {response.status_code}",
        )
        _expect(
            isinstance(response.json().get("delfordringer"), list),
            "SoegDelfordringTilIndbetaling answered without its list of payable sub-claims (delfordringer)",
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
    park_until: str = "",
    **_: Any,
) -> str:
    """Register a claim, pay it the next day (B_03, or the simulator's bank transfer) and see the
    payment reported back. Against a vendor's system the next day is real: with `park_until` the probe
    parks until then (its second half is `resume_payment_reaches_fagsystem`)."""
    arrived_before = len(inbox.messages)
    if not b03 and not simulated and not test_control:
        raise ProbeNotRun(
            "without B_03 a payment must arrive inside the vendor's own system (a bank transfer), which the harness "
            "cannot make, so this run does not verify that payments are reported back (B01R-PAYMENT); waiting for "
            "the next business day does not help either: without test control no machine can book a citizen's "
            "bank transfer in the vendor's system"
        )
    body = _account(data)
    created = talk.send("POST", "/debitorkonti", body)
    _expect(created.status_code == 201, f"OpretDebitorkonto answered {created.status_code}, expected 201")
    claim_id = body["fordringer"][0]["fordringId"]
    if not advance(1):  # new claims are payable the day after
        if park_until:  # b03 here: a waiting session pays it through B_03 on the next bank day
            raise ProbeWaiting(
                Parked(
                    stage="pay-next-day",
                    needs={
                        "debitorkontoId": body["debitorkontoId"],
                        "fordringId": claim_id,
                        "beloebOere": 12000,
                        # the citizen is made again from the probe's synthetic-data seed: no CPR is stored
                        "cpr": mask_cpr(body["haeftelse"]["cpr"]),
                    },
                    expects=(
                        f"claim {claim_id} is payable through B_03 on the next bank day (B03-NEXT-DAY); paid with "
                        "ForetagIndbetaling (B03-PAY), the payment reaches the fagsystem as DAEKNING callbacks "
                        "adding up to 12000 øre (B01R-PAYMENT)"
                    ),
                    resume_at=park_until,
                )
            )
        raise ProbeNotRun(
            "the system lives in real time: a claim registered now is payable only tomorrow (B03-NEXT-DAY), "
            "so this run cannot pay it and see the payment reported back (B01R-PAYMENT); a certification session "
            "that waits (without --no-wait) completes it with `oir certify --resume SESSION` on the next bank day"
        )
    if b03:
        _pay_through_b03(talk, body["haeftelse"]["cpr"], claim_id)
    else:
        account = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()
        reference = account["fordringer"][0]["delfordringer"][0]["betalingsreference"]
        # the citizen's bank transfer: through the vendor's test control, or the simulator's own operation
        where = f"{wire_client.TEST_CONTROL}/bankindbetalinger" if test_control else "/simulering/bankindbetalinger"
        paid = talk.send("POST", where, {"betalingsreference": reference, "beloebOere": 12000})
        _expect(paid.status_code == 201, f"the bank transfer ({where}) answered {paid.status_code}")
    advance(4)  # past a nightly batch and a weekend
    return _see_payment_reported(inbox, claim_id, callback_timeout, arrived_before)


def _pay_through_b03(talk: DebtorConversation, cpr: str, claim_id: str) -> None:
    payable = talk.send("POST", "/indbetaling/soeg", {"cpr": cpr}).json()["delfordringer"]
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


def _see_payment_reported(inbox: CallbackRelay, claim_id: str, callback_timeout: float, arrived_before: int = 0) -> str:
    found = inbox.wait_for(lambda m: m.get("fordringId") == claim_id and m.get("type") == "DAEKNING", callback_timeout)
    _expect(
        bool(found),
        f"no DAEKNING callback for claim {claim_id} within {callback_timeout:g} s: {inbox.describe(arrived_before)} "
        "in that time (the relay's journal: evidence/callbacks.json)",
    )
    _expect(
        sum(m["beloebOere"] for m in {m["meddelelseId"]: m for m in found}.values()) == 12000,
        "the callbacks do not add up to the 12000 øre paid",
    )
    return "the payment reached the fagsystem as one DAEKNING of 12000 øre"


def resume_payment_reaches_fagsystem(
    talk: DebtorConversation,
    data: SyntheticData,
    parked: Parked,
    *,
    inbox: CallbackRelay,
    callback_timeout: float,
    **_: Any,
) -> str:
    """The second half, on the next bank day: pay the claim registered yesterday through B_03 and see
    the payment reported back to the callback relay (listening again on the same address)."""
    cpr = data.cpr()  # the same seed makes the same citizen the first half registered
    _expect(
        mask_cpr(cpr) == parked.needs.get("cpr"),
        "the citizen made again from the session's seed is not the one registered (the session was altered?)",
    )
    claim_id = str(parked.needs["fordringId"])
    arrived_before = len(inbox.messages)
    _pay_through_b03(talk, cpr, claim_id)
    message = _see_payment_reported(inbox, claim_id, callback_timeout, arrived_before)
    return f"{message}, after waiting a bank day: the claim was payable the day after registration"


def _operations(body: dict[str, Any], data: SyntheticData, b03: bool) -> list[tuple[str, str, str, Any]]:
    """One well-formed call of every vendor-facing operation, on the registered account `body`:
    (operation, method, path, body). A new account for OpretDebitorkonto, so an accepted call shows."""
    account, claim = body["debitorkontoId"], body["fordringer"][0]
    calls: list[tuple[str, str, str, Any]] = [
        ("OpretDebitorkonto", "POST", "/debitorkonti", _account(data)),
        ("HentDebitorkonto", "GET", f"/debitorkonti/{account}", None),
        ("DebitorForespoergsel", "POST", "/debitorforespoergsel", {"cpr": body["haeftelse"]["cpr"]}),
        (
            "RetFordringTilstand",
            "POST",
            f"/fordringer/{claim['fordringId']}/tilstand",
            {
                "handling": "NEDSKRIVNING",
                "beloebOere": 100,
                "virkningsdato": "2026-01-05",
                "aarsag": "AENDRET_GRUNDLAG",
            },
        ),
        (
            "AendrHaeftelse",
            "POST",
            f"/debitorkonti/{account}/haeftelse",
            {"nyHaeftelse": {"cpr": data.cpr(), "navn": "Certificering Ny"}, "virkningsdato": "2026-01-05"},
        ),
    ]
    if b03:
        sub = claim["delfordringer"][0]["delfordringId"]
        calls += [
            ("SoegDelfordringTilIndbetaling", "POST", "/indbetaling/soeg", {"cpr": body["haeftelse"]["cpr"]}),
            (
                "ForetagIndbetaling",
                "POST",
                "/indbetalinger",
                {
                    "betalingId": f"P-{uuid.uuid4().hex[:10]}",
                    "delfordringer": [{"delfordringId": sub, "beloebOere": 100}],
                },
            ),
        ]
    return calls


def _is_problem(response: httpx.Response) -> bool:
    try:
        return response.headers.get("content-type", "").startswith("application/problem+json") and bool(
            response.json().get("code")
        )
    except ValueError:
        return False


def _unchanged(talk: DebtorConversation, body: dict[str, Any], new_account: str | None = None) -> None:
    """The registered account as it was, and (if named) the account a refused OpretDebitorkonto named absent."""
    ours = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()
    _expect(
        ours["saldoOere"] == 12000 and ours["haeftelse"].get("cpr") == body["haeftelse"]["cpr"],
        f"refused calls changed the account ({ours['saldoOere']} øre)",
    )
    if new_account:
        absent = talk.send("GET", f"/debitorkonti/{new_account}")
        _expect(absent.status_code == 404, f"a refused OpretDebitorkonto registered its account ({absent.status_code})")


def _refused(response: httpx.Response, *, allowed: tuple[int, ...] = (400,)) -> bool:
    """Refused as a breach of the contract (`allowed`); a 5xx is a refusal too, whose form is judged
    under MSG-PROBLEM-JSON (the problem-json probe), not by the rule the message broke."""
    return response.status_code in allowed or response.status_code >= 500


def probe_header_block(talk: DebtorConversation, data: SyntheticData, *, b03: bool, **_: Any) -> str:
    body = _account(data)
    talk.send("POST", "/debitorkonti", body)
    for operation, method, path, message in _operations(body, data, b03):
        for header in (wire_client.TRANSACTION_ID, wire_client.TRANSACTION_TIME):
            response = talk.send(method, path, message, omit=(header,))
            _expect(_refused(response), f"{operation} without {header} answered {response.status_code}, expected 400")
    _unchanged(talk, body)
    return "every operation refuses a message without its transaction id or time"


def probe_municipality_cvr(talk: DebtorConversation, data: SyntheticData, *, b03: bool, **_: Any) -> str:
    body = _account(data)
    talk.send("POST", "/debitorkonti", body)
    for operation, method, path, message in _operations(body, data, b03):
        for shown, cvr in (("without X-Kommune-Cvr", None), ("with a CVR no municipality has", "10000009")):
            if cvr is None:
                response = talk.send(method, path, message, omit=(wire_client.MUNICIPALITY_CVR,))
            else:
                response = talk.send(method, path, message, headers={wire_client.MUNICIPALITY_CVR: cvr})
            _expect(
                _refused(response, allowed=(400, 403, 422)),
                f"{operation} {shown} answered {response.status_code}, expected 400, 403 or 422",
            )
    _unchanged(talk, body)
    return "every operation refuses a message that does not name one of the municipalities by CVR"


def probe_problem_everywhere(talk: DebtorConversation, data: SyntheticData, *, b03: bool, **_: Any) -> str:
    body = _account(data)
    talk.send("POST", "/debitorkonti", body)
    for operation, method, path, _message in _operations(body, data, b03):
        if method == "GET":
            response = talk.send(method, path.rsplit("/", 1)[0] + "/ikke et gyldigt id!")
        else:
            response = talk.send(method, path, None, content=b"{", headers={"Content-Type": "application/json"})
        _expect(
            400 <= response.status_code < 500 and _is_problem(response),
            f"{operation} with malformed input answered {response.status_code}"
            + ("" if _is_problem(response) else " without a problem+json body with a code")
            + ", expected a 4xx problem",
        )
    return "every operation answers malformed input with a 4xx problem+json carrying a code"


UNKNOWN_TOKEN = "not-a-token-this-system-issued"


def probe_credentials(talk: DebtorConversation, data: SyntheticData, *, b03: bool, **_: Any) -> str:
    body = _account(data)
    talk.send("POST", "/debitorkonti", body)
    calls = _operations(body, data, b03)
    for operation, method, path, message in calls:
        for shown, token in (("without a token", None), ("with a token it never issued", UNKNOWN_TOKEN)):
            response = talk.send(method, path, message, as_token=token)
            _expect(response.status_code == 401, f"{operation} {shown} answered {response.status_code}, expected 401")
    _unchanged(talk, body, new_account=calls[0][3]["debitorkontoId"])
    return "every operation refuses a call without a token or with an unknown one (401), and nothing changed"


def probe_foreign_credentials(
    talk: DebtorConversation, data: SyntheticData, *, b03: bool, foreign_token: str | None = None, **_: Any
) -> str:
    if not foreign_token:
        raise ProbeNotRun(
            "no credential of another municipality or fagsystem was given (--foreign-token): this run does not "
            "verify that such a credential cannot act for this municipality (ROUTE-CREDENTIALS)"
        )
    body = _account(data)
    talk.send("POST", "/debitorkonti", body)
    calls = _operations(body, data, b03)
    for operation, method, path, message in calls:
        response = talk.send(method, path, message, as_token=foreign_token)
        _expect(
            response.status_code in (401, 403),
            f"{operation} with another municipality's or fagsystem's token answered {response.status_code}, "
            "expected 401 or 403",
        )
    _unchanged(talk, body, new_account=calls[0][3]["debitorkontoId"])
    return f"another municipality's or fagsystem's credential cannot act for {talk.municipality.name}"


def _without_modulus_11(data: SyntheticData) -> str:
    """A valid CPR (a real date) whose digits fail the old modulus-11 check, as many born since 2007 do."""
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    while True:
        cpr = data.cpr()
        if sum(int(d) * w for d, w in zip(cpr, weights, strict=True)) % 11:
            return cpr


def probe_cpr_without_modulus_11(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
    body = _account(data)
    body["haeftelse"]["cpr"] = _without_modulus_11(data)
    created = talk.send("POST", "/debitorkonti", body)
    _expect(
        created.status_code == 201,
        f"OpretDebitorkonto for a valid CPR that fails modulus 11 answered {created.status_code}, expected 201",
    )
    return "a valid CPR that fails modulus 11 is registered"


def probe_unknown_product(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
    body = _account(data, product="UKENDT-PRODUKT")
    refused = talk.send("POST", "/debitorkonti", body)
    _expect(
        refused.status_code == 422 and _is_problem(refused),
        f"a claim with a product code outside the sortiment answered {refused.status_code}, "
        "expected a 422 business rejection",
    )
    absent = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}")
    _expect(
        absent.status_code == 404 or not absent.json().get("fordringer"),
        "the refused claim was registered",
    )
    return "a claim whose product code is not in the sortiment is rejected (422) and not registered"


def probe_further_claims(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
    """B01-ADD-CLAIMS: a second OpretDebitorkonto for an account the system has adds its claim to it."""
    first = _account(data)
    created = talk.send("POST", "/debitorkonti", first)
    _expect(created.status_code == 201, f"OpretDebitorkonto answered {created.status_code}, expected 201")
    further = _account(data, 8000)
    further["debitorkontoId"], further["haeftelse"] = first["debitorkontoId"], first["haeftelse"]
    added = talk.send("POST", "/debitorkonti", further)
    claim = further["fordringer"][0]["fordringId"]
    _expect(
        added.status_code in (200, 201),
        f"OpretDebitorkonto of a further claim ({claim}) on the existing account answered {added.status_code}, "
        "expected 200",
    )
    account = talk.send("GET", f"/debitorkonti/{first['debitorkontoId']}").json()
    claims = sorted(str(c.get("fordringId")) for c in account.get("fordringer") or [])
    expected = sorted([first["fordringer"][0]["fordringId"], claim])
    _expect(
        claims == expected and account.get("saldoOere") == 20000,
        f"after a claim of 12000 øre and a further one of 8000 øre the account holds {claims} with "
        f"{account.get('saldoOere')} øre; expected both claims and 20000 øre",
    )
    return "a further claim registered on an existing account is added to it (two claims, 20000 øre)"


def _wrong_check_digit(cvr: str) -> str:
    """`cvr` with its eighth digit changed: 8 digits that fail the modulus-11 check."""
    from contracts.identity import is_valid_cvr

    return next(cvr[:7] + d for d in "0123456789" if not is_valid_cvr(cvr[:7] + d))


def probe_cvr_modulus_11(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
    """ID-CVR-MOD11: a company with a valid CVR is registered; 8 digits that fail the check digit are refused."""
    cvr = data.cvr()
    valid = {**_account(data), "haeftelse": {"cvr": cvr, "navn": "Certificering ApS"}}
    created = talk.send("POST", "/debitorkonti", valid)
    _expect(
        created.status_code == 201,
        f"OpretDebitorkonto for a company with a valid CVR answered {created.status_code}, expected 201",
    )
    wrong = _wrong_check_digit(cvr)
    invalid = {**_account(data), "haeftelse": {"cvr": wrong, "navn": "Certificering ApS"}}
    refused = talk.send("POST", "/debitorkonti", invalid)
    _expect(
        400 <= refused.status_code < 500 and _is_problem(refused),
        f"OpretDebitorkonto for CVR {wrong} (its check digit fails modulus 11) answered {refused.status_code}, "
        "expected a 4xx problem",
    )
    absent = talk.send("GET", f"/debitorkonti/{invalid['debitorkontoId']}")
    _expect(absent.status_code == 404, f"the account with CVR {wrong} was registered ({absent.status_code})")
    return f"a valid CVR is registered; {wrong}, whose check digit fails modulus 11, is refused and not registered"


def _anonymous(talk: DebtorConversation, method: str, path: str, body: Any = None) -> httpx.Response:
    """A request without the bearer token, recorded as evidence like the others."""
    with httpx.Client(base_url=talk.http.base_url, timeout=30.0, verify=wire_client.tls()) as bare:
        sent = wire_client.exchange(bare, method, path, body=body, headers=talk.headers())
    talk.evidence.append(f"{method} {path} (no token) -> {sent.response.status_code}")
    return sent.response


_AUTH, _DATE, _JOBS, _TRANSFER, _SENT = (
    ("TC-AUTH",),
    ("TC-BUSINESS-DATE",),
    ("TC-ADVANCE-RUNS-JOBS",),
    ("TC-BANK-TRANSFER",),
    ("TC-SENT-MESSAGES",),
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
    the system sent is listed once, CPR masked. Each assertion blames the TC-* requirement it checks; a
    step on the debtor API it needs on the way (registering the account) blames them all."""
    tc = wire_client.TEST_CONTROL
    for method, path, payload in (
        ("GET", f"{tc}/forretningsdato", None),
        ("POST", f"{tc}/forretningsdato/frem", {"dage": 1}),
        ("POST", f"{tc}/bankindbetalinger", {"betalingsreference": "CERT-UDEN-TOKEN", "beloebOere": 100}),
        ("GET", f"{tc}/afsendt", None),
    ):
        refused = _anonymous(talk, method, path, payload)
        _expect(refused.status_code == 401, f"{method} {path} without the token answered {refused.status_code}", _AUTH)
        _expect(_is_problem(refused), f"{method} {path} without the token: not a problem+json with a code", _AUTH)
    today = talk.send("GET", f"{tc}/forretningsdato")
    _expect(today.status_code == 200, f"HentForretningsdato answered {today.status_code}", _DATE)
    start = datetime.fromisoformat(today.json()["tidspunkt"])
    same_day = today.json()["forretningsdato"] == start.date().isoformat()
    _expect(same_day, "the business date is not the instant's date", _DATE)
    back = talk.send("POST", f"{tc}/forretningsdato/frem", {"tilDato": (start.date() - timedelta(days=1)).isoformat()})
    _expect(
        back.status_code == 409 and _is_problem(back),
        f"a move back in time answered {back.status_code}, expected a 409 problem",
        _DATE,
    )
    again = talk.send("GET", f"{tc}/forretningsdato").json()["tidspunkt"]
    _expect(again == today.json()["tidspunkt"], "the business date moved although no move was accepted", _DATE)

    body = _account(data)
    _expect(talk.send("POST", "/debitorkonti", body).status_code == 201, "OpretDebitorkonto did not create the account")
    claim_id = body["fordringer"][0]["fordringId"]
    account = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()["fordringer"][0]
    reference = account["delfordringer"][0]["betalingsreference"]
    paid = talk.send("POST", f"{tc}/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 5000})
    _expect(paid.status_code == 201, f"BogfoerBankindbetaling answered {paid.status_code}", _TRANSFER)
    booked = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json().get("saldoOere")
    _expect(
        booked == 7000,
        f"BogfoerBankindbetaling answered 201, but the account shows {booked} øre after a transfer of 5000 of "
        "12000 øre; expected 7000 (the transfer was not booked)",
        _TRANSFER,
    )
    _expect(
        paid.json().get("restOere") == 7000,
        f"after 5000 of 12000 øre the rest is {paid.json().get('restOere')}",
        _TRANSFER,
    )

    # the first reminder falls due on its own date after SRB: moving past it must have sent it on that date
    reminder_on = date.fromisoformat(account["sidsteRettidigeBetalingsdato"]) + timedelta(days=reminder_after_days)
    target = datetime.combine(reminder_on + timedelta(days=1), start.timetz())
    follow_psrm(target)  # PSRM first: a handover the system makes on the way finds PSRM on that day or later
    moved = talk.send("POST", f"{tc}/forretningsdato/frem", {"tilDato": target.date().isoformat()})
    _expect(moved.status_code == 200, f"FremrykForretningsdato answered {moved.status_code}", _JOBS)
    _expect(
        moved.json()["forretningsdato"] == target.date().isoformat(),
        "the business date did not reach its target",
        _DATE,
    )
    view = talk.send("GET", f"/debitorkonti/{body['debitorkontoId']}").json()["fordringer"][0]
    reminders = [r["dato"] for r in view.get("rykkere", [])]
    _expect(
        reminders[:1] == [reminder_on.isoformat()],
        f"moving the date past {reminder_on} did not send the first reminder on that date: {reminders}",
        _JOBS,
    )
    found = inbox.wait_for(lambda m: m.get("fordringId") == claim_id and m.get("type") == "DAEKNING", callback_timeout)
    _expect(bool(found), "the bank transfer's DAEKNING callback never reached the fagsystem", _TRANSFER)
    sent = talk.send("GET", f"{tc}/afsendt", params={"modtager": "FAGSYSTEM", "fordringId": claim_id})
    _expect(sent.status_code == 200, f"HentAfsendteMeddelelser answered {sent.status_code}", _SENT)
    payments = [m for m in sent.json()["meddelelser"] if (m.get("krop") or {}).get("type") == "DAEKNING"]
    _expect(len(payments) == 1, f"the DAEKNING is listed {len(payments)} times as sent, not once", _SENT)
    _expect(
        payments[0]["krop"].get("meddelelseId") in {m.get("meddelelseId") for m in found},
        "the DAEKNING listed as sent is not the one the fagsystem received",
        _SENT,
    )
    _expect(body["haeftelse"]["cpr"] not in sent.text, "the list of sent messages shows a CPR number unmasked", _SENT)
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
    ("header-block", ["MSG-HEADER-BLOCK"], probe_header_block),
    ("municipality-cvr", ["MSG-MUNICIPALITY-CVR"], probe_municipality_cvr),
    ("problem-json", ["MSG-PROBLEM-JSON"], probe_problem_everywhere),
    ("credentials", ["MSG-CREDENTIALS"], probe_credentials),
    ("foreign-credentials", ["ROUTE-CREDENTIALS"], probe_foreign_credentials),
    ("cpr-without-modulus-11", ["ID-CPR-NO-MOD11"], probe_cpr_without_modulus_11),
    ("unknown-product", ["B01-SORTIMENT"], probe_unknown_product),
    ("further-claims", ["B01-ADD-CLAIMS"], probe_further_claims),
    ("cvr-modulus-11", ["ID-CVR-MOD11"], probe_cvr_modulus_11),
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
    chosen: Callable[[str], bool] = lambda _: True,
    **context: Any,
) -> list[ProbeResult]:
    """Run every probe (those `selected` picks; the others are not run, `not_selected` says why). Each
    makes its people from a seed of its own, mixed with `data_salt`: 0 replays the same people (a
    simulator starts empty each session); a vendor's real system keeps earlier runs' accounts, so a
    run against one salts its people to meet no earlier run's."""
    results = []
    for name, requirements, probe in PROBES:
        if name == TEST_CONTROL_PROBE and not context.get("offers_test_control"):
            continue  # a vendor that does not declare test control is not judged on it
        if not chosen(name):  # left out of this run (`oir certify --only`): not run, never passed
            results.append(ProbeResult(name, requirements, False, "not selected in this run (--only)", [], ran=False))
            continue
        if progress:
            progress(name)
        talk = talk_factory()
        try:
            message = probe(talk, SyntheticData(seed=zlib.crc32(name.encode()) ^ data_salt), **context)
            results.append(ProbeResult(name, requirements, True, message, talk.evidence))
        except ProbeFailure as failure:
            results.append(_failed(name, requirements, failure, talk.evidence))
        except ProbeNotRun as reason:
            results.append(ProbeResult(name, requirements, False, str(reason), talk.evidence, ran=False))
        except ProbeWaiting as waiting:
            results.append(
                ProbeResult(name, requirements, False, str(waiting), talk.evidence, ran=False, waiting=waiting.parked)
            )
        except httpx.TimeoutException as exc:
            # no answer while the harness waited (twice the profile's limit): the answer time is what failed,
            # judged by the answer-time check (latency.py); what this probe asserts was not judged
            waited = f"{exc.request.method} {exc.request.url.path}" if _has_request(exc) else "a call"
            results.append(
                ProbeResult(
                    name,
                    requirements,
                    False,
                    f"{waited} got no answer in time ({type(exc).__name__}): judged by the answer-time check, "
                    "not by this probe",
                    talk.evidence,
                    ran=False,
                )
            )
        except httpx.HTTPError as exc:  # the system did not answer as HTTP at all: its failure
            message = f"the debtor system did not answer: {type(exc).__name__}: {exc or 'no answer'}"
            results.append(ProbeResult(name, requirements, False, message, talk.evidence))
        except Exception as exc:  # the probe's own code broke: a harness error, never blamed on the system
            results.append(ProbeResult(name, requirements, False, harness_error(exc), talk.evidence, error=True))
        finally:
            talk.http.close()
            talk.anonymous.close()
        results[-1].exchanges = talk.own
    return results


def _failed(name: str, requirements: list[str], failure: ProbeFailure, evidence: list[str]) -> ProbeResult:
    """A failed probe: blaming the rule it saw broken where it says which (the others it cites are then
    unproven by it: it stopped there), else all it cites."""
    if failure.blames is None:
        return ProbeResult(name, requirements, False, str(failure), evidence)
    blamed = [r for r in requirements if r in failure.blames]
    unproven = [r for r in requirements if r not in failure.blames]
    return ProbeResult(name, requirements, False, str(failure), evidence, blamed=blamed, unproven=unproven)


SECOND_HALVES: dict[str, Callable[..., str]] = {"pay-next-day": resume_payment_reaches_fagsystem}


def resume_probes(
    talk_factory: Callable[[], DebtorConversation],
    probes: list[ProbeResult],
    *,
    progress: Callable[[str], None] | None = None,
    data_salt: int = 0,
    **context: Any,
) -> list[ProbeResult]:
    """The probes again, with each waiting one's second half run (the others as they were). A second
    half may park again (a later stage), with `park_until` from the context."""
    results = []
    for result in probes:
        parked = result.waiting
        if parked is None:
            results.append(result)
            continue
        if progress:
            progress(result.name)
        talk = talk_factory()
        data = SyntheticData(seed=zlib.crc32(result.name.encode()) ^ data_salt)
        earlier = [*result.evidence, f"(resumed at stage {parked.stage})"]
        try:
            if parked.stage not in SECOND_HALVES:
                raise ProbeNotRun(f"this harness has no second half {parked.stage!r} to resume (another version?)")
            message = SECOND_HALVES[parked.stage](talk, data, parked, **context)
            results.append(ProbeResult(result.name, result.requirements, True, message, earlier + talk.evidence))
        except ProbeFailure as failure:
            results.append(_failed(result.name, result.requirements, failure, earlier + talk.evidence))
        except ProbeWaiting as waiting:
            results.append(
                ProbeResult(
                    result.name,
                    result.requirements,
                    False,
                    str(waiting),
                    earlier + talk.evidence,
                    ran=False,
                    waiting=waiting.parked,
                )
            )
        except ProbeNotRun as reason:
            results.append(
                ProbeResult(result.name, result.requirements, False, str(reason), earlier + talk.evidence, ran=False)
            )
        except httpx.HTTPError as exc:  # the system did not answer as HTTP at all: its failure
            message = f"the debtor system did not answer: {type(exc).__name__}: {exc or 'no answer'}"
            results.append(ProbeResult(result.name, result.requirements, False, message, earlier + talk.evidence))
        except Exception as exc:  # the probe's own code broke: a harness error, never blamed on the system
            results.append(
                ProbeResult(
                    result.name, result.requirements, False, harness_error(exc), earlier + talk.evidence, error=True
                )
            )
        finally:
            talk.http.close()
            talk.anonymous.close()
        results[-1].exchanges = talk.own
    return results


def harness_error(exc: BaseException) -> str:
    """What broke in the harness and where: `KeyError: 'delfordringer' (harness/…/probes.py:231 in …)`."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        parts = last.filename.replace("\\", "/").split("/")
        short = "/".join(parts[-3:]) if len(parts) >= 3 else last.filename
        where = f" at {short}:{last.lineno} in {last.name}"
    return (
        f"harness error{where}: {type(exc).__name__}: {exc} — the harness's own code broke; this is no verdict "
        "on the debtor system (the evidence shows its last answers)"
    )


def _has_request(exc: httpx.TimeoutException) -> bool:
    try:
        exc.request  # noqa: B018  (raises RuntimeError when the exception carries no request)
    except RuntimeError:
        return False
    return True
