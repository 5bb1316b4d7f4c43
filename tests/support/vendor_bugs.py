"""Bugs a vendor's debtor system could have, each in one operation: an ASGI layer around the debtor
simulator that changes one behaviour of one operation and leaves everything else alone.

Each bug is a `Bug(kind, operation)`: `kind` says what goes wrong (`KINDS`), `operation` where (one of
`OPERATIONS`, or None: every operation). The layer rewrites the request before the simulator sees it
(so the simulator accepts what it should refuse) or the answer after (so it answers what it should
not); business-rule bugs the layer cannot make are switches of the simulator itself
(`simulators/debtor/misbehaviour.py`). Used by the requirement × misbehaviour matrix.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.identity import is_valid_cvr
from contracts.synthetic import SyntheticData

# The vendor-facing operations of oir-debitor-v3, by method and path.
OPERATIONS: dict[str, tuple[str, re.Pattern[str]]] = {
    "OpretDebitorkonto": ("POST", re.compile(r"^/debitorkonti$")),
    "HentDebitorkonto": ("GET", re.compile(r"^/debitorkonti/[^/]+$")),
    "DebitorForespoergsel": ("POST", re.compile(r"^/debitorforespoergsel$")),
    "RetFordringTilstand": ("POST", re.compile(r"^/fordringer/[^/]+/tilstand$")),
    "AendrHaeftelse": ("POST", re.compile(r"^/debitorkonti/[^/]+/haeftelse$")),
    "SoegDelfordringTilIndbetaling": ("POST", re.compile(r"^/indbetaling/soeg$")),
    "ForetagIndbetaling": ("POST", re.compile(r"^/indbetalinger$")),
}
B01_B02 = tuple(name for name in OPERATIONS if name not in ("SoegDelfordringTilIndbetaling", "ForetagIndbetaling"))
# The operations of test control (oir-testkontrol-v1), which a vendor's test environment may offer: a bug
# names one of these too, but no rule "of every operation" spans them (they are not the debtor API).
TEST_CONTROL_OPERATIONS: dict[str, tuple[str, re.Pattern[str]]] = {
    "HentForretningsdato": ("GET", re.compile(r"^/testkontrol/forretningsdato$")),
    "FremrykForretningsdato": ("POST", re.compile(r"^/testkontrol/forretningsdato/frem$")),
    "BogfoerBankindbetaling": ("POST", re.compile(r"^/testkontrol/bankindbetalinger$")),
    "HentAfsendteMeddelelser": ("GET", re.compile(r"^/testkontrol/afsendt$")),
}

KINDS: dict[str, str] = {
    "header-optional": "accepts a message without its transaction id or time (makes them up)",
    "cvr-optional": "accepts a message that names no municipality, or an unknown CVR (takes its own first one)",
    "500-on-bad-input": "answers malformed input with 500 instead of a 4xx problem",
    "no-token": "accepts a call without a bearer token",
    "any-token": "accepts any bearer token, also one it never issued",
    "foreign-token": "accepts another municipality's token for this municipality",
    "retry-reprocessed": "processes a retry (the same transaction id) as a new message",
    "retry-refused": "processes a retry (the same transaction id) as a new message, and refuses it as already done",
    "ignores-municipality": "acts on another municipality's accounts (reads the caller's CVR as the owner's)",
    "create-not-stored": "answers 201 to OpretDebitorkonto but stores nothing",
    "list-empty": "DebitorForespoergsel lists no accounts",
    "balance-in-kroner": "HentDebitorkonto shows balances in kroner, not øre",
    "accepts-zero-amount": "accepts a zero or negative amount (books it as 1 øre)",
    "cpr-date-unchecked": "accepts a CPR whose first six digits are no date (books a valid one)",
    "modulus-11-enforced": "refuses a valid CPR that fails the old modulus-11 check",
    "sortiment-unchecked": "accepts a product code outside its sortiment (books it as BIB-GEBYR)",
    "claim-registered-twice": "registers a claim it already has again when it comes in a new message",
    "b03-missing": "has no payment solution (B_03 answers 404) although the profile declares one",
    "search-malformed": "answers SoegDelfordringTilIndbetaling without its list of payable sub-claims",
    "b03-offered": "offers B_03 (answers 200) although the profile declares no payment solution",
    "answer-off-contract": "answers with a field its contract does not have (saldo instead of saldoOere)",
    "accepts-invalid": "accepts a request that breaks the contract (answers 202 instead of refusing it with 400)",
    "further-claims-ignored": "answers 200 to a further claim on an existing account but does not add it",
    "cvr-check-digit-unchecked": "accepts a CVR whose check digit fails modulus 11 (books a valid one)",
    # test control (TEST_CONTROL_OPERATIONS); `no-token` above applies to its operations too
    "date-backwards": "accepts a move of the business date back in time (answers 200 instead of refusing it with 409)",
    "transfer-not-booked": "answers 201 to a bank transfer but books nothing",
    "sent-listed-twice": "lists every message it sent twice",
    "sent-cpr-unmasked": "lists the messages it sent with the debtor's CPR number unmasked",
}
_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


@dataclass(frozen=True)
class Bug:
    kind: str
    operation: str | None = None  # None: every operation

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown bug {self.kind!r}; known: {', '.join(KINDS)}")
        if self.operation is not None and self.operation not in {**OPERATIONS, **TEST_CONTROL_OPERATIONS}:
            known = ", ".join([*OPERATIONS, *TEST_CONTROL_OPERATIONS])
            raise ValueError(f"unknown operation {self.operation!r}; known: {known}")

    def describe(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        return where + KINDS[self.kind]


def operation_of(method: str, path: str) -> str | None:
    every = {**OPERATIONS, **TEST_CONTROL_OPERATIONS}
    return next((name for name, (m, p) in every.items() if m == method and p.match(path)), None)


def _valid_cpr(cpr: str) -> bool:
    return len(cpr) == 10 and cpr.isdigit() and 1 <= int(cpr[:2]) <= 31 and 1 <= int(cpr[2:4]) <= 12


def _fails_modulus_11(cpr: str) -> bool:
    return len(cpr) == 10 and cpr.isdigit() and sum(int(d) * w for d, w in zip(cpr, _WEIGHTS, strict=True)) % 11 != 0


def _amounts(node: Any, fix: Callable[[Any], Any]) -> Any:
    if isinstance(node, dict):
        return {k: fix(v) if k == "beloebOere" else _amounts(v, fix) for k, v in node.items()}
    if isinstance(node, list):
        return [_amounts(item, fix) for item in node]
    return node


class BuggyDebtor:
    """The debtor simulator (`app`) with one bug. `owner_cvr` is the system's first municipality;
    `token` the credential the harness certifies with; `foreign_token` another municipality's."""

    def __init__(self, app: ASGIApp, bug: Bug, *, owner_cvr: str, token: str, foreign_token: str) -> None:
        self.app, self.bug = app, bug
        self.owner_cvr, self.token, self.foreign_token = owner_cvr, token, foreign_token
        self.claims_seen: dict[str, str] = {}  # claim id -> the transaction that registered it
        self.transactions_seen: set[str] = set()
        self.accounts_seen: set[str] = set()  # accounts registered through this layer
        self.cprs: dict[str, str] = {}  # account id -> the CPR it was registered for (`sent-cpr-unmasked`)
        self.data = SyntheticData(seed=7)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation = operation_of(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if self.bug.kind == "sent-cpr-unmasked" and operation == "OpretDebitorkonto":  # whose CPR it will show
            body = await _read(receive)
            document = _json(body)
            if isinstance(document, dict) and isinstance(document.get("haeftelse"), dict):
                self.cprs[str(document.get("debitorkontoId"))] = str(document["haeftelse"].get("cpr"))
            await self.app(scope, _replay(body), send)
            return
        if operation is None or (self.bug.operation is not None and operation != self.bug.operation):
            await self.app(scope, receive, send)
            return
        kind = self.bug.kind
        if kind == "transfer-not-booked" and any(k.lower() == b"authorization" for k, _ in scope["headers"]):
            transfer = _json(await _read(receive))
            transfer = transfer if isinstance(transfer, dict) else {}
            answer = {
                "betalingsreference": transfer.get("betalingsreference"),
                "delfordringId": "-",
                "beloebOere": transfer.get("beloebOere"),
                "restOere": 0,
            }
            await _answer(send, 201, answer, "application/json")
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if kind == "b03-missing" and operation in ("SoegDelfordringTilIndbetaling", "ForetagIndbetaling"):
            await _answer(
                send, 404, {"type": "about:blank", "title": "Not found", "status": 404, "code": "OIR-404-NOT-FOUND"}
            )
            return
        if kind == "b03-offered" and operation == "SoegDelfordringTilIndbetaling":
            await _answer(send, 200, {"delfordringer": []}, "application/json")
            return
        body = await _read(receive)
        document = _json(body)
        if kind == "header-optional":
            headers.setdefault("x-transaktion-id", str(uuid.uuid4()))
            headers.setdefault("x-transaktion-tid", "2026-01-05T09:00:00+01:00")
        elif kind == "cvr-optional" and headers.get("x-kommune-cvr", "") != self.owner_cvr:
            headers["x-kommune-cvr"] = self.owner_cvr
        elif kind == "no-token" and "authorization" not in headers:
            headers["authorization"] = f"Bearer {self.token}"
        elif kind == "any-token" and headers.get("authorization", f"Bearer {self.token}") != f"Bearer {self.token}":
            headers["authorization"] = f"Bearer {self.token}"
        elif kind == "foreign-token" and headers.get("authorization") == f"Bearer {self.foreign_token}":
            headers["authorization"] = f"Bearer {self.token}"
        elif kind == "retry-reprocessed":
            headers["x-transaktion-id"] = str(uuid.uuid4())
        elif kind == "retry-refused" and headers.get("x-transaktion-id"):
            if headers["x-transaktion-id"] in self.transactions_seen:
                already = {
                    "type": "about:blank",
                    "title": "Already done",
                    "status": 422,
                    "code": "OIR-422-ALREADY-DONE",
                }
                await _answer(send, 422, already)
                return
            self.transactions_seen.add(headers["x-transaktion-id"])
        elif kind == "ignores-municipality":
            headers["x-kommune-cvr"] = self.owner_cvr
        elif kind == "create-not-stored" and isinstance(document, dict):
            claims = [
                {"fordringId": c.get("fordringId"), "status": "AKTIV", "saldoOere": 0, "ny": True}
                for c in document.get("fordringer", [])
            ]
            await _answer(
                send,
                201,
                {"debitorkontoId": document.get("debitorkontoId"), "oprettet": True, "fordringer": claims},
                "application/json",
            )
            return
        elif kind == "further-claims-ignored" and isinstance(document, dict):
            account = str(document.get("debitorkontoId"))
            if account in self.accounts_seen:  # a further claim: acknowledged, never stored
                claims = [
                    {"fordringId": c.get("fordringId"), "status": "AKTIV", "saldoOere": 0, "ny": True}
                    for c in document.get("fordringer") or []
                    if isinstance(c, dict)
                ]
                answer = {"debitorkontoId": account, "oprettet": False, "fordringer": claims}
                await _answer(send, 200, answer, "application/json")
                return
            self.accounts_seen.add(account)
        elif kind == "cvr-check-digit-unchecked" and isinstance(document, dict):
            liable = document.get("haeftelse")
            if isinstance(liable, dict) and isinstance(liable.get("cvr"), str) and not is_valid_cvr(liable["cvr"]):
                liable["cvr"] = self.data.cvr()
        elif kind == "accepts-zero-amount" and document is not None:
            document = _amounts(document, lambda v: 1 if not isinstance(v, int) or isinstance(v, bool) or v <= 0 else v)
        elif kind == "cpr-date-unchecked" and isinstance(document, dict):
            liable = document.get("haeftelse")
            if isinstance(liable, dict) and isinstance(liable.get("cpr"), str) and not _valid_cpr(liable["cpr"]):
                liable["cpr"] = self.data.cpr()
        elif kind == "modulus-11-enforced" and isinstance(document, dict):
            cpr = (document.get("haeftelse") or {}).get("cpr")
            if isinstance(cpr, str) and _fails_modulus_11(cpr):
                await _answer(
                    send,
                    400,
                    {"type": "about:blank", "title": "Invalid CPR", "status": 400, "code": "OIR-400-INVALID-CPR"},
                )
                return
        elif kind == "sortiment-unchecked" and isinstance(document, dict):
            for claim in document.get("fordringer") or []:
                if isinstance(claim, dict) and claim.get("produktkode") not in (
                    "BIB-GEBYR",
                    "BIB-ERSTATNING",
                    "BIB-ERSTATNING-ANERKENDT",
                ):
                    claim["produktkode"] = "BIB-GEBYR"
        elif kind == "claim-registered-twice" and isinstance(document, dict):
            transaction = headers.get("x-transaktion-id", "")
            for claim in document.get("fordringer") or []:
                first = self.claims_seen.setdefault(str(claim.get("fordringId")), transaction)
                if first != transaction:  # the same claim in a new message: registered again, under a new id
                    claim["fordringId"] = f"{claim['fordringId']}-2"
                    for sub in claim.get("delfordringer") or []:
                        sub["delfordringId"] = f"{sub['delfordringId']}-2"
        if document is not None and kind in (
            "accepts-zero-amount",
            "cpr-date-unchecked",
            "cvr-check-digit-unchecked",
            "sortiment-unchecked",
            "claim-registered-twice",
        ):
            body = json.dumps(document).encode()
            headers["content-length"] = str(len(body))
        scope = {**scope, "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]}
        await self.app(scope, _replay(body), self._answer_for(kind, operation, send))

    def _answer_for(self, kind: str, operation: str, send: Send) -> Send:
        if kind == "accepts-invalid":

            async def accepted(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] == 400:
                    message = {**message, "status": 202}
                await send(message)

            return accepted
        if kind == "date-backwards":

            async def moved_back(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] == 409:
                    message = {**message, "status": 200}
                await send(message)

            return moved_back
        if kind == "500-on-bad-input":

            async def as_500(message: Message) -> None:
                if (
                    message["type"] == "http.response.start"
                    and 400 <= message["status"] < 500
                    and message["status"] not in (401, 403)
                ):
                    message = {**message, "status": 500}
                await send(message)

            return as_500
        rewrite = {
            "list-empty": _no_accounts,
            "balance-in-kroner": _in_kroner,
            "search-malformed": _renamed_list,
            "answer-off-contract": _saldo_renamed,
            "sent-listed-twice": _listed_twice,
            "sent-cpr-unmasked": self._cpr_shown,
        }.get(kind)
        return send if rewrite is None else _rewriting(send, rewrite)

    def _cpr_shown(self, document: Any) -> Any:
        """Each listed message with the CPR of the account it concerns, unmasked."""
        if not isinstance(document, dict) or not isinstance(document.get("meddelelser"), list):
            return document
        shown = []
        for listed in document["meddelelser"]:
            body = listed.get("krop") if isinstance(listed, dict) else None
            if isinstance(body, dict) and str(body.get("debitorkontoId")) in self.cprs:
                shown.append({**listed, "krop": {**body, "cpr": self.cprs[str(body["debitorkontoId"])]}})
            else:
                shown.append(listed)
        return {**document, "meddelelser": shown}


def _listed_twice(document: Any) -> Any:
    if isinstance(document, dict) and isinstance(document.get("meddelelser"), list):
        return {**document, "meddelelser": [m for m in document["meddelelser"] for _ in range(2)]}
    return document


def _no_accounts(document: Any) -> Any:
    return {**document, "debitorkonti": []} if isinstance(document, dict) and "debitorkonti" in document else document


def _saldo_renamed(document: Any) -> Any:
    if isinstance(document, dict) and "saldoOere" in document:
        return {("saldo" if k == "saldoOere" else k): v for k, v in document.items()}
    return document


def _renamed_list(document: Any) -> Any:
    return {"resultater": document.get("delfordringer")} if isinstance(document, dict) else document


def _in_kroner(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: v // 100 if k == "saldoOere" and isinstance(v, int) else _in_kroner(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_in_kroner(item) for item in document]
    return document


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _answer(send: Send, status: int, document: Any, media: str = "application/problem+json") -> None:
    body = json.dumps(document).encode()
    headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _rewriting(send: Send, rewrite: Callable[[Any], Any]) -> Send:
    """A `send` that buffers the answer and rewrites its JSON body."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def patched(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        document = _json(body)
        if document is not None:
            body = json.dumps(rewrite(document)).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return patched
