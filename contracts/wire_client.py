"""The ØiR wire client: how every caller writes a request to an ØiR system, written once.

Every interface of the debtor integration carries the same header block: `Authorization: Bearer`, the
`X-Transaktion-Id` (a UUID; a retry reuses it, which makes the retry harmless), the
`X-Transaktion-Tid` (when the sender made the call, RFC 3339 with an offset) and the `X-Kommune-Cvr`
(the municipality the call is for). Against a simulator a caller adds `X-Sim-Session`, the namespace
of one virtual world. The integration engine, the simulators' own outgoing calls, the scenarios, the
certification probes, the Pact provider states and the benchmarks all build it here (`headers`).

Besides the contract, a simulator offers a control plane under `/_sim/` (clock, faults, settings,
journal): `control` calls it with credentials and session, without a header block. A real system has
none; what it answers there is for the caller to judge.

`exchange` makes one request and keeps it as evidence records it (`Exchange.record`: the fields of a
HAR entry). The record still holds the credentials: a caller passes it through its redaction
(`scenarios.redaction`) before keeping it — contracts import nothing else of ours.

The id pattern every id on the wire follows is `contracts.wire.ID_PATTERN` (the `Ident` type).
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import httpx

from .wire import ID_PATTERN

__all__ = [
    "CONTROL_PLANE",
    "FIXED_SENT_AT",
    "ID_PATTERN",
    "MUNICIPALITY_CVR",
    "SESSION",
    "TRANSACTION_ID",
    "TRANSACTION_TIME",
    "Exchange",
    "control",
    "control_path",
    "credentials",
    "exchange",
    "header_block",
    "headers",
]

TRANSACTION_ID = "X-Transaktion-Id"
TRANSACTION_TIME = "X-Transaktion-Tid"
MUNICIPALITY_CVR = "X-Kommune-Cvr"
SESSION = "X-Sim-Session"
CONTROL_PLANE = "/_sim"
TEST_CONTROL = "/testkontrol"  # a debtor's test control (oir-testkontrol-v1), in a vendor's test environment
# What a caller without a clock of its own (provider states, probes, benchmarks) sends as X-Transaktion-Tid.
FIXED_SENT_AT = "2026-01-05T09:00:00+01:00"


def credentials(token: str | None, session: str | None = None) -> dict[str, str]:
    """Who calls, and in which simulated world: the bearer token (none when None) and the session."""
    found = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if session:
        found[SESSION] = session
    return found


def header_block(
    *, transaction_id: str | None = None, at: datetime | str | None = None, cvr: str | None = None
) -> dict[str, str]:
    """The ØiR header block: a transaction id (a fresh one unless given), the time it was sent
    (left out when None) and the municipality's CVR (left out when None)."""
    block = {TRANSACTION_ID: transaction_id or str(uuid.uuid4())}
    if at is not None:
        block[TRANSACTION_TIME] = at if isinstance(at, str) else at.isoformat()
    if cvr:
        block[MUNICIPALITY_CVR] = cvr
    return block


def headers(
    token: str | None,
    *,
    session: str | None = None,
    transaction_id: str | None = None,
    at: datetime | str | None = None,
    cvr: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Credentials and the header block of one call; `extra` headers (e.g. a simulator session set by
    configuration) come last but for the municipality's CVR, which always names the call's municipality."""
    found = {**credentials(token, session), **header_block(transaction_id=transaction_id, at=at)}
    found.update(extra or {})
    if cvr:
        found[MUNICIPALITY_CVR] = cvr
    return found


def control_path(path: str) -> str:
    """The path of a control-plane resource (`/clock/advance` -> `/_sim/clock/advance`)."""
    return CONTROL_PLANE + path


@cache
def tls() -> ssl.SSLContext:
    """httpx's default TLS settings (certifi's CAs, or $SSL_CERT_FILE / $SSL_CERT_DIR), made once per process.

    Pass it as `verify=` to every client: httpx otherwise builds a context, reading every CA certificate
    anew, for each client it makes (20–40 ms of CPU each: most of what starting a scenario world cost).
    An SSLContext is safe to share between threads and connections."""
    return httpx.create_ssl_context()


def control(
    base_url: str,
    method: str,
    path: str,
    *,
    token: str | None,
    session: str | None = None,
    body: Any = None,
    params: Mapping[str, Any] | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """One call on a simulator's control plane (`path` below `/_sim`); raises what httpx raises when
    nothing answers. Whether the answer is a success is the caller's to judge."""
    return httpx.request(
        method,
        base_url.rstrip("/") + control_path(path),
        json=body,
        params=dict(params) if params is not None else None,
        headers=credentials(token, session),
        timeout=timeout,
        verify=tls(),
    )


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as evidence keeps it."""

    method: str
    response: httpx.Response
    request_body: Any
    body: Any  # the answer: its JSON, else its first 2000 characters; None when it has no content
    seconds: float  # real time the exchange took

    @property
    def status(self) -> int:
        return self.response.status_code

    def record(self, system: str, started: str) -> dict[str, Any]:
        """The exchange as a HAR entry's fields (`started`: when, on the caller's clock). It still holds
        the credentials: redact it before keeping it."""
        request = self.response.request
        return {
            "system": system,
            "method": self.method,
            "url": str(request.url),
            "request_headers": dict(request.headers),
            "request_body": self.request_body,
            "status": self.status,
            "response_headers": dict(self.response.headers),
            "response_body": self.body,
            "seconds": self.seconds,
            "started": started,
        }


def exchange(http: httpx.Client, method: str, url: str, *, body: Any = None, **kwargs: Any) -> Exchange:
    """Send one request (`body` as JSON; other keyword arguments as httpx takes them) and keep it for
    the evidence; raises what httpx raises when nothing answers."""
    started = time.perf_counter()  # real time: how long the system took, for the evidence
    response = http.request(method, url, json=body, **kwargs)
    return Exchange(method, response, body, _answer(response), time.perf_counter() - started)


def _answer(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return response.text[:2000]
