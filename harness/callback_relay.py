"""The fagsystem's callback address during a certification: one fixed URL for the whole run.

A vendor configures its debtor system once with one callback URL and one token, but a certification
meets it with several fagsystems in turn: the conformance probes (which only watch what arrives) and
then one real integration engine per scenario. The relay stands at that URL. It keeps every message
it receives as evidence; a message about a claim of a scenario's world (recognised by the world's id
series in its claim or account id) is forwarded, unchanged and with the vendor's own token, to that
world's engine, whose answer the vendor gets; any other message is answered by the relay itself, as
the probes' receiver: 202 with a receipt, or 401 for a wrong token.

Its journal — every message that reached it, when, and what became of it (accepted, refused and why,
forwarded to a scenario's engine and its answer) — goes into the report's evidence
(`evidence/callbacks.json`, `write_journal`), so a callback that never arrived can be told from one that
arrived and was refused; `url` is the address the vendor was told, named when nothing arrived.
Each kept message also records, under keys starting with `_`, the municipality it named
(`_cvr`), whether it carried the run's callback token (`_token_ok`) and when it came (`_mono`, monotonic
seconds), so that everything the vendor sent can be judged, awaited or not (certification/sent.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from contracts import wire_client
from contracts.identity import mask_cpr_in_text
from contracts.limits import CALLBACK_LIMITS, BodyLimitMiddleware
from contracts.problems import Problem, install_problem_handlers

PREFLIGHT_HEADER = "x-oir-preflight"
_FORWARDED_HEADERS = ("authorization", "content-type", "x-transaktion-id", "x-transaktion-tid", "x-kommune-cvr")


@dataclass(frozen=True)
class _Sink:
    marker: str  # the world's id series, as it appears in FBS's claim and account ids
    url: str  # the world's engine API


class CallbackRelay:
    """Receives DækningAfskrivning messages at one URL; forwards those of a scenario world to its engine."""

    def __init__(self, token: str, now: Callable[[], datetime] | None = None) -> None:
        self.token = token
        self.url = ""  # where the relay listens, as the vendor was told (set once it is started)
        self.now = now or (lambda: datetime.now(UTC))  # real time: when a message arrived from another system
        self.messages: list[dict[str, Any]] = []
        self._sinks: dict[str, _Sink] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=30.0, verify=wire_client.tls())
        self.app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        install_problem_handlers(self.app)  # a malformed message gets a 4xx problem+json too
        self.app.add_middleware(BodyLimitMiddleware, limits=CALLBACK_LIMITS)  # 413/408 before any parsing
        self.app.post("/daekningafskrivning")(self._receive)

    # ---- scenario worlds ---------------------------------------------------------------------------
    def attach(self, marker: str, engine_url: str) -> None:
        """From now on, messages whose claim or account id carries `-<marker>-` go to that engine."""
        with self._lock:
            self._sinks[marker] = _Sink(marker, engine_url.rstrip("/"))

    def detach(self, marker: str) -> None:
        with self._lock:
            self._sinks.pop(marker, None)

    def _sink_for(self, body: dict[str, Any]) -> _Sink | None:
        ids = " ".join(str(body.get(key) or "") for key in ("fordringId", "debitorkontoId"))
        with self._lock:
            return next((s for s in self._sinks.values() if f"{s.marker}-" in ids), None)

    # ---- the endpoint ------------------------------------------------------------------------------
    def _receive(self, request: Request, payload: dict[str, Any]) -> Response:
        """A plain def taking the parsed body: FastAPI answers malformed JSON with a 422 before this runs."""
        sink = self._sink_for(payload)
        if sink is not None:
            return self._forward(request, payload, sink)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            preflight = request.headers.get(PREFLIGHT_HEADER)  # the harness checking the relay answers here
            note = "the harness's own preflight check (not from the debtor system)" if preflight else ""
            self._keep(payload, 401, None, note or "refused: not the callback token configured for this run", request)
            raise Problem(
                401,
                "OIR-401-UNAUTHENTICATED",
                "The token is not the callback token configured for this run",
                headers={"WWW-Authenticate": "Bearer"},
            )
        with self._lock:  # one lock for the look and the keeping: two copies at once are one new, one duplicate
            duplicate = any(
                m["_world"] is None and m["_status"] == 202 and m.get("meddelelseId") == payload.get("meddelelseId")
                for m in self.messages
            )
            note = "accepted (a duplicate of a message already accepted)" if duplicate else "accepted"
            self.messages.append(
                {
                    **payload,
                    "_status": 202,
                    "_world": None,
                    "_at": self._stamp(),
                    "_note": note,
                    **self._sender(request),
                }
            )
        return JSONResponse({"meddelelseId": payload.get("meddelelseId"), "dublet": duplicate}, status_code=202)

    def _forward(self, request: Request, payload: dict[str, Any], sink: _Sink) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED_HEADERS}
        try:
            answer = self._http.post(f"{sink.url}/daekningafskrivning", json=payload, headers=headers)
        except httpx.HTTPError as exc:
            self._keep(
                payload, 503, sink.marker, f"the scenario's engine did not answer ({type(exc).__name__})", request
            )
            raise Problem(
                503, "OIR-503-ENGINE-UNAVAILABLE", "The scenario's engine did not answer", type(exc).__name__
            ) from exc
        self._keep(
            payload,
            answer.status_code,
            sink.marker,
            f"forwarded to the scenario's engine, which answered {answer.status_code}",
            request,
        )
        challenge = {k: v for k, v in answer.headers.items() if k.lower() == "www-authenticate"}
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type", "application/json"),
            headers=challenge,  # a forwarded 401 keeps the engine's challenge
        )

    def _keep(self, payload: dict[str, Any], status: int, world: str | None, note: str, request: Request) -> None:
        with self._lock:
            self.messages.append(
                {
                    **payload,
                    "_status": status,
                    "_world": world,
                    "_at": self._stamp(),
                    "_note": note,
                    **self._sender(request),
                }
            )

    def _stamp(self) -> str:
        return self.now().isoformat(timespec="milliseconds")

    # ---- the journal ---------------------------------------------------------------------------------
    def journal(self, since: int = 0) -> list[dict[str, Any]]:
        """What reached the relay (from the `since`-th message on): when, what, and what became of it."""
        with self._lock:
            kept = list(self.messages[since:])
        return [
            {
                "received": m.get("_at", ""),
                "status": m["_status"],
                "outcome": m.get("_note", ""),
                "scenarioWorld": m["_world"],
                "message": {k: v for k, v in m.items() if not k.startswith("_")},
            }
            for m in kept
        ]

    def describe(self, since: int = 0) -> str:
        """One sentence on what reached the relay from the `since`-th message on, for a failure message."""
        entries = self.journal(since)
        where = f"{self.url}/daekningafskrivning" if self.url else "the callback address"
        if not entries:
            return f"no callback reached {where}"
        refused = [e for e in entries if not 200 <= e["status"] < 300]
        said = f"{len(entries)} callback(s) reached {where}"
        if refused:
            said += f", {len(refused)} answered {', '.join(sorted({str(e['status']) for e in refused}))}"
            said += f" ({refused[-1]['outcome']})"
        return said

    def _sender(self, request: Request) -> dict[str, Any]:
        """Who sent a message and when, as the sent-message judge needs it."""
        return {
            "_cvr": request.headers.get("x-kommune-cvr"),
            "_token_ok": request.headers.get("authorization") == f"Bearer {self.token}",
            "_mono": time.monotonic(),  # real time: whether it came before or after the run's checks ended
            "_preflight": bool(request.headers.get(PREFLIGHT_HEADER)),  # the harness checking it answers here
        }

    def received(self) -> list[dict[str, Any]]:
        """A copy of every message kept so far, in arrival order."""
        with self._lock:
            return [dict(m) for m in self.messages]

    # ---- for the probes ----------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> list[dict[str, Any]]:
        """The accepted messages the relay answered itself that satisfy `predicate`, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout  # real time: waiting on another system
        while True:
            with self._lock:
                found = [
                    {k: v for k, v in m.items() if not k.startswith("_")}
                    for m in self.messages
                    if m["_world"] is None and m["_status"] == 202 and predicate(m)
                ]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)

    def close(self) -> None:
        self._http.close()


def write_journal(relay: CallbackRelay, path: Path) -> Path:
    """The relay's journal as evidence (JSON, CPR masked; the relay never keeps a token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"callbackUrl": f"{relay.url}/daekningafskrivning" if relay.url else "", "received": relay.journal()}
    path.write_text(mask_cpr_in_text(json.dumps(document, indent=2, ensure_ascii=False, default=str)), encoding="utf-8")
    return path
