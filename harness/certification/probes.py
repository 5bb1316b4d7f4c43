"""Conformance probes: short HTTP conversations with a debtor system, each citing requirement IDs.

They use only the vendor-facing `oir-debitor-v3` operations and the callback address the harness runs
(the relay), so they work unchanged against a real vendor's test system. Each probe returns a verdict
with the evidence a vendor's engineer needs (the request and the answer), CPR numbers masked. A probe
that cannot be carried out against a vendor's real system (a payment without B_03 needs money to
arrive inside that system) says so: it is reported as not run, never as passed.

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


class ProbeFailure(HarnessError, AssertionError):
    """A probe saw the system do something the contract forbids."""


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
    ) -> None:
        self.municipality = municipality
        self.evidence: list[str] = []
        self.exchanges = exchanges if exchanges is not None else []  # for the HAR evidence of the run
        self.own: list[dict[str, Any]] = []  # this conversation's exchanges alone (a failure's curl line)
        self.http = httpx.Client(base_url=base_url, timeout=30.0, headers=wire_client.credentials(token, session))

    def headers(self, transaction_id: str | None = None) -> dict[str, str]:
        return wire_client.header_block(
            transaction_id=transaction_id, at=wire_client.FIXED_SENT_AT, cvr=self.municipality.cvr
        )

    def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(kwargs.pop("transaction_id", None)), **kwargs.pop("headers", {})}
        raw = kwargs.get("content")
        sent = wire_client.exchange(self.http, method, path, body=body, headers=headers, **kwargs)
        response = sent.response
        # evidence: no token, in a header, a body or the URL
        recorded = redact_exchange(sent.record("debtor", headers[wire_client.TRANSACTION_TIME]))
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
    if other.status_code in (403, 404):
        return f"{neighbour.name} cannot read {talk.municipality.name}'s account"
    asked = f"{neighbour.name} (CVR {neighbour.cvr}) asked for {talk.municipality.name}'s account"
    if other.is_success:
        raise ProbeFailure(f"{asked} and read it ({other.status_code}): it must be refused with 403 or 404")
    raise ProbeFailure(
        f"{asked} and was answered {other.status_code}{_problem_code(other)}: it was not let in, but the "
        "contract answers another municipality's account with 403 or 404"
    )


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
    park_until: str = "",
    **_: Any,
) -> str:
    """Register a claim, pay it the next day (B_03, or the simulator's bank transfer) and see the
    payment reported back. Against a vendor's system the next day is real: with `park_until` the probe
    parks until then (its second half is `resume_payment_reaches_fagsystem`)."""
    arrived_before = len(inbox.messages)
    if not b03 and not simulated:
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
        paid = talk.send(
            "POST", "/simulering/bankindbetalinger", {"betalingsreference": reference, "beloebOere": 12000}
        )
        _expect(paid.status_code == 201, f"the simulated bank transfer answered {paid.status_code}")
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
]


def run_probes(
    talk_factory: Callable[[], DebtorConversation],
    *,
    progress: Callable[[str], None] | None = None,
    data_salt: int = 0,
    chosen: Callable[[str], bool] = lambda _: True,
    **context: Any,
) -> list[ProbeResult]:
    """Run every probe. Each makes its people from a seed of its own, mixed with `data_salt`: 0 replays
    the same people (a simulator starts empty each session); a vendor's real system keeps earlier
    runs' accounts, so a run against one salts its people to meet no earlier run's."""
    results = []
    for name, requirements, probe in PROBES:
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
            results.append(ProbeResult(name, requirements, False, str(failure), talk.evidence))
        except ProbeNotRun as reason:
            results.append(ProbeResult(name, requirements, False, str(reason), talk.evidence, ran=False))
        except ProbeWaiting as waiting:
            results.append(
                ProbeResult(name, requirements, False, str(waiting), talk.evidence, ran=False, waiting=waiting.parked)
            )
        except httpx.HTTPError as exc:  # the system did not answer as HTTP at all: its failure
            message = f"the debtor system did not answer: {type(exc).__name__}: {exc or 'no answer'}"
            results.append(ProbeResult(name, requirements, False, message, talk.evidence))
        except Exception as exc:  # the probe's own code broke: a harness error, never blamed on the system
            results.append(ProbeResult(name, requirements, False, harness_error(exc), talk.evidence, error=True))
        finally:
            talk.http.close()
        results[-1].exchanges = talk.own
    return results


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
            results.append(ProbeResult(result.name, result.requirements, False, str(failure), earlier + talk.evidence))
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
