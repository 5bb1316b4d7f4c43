"""What a probe says is what happened: a 422 to another municipality is a refusal of the wrong kind, not
"another municipality read the account"; a payment callback that never came names the callback URL that
received nothing; a probe whose own code breaks is a harness ERROR, not the system's failure; evidence
is JSON. Against a debtor system played by an httpx MockTransport: milliseconds, no servers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from contracts import wire_client
from contracts.municipalities import for_vendor
from contracts.synthetic import SyntheticData
from harness.callback_relay import CallbackRelay
from harness.certification import probes as probes_module
from harness.certification.probes import (
    DebtorConversation,
    ProbeFailure,
    probe_own_accounts_only,
    probe_payment_reaches_fagsystem,
    run_probes,
)

OWN, NEIGHBOUR = for_vendor("kmd-opus")[:2]
Handler = Callable[[httpx.Request], httpx.Response]


def _talk(handler: Handler) -> DebtorConversation:
    talk = DebtorConversation("http://debtor.test", "t", OWN, "s")
    talk.http.close()
    talk.http = httpx.Client(
        base_url="http://debtor.test",
        transport=httpx.MockTransport(handler),
        headers=wire_client.credentials("t", "s"),
    )
    return talk


def _neighbour_gets(status: int, body: dict[str, Any]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={})
        if request.headers.get("x-kommune-cvr") == NEIGHBOUR.cvr:
            return httpx.Response(status, json=body)
        return httpx.Response(200, json={})

    return handle


def test_a_422_to_another_municipality_is_reported_as_what_it_was() -> None:
    """Before: 'another municipality read the account (422)' — it had read nothing."""
    talk = _talk(_neighbour_gets(422, {"code": "OIR-422-WRONG-MUNICIPALITY", "title": "x", "status": 422}))
    with pytest.raises(ProbeFailure) as failure:
        probe_own_accounts_only(talk, SyntheticData(seed=1), neighbour=NEIGHBOUR)
    message = str(failure.value)
    assert "read the account" not in message and "read it" not in message
    assert f"{NEIGHBOUR.name} (CVR {NEIGHBOUR.cvr}) asked for {OWN.name}'s account" in message
    assert "answered 422 (OIR-422-WRONG-MUNICIPALITY)" in message and "403 or 404" in message
    read = _talk(_neighbour_gets(200, {"debitorkontoId": "K"}))
    with pytest.raises(ProbeFailure, match=r"and read it \(200\)"):
        probe_own_accounts_only(read, SyntheticData(seed=1), neighbour=NEIGHBOUR)


def test_a_callback_that_never_came_names_the_callback_url_that_received_nothing() -> None:
    """Before: 'no DAEKNING callback reached the fagsystem' — which address, and did anything arrive?"""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            sub = {"delfordringId": "D-1", "beloebOere": 12000, "betalingsreference": "+71<000000001>"}
            return httpx.Response(200, json={"fordringer": [{"delfordringer": [sub]}], "saldoOere": 12000})
        return httpx.Response(201, json={})

    relay = CallbackRelay("cb")
    relay.url = "http://127.0.0.1:8701"
    with pytest.raises(ProbeFailure) as failure:
        probe_payment_reaches_fagsystem(
            _talk(handle),
            SyntheticData(seed=1),
            b03=False,
            inbox=relay,
            advance=lambda days: True,
            callback_timeout=0.1,
        )
    message = str(failure.value)
    assert "no callback reached http://127.0.0.1:8701/daekningafskrivning" in message
    assert "within 0.1 s" in message and "evidence/callbacks.json" in message
    relay.close()


def test_a_probe_whose_own_code_breaks_is_a_harness_error_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: 'KeyError: delfordringer' was reported as the system's failure."""

    def breaks(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
        answer = talk.send("POST", "/indbetaling/soeg", {"cpr": data.cpr(), "note": None}).json()
        return str(answer["delfordringer"])  # an answer the probe did not check

    def unanswered(talk: DebtorConversation, data: SyntheticData, **_: Any) -> str:
        talk.send("GET", "/debitorkonti/K-1")
        return "never"

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/debitorkonti"):
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"noget": "andet"})

    monkeypatch.setattr(
        probes_module,
        "PROBES",
        [("breaks", ["B03-SEARCH"], breaks), ("unanswered", ["B02-LOOKUP"], unanswered)],
    )
    results = {r.name: r for r in run_probes(lambda: _talk(handle))}
    error = results["breaks"]
    assert error.error and not error.passed and error.ran
    assert "harness error" in error.message and "KeyError: 'delfordringer'" in error.message
    assert "test_probe_messages.py" in error.message and "no verdict on the debtor system" in error.message
    # the evidence is JSON a person can paste: double quotes and null, not Python's repr
    line = error.evidence[0]
    assert line.startswith('POST /indbetaling/soeg {"cpr": "')
    assert line.endswith('"note": null} -> 200 {"noget": "andet"}')
    assert "'cpr'" not in error.evidence[0] and "None" not in error.evidence[0]
    assert error.exchanges and json.dumps(error.exchanges[-1]["request_body"]).startswith('{"cpr"')
    failed = results["unanswered"]
    assert not failed.error and not failed.passed  # the system did not answer: its failure
    assert "the debtor system did not answer: ConnectError" in failed.message
