"""The callback relay: the one callback URL a vendor configures for a whole certification. Messages of
a scenario world go, unchanged, to that world's engine and its answer goes back; everything else is
answered by the relay itself; nothing it cannot parse or forward is a 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from harness.callback_relay import CallbackRelay, write_journal
from harness.servers import ServerThread
from tests.support.misbehaving import free_port

TOKEN = "vendor-callback-token"
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "X-Transaktion-Id": "6f1c2a0e-8d3b-4c55-9a7e-2b1d0c9e8f71",
    "X-Transaktion-Tid": "2026-11-25T10:00:00+01:00",
    "X-Kommune-Cvr": "64942212",
}


class _Engine:
    """Stands in for a world's engine: keeps what reaches it, answers 409 to a reused message id."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.app = FastAPI()

        @self.app.post("/daekningafskrivning")
        async def take(request: Request) -> JSONResponse:
            body = await request.json()
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return JSONResponse({"code": "OIR-401"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            if any(b["meddelelseId"] == body["meddelelseId"] for _, b in self.received):
                return JSONResponse({"code": "OIR-409-MESSAGE-ID-REUSED"}, status_code=409)
            self.received.append((dict(request.headers), body))
            return JSONResponse({"meddelelseId": body["meddelelseId"], "dublet": False}, status_code=202)


@pytest.fixture
def relay() -> Iterator[tuple[str, CallbackRelay, _Engine, str]]:
    relay_, engine = CallbackRelay(TOKEN), _Engine()
    with (
        ServerThread(relay_.app, name="relay", log_level="critical") as at,
        ServerThread(engine.app, name="engine", log_level="critical") as engine_server,
    ):
        relay_.attach("a1b2c3d4", engine_server.url)
        yield at.url, relay_, engine, engine_server.url
    relay_.close()


def _message(claim: str, account: str = "K-1") -> dict[str, Any]:
    return {
        "meddelelseId": str(uuid.uuid4()),
        "debitorkontoId": account,
        "fordringId": claim,
        "type": "DAEKNING",
        "beloebOere": 12000,
        "dato": "2026-11-25",
    }


def test_a_message_of_a_world_reaches_its_engine_unchanged_and_the_engine_answers(relay: Any) -> None:
    url, relay_, engine, _ = relay
    message = _message("FBS-101-a1b2c3d4-0000001")
    answer = httpx.post(f"{url}/daekningafskrivning", json=message, headers=HEADERS)
    assert answer.status_code == 202
    headers, body = engine.received[0]
    assert body == message
    assert headers["authorization"] == f"Bearer {TOKEN}" and headers["x-kommune-cvr"] == "64942212"
    again = httpx.post(f"{url}/daekningafskrivning", json={**message, "beloebOere": 1}, headers=HEADERS)
    assert again.status_code == 409 and again.json()["code"] == "OIR-409-MESSAGE-ID-REUSED"  # the engine's word
    closure = {
        "meddelelseId": str(uuid.uuid4()),
        "debitorkontoId": "FBS-101-L101a1b2c3d4-000001",
        "type": "KONTO_LUKKET",
    }
    assert (
        httpx.post(f"{url}/daekningafskrivning", json={**closure, "dato": "2026-11-25"}, headers=HEADERS).status_code
        == 202
    )
    assert [b["type"] for _, b in engine.received] == ["DAEKNING", "KONTO_LUKKET"]  # routed by the account id too
    refused = httpx.post(
        f"{url}/daekningafskrivning",
        json=_message("FBS-101-a1b2c3d4-0000003"),
        headers={**HEADERS, "Authorization": "Bearer x"},
    )
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"  # the engine's challenge
    assert relay_.wait_for(lambda m: True, timeout=0) == []  # forwarded messages are not the probes'


def test_other_messages_are_answered_by_the_relay_and_kept_for_the_probes(relay: Any) -> None:
    url, relay_, engine, _ = relay
    message = _message("CERT-0123456789ab")
    first = httpx.post(f"{url}/daekningafskrivning", json=message, headers=HEADERS)
    second = httpx.post(f"{url}/daekningafskrivning", json=message, headers=HEADERS)
    assert (first.status_code, first.json()["dublet"]) == (202, False)
    assert (second.status_code, second.json()["dublet"]) == (202, True)
    assert engine.received == []
    assert relay_.wait_for(lambda m: m["fordringId"] == "CERT-0123456789ab", timeout=1) == [message, message]
    wrong = httpx.post(f"{url}/daekningafskrivning", json=message, headers={**HEADERS, "Authorization": "Bearer x"})
    assert wrong.status_code == 401 and wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["code"] == "OIR-401-UNAUTHENTICATED"


def test_malformed_messages_and_a_gone_engine_get_problems_never_a_500(relay: Any) -> None:
    url, relay_, _, _ = relay
    broken = httpx.post(
        f"{url}/daekningafskrivning", content=b"{", headers={**HEADERS, "Content-Type": "application/json"}
    )
    assert 400 <= broken.status_code < 500 and broken.headers["content-type"].startswith("application/problem+json")
    relay_.attach("deadbeef", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    gone = httpx.post(f"{url}/daekningafskrivning", json=_message("FBS-101-deadbeef-0000001"), headers=HEADERS)
    assert gone.status_code == 503 and gone.json()["code"] == "OIR-503-ENGINE-UNAVAILABLE"
    relay_.detach("a1b2c3d4")  # the world has ended: its late messages are the relay's to answer
    late = httpx.post(f"{url}/daekningafskrivning", json=_message("FBS-101-a1b2c3d4-0000009"), headers=HEADERS)
    assert late.status_code == 202


def test_a_message_refused_or_without_an_id_never_spoils_the_relay_s_own_answers(relay: Any) -> None:
    """A first attempt with a wrong token is no earlier copy of the retry; a body without meddelelseId kept
    as evidence does not break the duplicate check for the messages after it."""
    url, relay_, _, _ = relay
    anonymous = {"debitorkontoId": "K-9", "fordringId": "CERT-0000000000ff", "type": "DAEKNING", "dato": "2026-11-25"}
    wrong = {**HEADERS, "Authorization": "Bearer x"}
    assert httpx.post(f"{url}/daekningafskrivning", json=anonymous, headers=wrong).status_code == 401
    message = _message("CERT-0123456789ab")
    refused = httpx.post(f"{url}/daekningafskrivning", json=message, headers=wrong)
    assert refused.status_code == 401
    retried = httpx.post(f"{url}/daekningafskrivning", json=message, headers=HEADERS)
    assert (retried.status_code, retried.json()["dublet"]) == (202, False)
    assert relay_.wait_for(lambda m: m.get("fordringId") == "CERT-0123456789ab", timeout=1) == [message]


def test_two_worlds_at_once_each_get_only_their_own_messages(relay: Any) -> None:
    url, relay_, first, _ = relay
    second = _Engine()
    with ServerThread(second.app, name="engine-2", log_level="critical") as server:
        relay_.attach("0f0f0f0f", server.url)
        for claim in ("FBS-101-a1b2c3d4-0000001", "FBS-101-0f0f0f0f-0000001", "FBS-101-a1b2c3d4-0000002"):
            assert httpx.post(f"{url}/daekningafskrivning", json=_message(claim), headers=HEADERS).status_code == 202
    assert [b["fordringId"] for _, b in first.received] == ["FBS-101-a1b2c3d4-0000001", "FBS-101-a1b2c3d4-0000002"]
    assert [b["fordringId"] for _, b in second.received] == ["FBS-101-0f0f0f0f-0000001"]


def test_the_relay_keeps_a_journal_of_what_arrived_when_and_what_became_of_it(tmp_path: Path) -> None:
    """Before: the callback receiver left no journal in the evidence; a callback that never arrived
    could not be told from one that arrived and was refused."""
    moments = iter(datetime(2026, 11, 25, 10, 0, second, tzinfo=UTC) for second in range(60))
    relay_ = CallbackRelay(TOKEN, now=lambda: next(moments))
    with ServerThread(relay_.app, name="relay", log_level="critical") as at:
        relay_.url = at.url
        assert relay_.describe() == f"no callback reached {at.url}/daekningafskrivning"
        message = _message("CERT-0123456789ab")
        httpx.post(f"{at.url}/daekningafskrivning", json=message, headers=HEADERS)
        httpx.post(f"{at.url}/daekningafskrivning", json=message, headers={**HEADERS, "Authorization": "Bearer x"})
    relay_.close()
    journal = json.loads(write_journal(relay_, tmp_path / "evidence" / "callbacks.json").read_text())
    assert journal["callbackUrl"] == f"{at.url}/daekningafskrivning"
    received = journal["received"]
    assert [(e["received"], e["status"]) for e in received] == [
        ("2026-11-25T10:00:00.000+00:00", 202),
        ("2026-11-25T10:00:01.000+00:00", 401),
    ]
    assert received[0]["outcome"] == "accepted" and received[0]["message"] == message
    assert "refused: not the callback token" in received[1]["outcome"]
    assert TOKEN not in json.dumps(journal)  # the token is never kept
    said = relay_.describe()
    assert said.startswith(f"2 callback(s) reached {at.url}/daekningafskrivning, 1 answered 401")
    assert relay_.describe(since=2) == f"no callback reached {at.url}/daekningafskrivning"
