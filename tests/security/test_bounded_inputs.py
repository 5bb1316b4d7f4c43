"""Bounded inputs, against real servers on 127.0.0.1: a server answers an oversized or trickling body,
a malformed or never-finished request head, and an unauthenticated callback at once — with
problem+json, without reading the rest — instead of reading whatever a client sends for as long as
it takes (issue 11: an 82 MB callback body held the engine for 8 s and 1.3 GB before its 400).

The raw-socket tests send a request head and at most part of a body and then read: an answer at all
proves the server did not wait for (or read) the rest.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import simulators.kernel.app as kernel_app
from contracts.limits import BodyLimits
from contracts.municipalities import for_vendor
from contracts.profile import PROFILE_NAMES
from contracts.synthetic import SyntheticData
from harness.servers import ServerThread
from integration import Engine, EngineSettings, ManualClock
from integration.store import ReceivedCallback
from simulators import factory
from simulators.kernel import DEV_TOKEN
from tests.support.client import SimClient

TIGHT = BodyLimits(max_bytes=8 * 1024, timeout_s=0.5)  # short, so a trickle is refused while a test waits
HEAD_TIMEOUT_S = 0.5
DEADLINE_S = 10.0  # how long a test waits for an answer that should come at once
TOKENS = {p: f"callback-{p}" for p in PROFILE_NAMES}
OPUS_CVR = for_vendor("kmd-opus")[0].cvr
NOWHERE = "http://127.0.0.1:9"  # the engine sends nothing in these tests


# ---- raw HTTP ----------------------------------------------------------------------------------------
@dataclass
class Answer:
    status: int | None  # None: the server closed the connection without answering
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, object]:
        assert self.headers.get("content-type") == "application/problem+json", (self.status, self.headers, self.body)
        document = json.loads(self.body)
        assert isinstance(document, dict) and document["status"] == self.status
        return document


def exchange(url: str, *parts: bytes) -> Answer:
    """Send `parts` on one connection, then read until the server closes it; fail if it never does."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=DEADLINE_S) as connection:
        for part in parts:
            connection.sendall(part)
        received = b""
        deadline = time.monotonic() + DEADLINE_S  # real time: waiting on a real socket
        while True:
            connection.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                raise AssertionError(f"the server kept the connection open; it answered {received[:200]!r}") from None
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    if not received:
        return Answer(None, {}, b"")
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    return Answer(int(status_line.split()[1]), headers, body)


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def block(token: str | None = None) -> dict[str, str]:
    """The ØiR header block (and a token), as a debtor system sends it."""
    headers = {
        "Content-Type": "application/json",
        "X-Transaktion-Id": str(uuid.uuid4()),
        "X-Transaktion-Tid": "2026-01-05T09:00:00+01:00",
        "X-Kommune-Cvr": OPUS_CVR,
    }
    return headers | ({"Authorization": f"Bearer {token}"} if token else {})


# ---- servers -----------------------------------------------------------------------------------------
def _engine(tmp: Path) -> Engine:
    settings = EngineSettings(
        fbs_url=NOWHERE,
        debtor_urls=dict.fromkeys(PROFILE_NAMES, NOWHERE),
        database_url=f"sqlite:///{tmp / 'engine.sqlite'}",
        callback_tokens=TOKENS,
    )
    return Engine(settings, clock=ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return _engine(tmp_path_factory.mktemp("engine"))


@pytest.fixture(scope="module")
def engine_api(engine: Engine) -> Iterator[str]:
    """The engine's callback API as `oir engine serve` runs it: default limits."""
    with ServerThread(engine.api(), name="engine-api", log_level="error") as server:
        yield server.url


@pytest.fixture(scope="module")
def tight_engine_api(engine: Engine) -> Iterator[str]:
    """The same API with short deadlines and a small body limit, so a test need not wait long."""
    app = engine.api(limits=TIGHT)
    with ServerThread(app, name="tight-engine-api", log_level="error", header_timeout_s=HEAD_TIMEOUT_S) as server:
        yield server.url


@pytest.fixture(scope="module")
def fbs() -> Iterator[str]:
    """The FBS simulator as `oir sim serve` runs it: default limits."""
    with ServerThread(factory("fbs")(), name="fbs", log_level="error") as server:
        yield server.url


@pytest.fixture(scope="module")
def tight_fbs() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernel_app, "BODY_LIMITS", TIGHT)  # read once, when the app is built
        app = factory("fbs")()
    with ServerThread(app, name="tight-fbs", log_level="error", header_timeout_s=HEAD_TIMEOUT_S) as server:
        yield server.url


# ---- the engine's callback API -------------------------------------------------------------------------
def test_a_callback_without_a_token_is_refused_before_its_body_is_read(engine_api: str, engine: Engine) -> None:
    head = request_head("POST", "/daekningafskrivning", {**block(), "Content-Length": str(82_000_000)})
    answer = exchange(engine_api, head, b"{" + b" " * 1023)  # 1 KiB of 82 MB sent, then the client waits

    assert answer.status == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert answer.problem()["code"] == "OIR-401-UNAUTHENTICATED"
    with engine.store() as session:
        assert session.query(ReceivedCallback).count() == 0


def test_an_unknown_token_is_refused_before_its_body_is_read(engine_api: str) -> None:
    head = request_head("POST", "/daekningafskrivning", {**block("not-a-callback-token"), "Content-Length": "5000000"})
    answer = exchange(engine_api, head, b"{")

    assert answer.status == 401 and answer.problem()["code"] == "OIR-401-UNAUTHENTICATED"


def test_authentication_comes_before_the_header_block_is_checked(engine_api: str) -> None:
    bad_block = {"Content-Type": "application/json", "X-Kommune-Cvr": "not-a-cvr"}  # and no transaction headers

    answer = httpx.post(f"{engine_api}/daekningafskrivning", content=b"{}", headers=bad_block)

    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["code"] == "OIR-401-UNAUTHENTICATED"


def test_an_authenticated_callback_over_the_limit_is_refused_from_its_content_length(engine_api: str) -> None:
    head = request_head("POST", "/daekningafskrivning", {**block(TOKENS["kmd-opus"]), "Content-Length": "82000000"})
    answer = exchange(engine_api, head, b"{" + b" " * 1023)

    assert answer.status == 413 and answer.problem()["code"] == "OIR-413-TOO-LARGE"


def test_a_chunked_callback_is_cut_off_as_soon_as_it_passes_the_limit(tight_engine_api: str) -> None:
    head = request_head("POST", "/daekningafskrivning", {**block(TOKENS["kmd-opus"]), "Transfer-Encoding": "chunked"})
    over = [chunk(b" " * 1024) for _ in range(TIGHT.max_bytes // 1024 + 1)]  # 1 KiB past the limit, never ended

    answer = exchange(tight_engine_api, head, *over)

    assert answer.status == 413 and answer.problem()["code"] == "OIR-413-TOO-LARGE"


def test_a_callback_body_that_trickles_in_is_refused_at_its_deadline(tight_engine_api: str) -> None:
    head = request_head("POST", "/daekningafskrivning", {**block(TOKENS["kmd-opus"]), "Content-Length": "300"})
    answer = exchange(tight_engine_api, head, b'{"meddelelseId": ')  # and the rest never comes

    assert answer.status == 408 and answer.problem()["code"] == "OIR-408-BODY-TIMEOUT"


def test_a_well_formed_callback_still_reaches_the_engine(tight_engine_api: str) -> None:
    message = {
        "meddelelseId": str(uuid.uuid4()),
        "debitorkontoId": "FBS-101-L1",
        "fordringId": "FBS-NOT-REGISTERED",
        "type": "DAEKNING",
        "beloebOere": 100,
        "dato": "2026-01-05",
    }
    answer = httpx.post(
        f"{tight_engine_api}/daekningafskrivning", content=json.dumps(message), headers=block(TOKENS["kmd-opus"])
    )

    assert answer.status_code == 422 and answer.json()["code"] == "OIR-422-UNKNOWN-CLAIM"  # read, parsed, judged


# ---- the simulators ------------------------------------------------------------------------------------
def test_a_simulator_refuses_a_50_mb_body_from_its_content_length(fbs: str) -> None:
    head = request_head("POST", "/laanere", {**block(DEV_TOKEN), "Content-Length": "50000000"})
    answer = exchange(fbs, head, b"{" + b" " * 1023)

    assert answer.status == 413 and answer.problem()["code"] == "OIR-413-TOO-LARGE"


def test_a_simulator_cuts_a_chunked_body_off_as_soon_as_it_passes_the_limit(tight_fbs: str) -> None:
    head = request_head("POST", "/laanere", {**block(DEV_TOKEN), "Transfer-Encoding": "chunked"})
    over = [chunk(b" " * 1024) for _ in range(TIGHT.max_bytes // 1024 + 1)]

    answer = exchange(tight_fbs, head, *over)

    assert answer.status == 413 and answer.problem()["code"] == "OIR-413-TOO-LARGE"


def test_a_simulator_refuses_a_body_that_trickles_in(tight_fbs: str) -> None:
    head = request_head("POST", "/laanere", {**block(DEV_TOKEN), "Content-Length": "200"})
    answer = exchange(tight_fbs, head, b'{"cpr": "01')

    assert answer.status == 408 and answer.problem()["code"] == "OIR-408-BODY-TIMEOUT"


def test_a_body_of_exactly_the_limit_is_taken_and_one_byte_more_is_not(tight_fbs: str) -> None:
    client = SimClient(tight_fbs)
    person = SyntheticData(seed=11).person()
    body = json.dumps({"cpr": person.cpr, "navn": person.name}).encode()
    headers = {**client.headers(), "Content-Type": "application/json"}

    exact = client.http.post("/laanere", content=body.ljust(TIGHT.max_bytes), headers=headers)
    over = client.http.post("/laanere", content=body.ljust(TIGHT.max_bytes + 1), headers=client.headers())

    assert exact.status_code == 201, exact.text
    assert over.status_code == 413 and over.json()["code"] == "OIR-413-TOO-LARGE"


# ---- the request head (every server of ours speaks the same protocol) ------------------------------------
@pytest.fixture(params=["engine", "simulator"])
def tight_server(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("tight_engine_api" if request.param == "engine" else "tight_fbs"))


@pytest.mark.parametrize("value", [b"a\x00b", b"a\rb"], ids=["NUL", "CR"])
def test_a_control_character_in_a_header_gets_a_problem_400(tight_server: str, value: bytes) -> None:
    head = b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: " + value + b"\r\n\r\n"
    answer = exchange(tight_server, head)

    assert answer.status == 400 and answer.problem()["code"] == "OIR-400-MALFORMED-REQUEST"


def test_a_request_head_over_the_size_limit_gets_a_problem_431(tight_server: str) -> None:
    unfinished = b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: " + b"a" * 20_000  # 20 kB, no end
    answer = exchange(tight_server, unfinished)

    assert answer.status == 431 and answer.problem()["code"] == "OIR-431-HEADERS-TOO-LARGE"


def test_a_request_head_that_never_ends_is_closed_at_the_deadline(tight_server: str) -> None:
    answer = exchange(tight_server, b"POST /daekningafskrivning HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Kom")

    assert answer.status == 408 and answer.problem()["code"] == "OIR-408-HEADER-TIMEOUT"


def test_a_connection_that_sends_nothing_is_closed_at_the_deadline(tight_server: str) -> None:
    answer = exchange(tight_server)

    assert answer.status is None  # closed, without an answer to a request that never began


def test_the_head_deadline_does_not_cut_off_a_slow_answer_or_a_kept_alive_connection() -> None:
    async def slow(scope: dict[str, object], receive: object, send: Any) -> None:
        if scope["type"] != "http":
            return
        await asyncio.sleep(3 * HEAD_TIMEOUT_S)  # the work takes longer than a head may
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    with (
        ServerThread(slow, name="slow", log_level="error", header_timeout_s=HEAD_TIMEOUT_S) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        answers = [client.get("/").status_code for _ in range(2)]  # the second on the kept-alive connection

    assert answers == [200, 200]


def test_an_answer_given_before_the_body_came_ends_the_connection(engine_api: str) -> None:
    head = request_head("GET", "/openapi.json", {"Content-Length": "100000"})  # a body /openapi.json ignores
    answer = exchange(engine_api, head, b"x" * 10)  # and the rest would trickle in for ever

    assert answer.status == 200 and answer.headers.get("connection") == "close"


def test_the_certification_callback_relay_refuses_an_oversized_body_from_its_content_length() -> None:
    """The address a vendor's system calls during certification is bounded like the engine it stands for."""
    from harness.callback_relay import CallbackRelay

    relay = CallbackRelay("relay-token")
    with ServerThread(relay.app, name="relay", log_level="critical") as served:
        headers = {**block("relay-token"), "Content-Length": str(82_000_000)}
        answer = exchange(served.url, request_head("POST", "/daekningafskrivning", headers), b"{" + b" " * 1024)
    relay.close()
    assert answer.status == 413 and answer.problem()["code"] == "OIR-413-TOO-LARGE"
