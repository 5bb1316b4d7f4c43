"""The fagsystem's callback address during a certification: one fixed URL for the whole run.

A vendor configures its debtor system once with one callback URL and one token, but a certification
meets it with several fagsystems in turn: the conformance probes (which only watch what arrives) and
then one real integration engine per scenario. The relay stands at that URL. It keeps every message
it receives as evidence; a message about a claim of a scenario's world (recognised by the world's id
series in its claim or account id) is forwarded, unchanged and with the vendor's own token, to that
world's engine, whose answer the vendor gets; any other message is answered by the relay itself, as
the probes' receiver: 202 with a receipt, or 401 for a wrong token.
Each kept message also records, under keys starting with `_`, the municipality it named
(`_cvr`), whether it carried the run's callback token (`_token_ok`) and when it came (`_at`, monotonic
seconds), so that everything the vendor sent can be judged, awaited or not (certification/sent.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from contracts.limits import CALLBACK_LIMITS, BodyLimitMiddleware
from contracts.problems import Problem, install_problem_handlers

_FORWARDED_HEADERS = ("authorization", "content-type", "x-transaktion-id", "x-transaktion-tid", "x-kommune-cvr")


@dataclass(frozen=True)
class _Sink:
    marker: str  # the world's id series, as it appears in FBS's claim and account ids
    url: str  # the world's engine API


class CallbackRelay:
    """Receives DækningAfskrivning messages at one URL; forwards those of a scenario world to its engine."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self._sinks: dict[str, _Sink] = {}
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=30.0)
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
            self._keep(payload, 401, None, request)
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
            self.messages.append({**payload, "_status": 202, "_world": None, **self._sender(request)})
        return JSONResponse({"meddelelseId": payload.get("meddelelseId"), "dublet": duplicate}, status_code=202)

    def _forward(self, request: Request, payload: dict[str, Any], sink: _Sink) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED_HEADERS}
        try:
            answer = self._http.post(f"{sink.url}/daekningafskrivning", json=payload, headers=headers)
        except httpx.HTTPError as exc:
            self._keep(payload, 503, sink.marker, request)
            raise Problem(
                503, "OIR-503-ENGINE-UNAVAILABLE", "The scenario's engine did not answer", type(exc).__name__
            ) from exc
        self._keep(payload, answer.status_code, sink.marker, request)
        challenge = {k: v for k, v in answer.headers.items() if k.lower() == "www-authenticate"}
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type", "application/json"),
            headers=challenge,  # a forwarded 401 keeps the engine's challenge
        )

    def _keep(self, payload: dict[str, Any], status: int, world: str | None, request: Request) -> None:
        with self._lock:
            self.messages.append({**payload, "_status": status, "_world": world, **self._sender(request)})

    def _sender(self, request: Request) -> dict[str, Any]:
        """Who sent a message and when, as the sent-message judge needs it."""
        return {
            "_cvr": request.headers.get("x-kommune-cvr"),
            "_token_ok": request.headers.get("authorization") == f"Bearer {self.token}",
            "_at": time.monotonic(),  # real time: whether it came before or after the run's checks ended
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
