"""ASGI middleware: session selection, idempotent replay by transaction id, journaling, drops.

It sits inside Starlette's error middleware and outside routing, so it sees every exchange whole:
the raw request body (for the journal and the replay fingerprint) and the answer as it is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.problems import PROBLEM_MEDIA_TYPE, Problem

from .runtime import DropRequested, SimRuntime, SimulatedConnectionDrop
from .sessions import DEFAULT_SESSION, SESSION_HEADER, SessionRegistry, StoredAnswer

_MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
_REPLAYABLE = {200, 201, 202, 204, 409, 422}
_UNJOURNALED_PREFIXES = ("/_sim", "/openapi.json", "/docs", "/redoc")
_SESSION_KEY = SESSION_HEADER.encode()


def _headers(scope: Scope) -> dict[bytes, str]:
    """The request's headers by lower-case name, read once per request (the first of repeated ones)."""
    found: dict[bytes, str] = {}
    for key, value in scope.get("headers", ()):
        found.setdefault(key.lower(), value.decode("latin-1"))
    return found


async def _send_problem(send: Send, problem: Problem, path: str) -> None:
    body = json.dumps(problem.body(path)).encode()
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SimulatorMiddleware:
    def __init__(self, app: ASGIApp, runtime: SimRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        registry: SessionRegistry[Any] = self.runtime.sessions
        headers = _headers(scope)
        session_id = headers.get(_SESSION_KEY) or DEFAULT_SESSION
        if not registry.valid_id(session_id):
            await _send_problem(
                send,
                Problem(
                    400, "OIR-400-SESSION", "Invalid X-Sim-Session header", "1-64 characters of A-Z a-z 0-9 _ . : -"
                ),
                scope["path"],
            )
            return
        session = registry.get(session_id)
        scope.setdefault("state", {})["sim_session"] = session

        body = await _read_body(receive)
        replay_key = self._replay_key(scope, headers)
        fingerprint = hashlib.sha256(
            b"|".join(
                [
                    scope["method"].encode(),
                    scope["path"].encode(),
                    (headers.get(b"x-kommune-cvr") or "").encode(),
                    body,
                ]
            )
        ).hexdigest()
        if replay_key is not None and self._token_known(headers):
            stored = session.answers.get(replay_key)
            if stored is not None and stored.fingerprint == fingerprint:
                await self._replay(scope, send, stored)
                return
            if stored is not None:
                # Another message under a used transaction id: the header-block dependency answers 409
                # once the request is otherwise well-formed (so a missing header still reads as 400).
                scope["state"]["sim_transaction_reused"] = True

        sent: dict[str, Any] = {"status": None, "headers": [], "body": bytearray(), "started": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["headers"] = list(message.get("headers", []))
                sent["started"] = True
            elif message["type"] == "http.response.body":
                sent["body"] += message.get("body", b"")
            await send(message)

        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            await self.app(scope, replay_receive, capture)
        except DropRequested as drop:
            self._journal(scope, headers, session, body, None, b"", note="connection dropped (injected)")
            if drop.delay_s:
                await asyncio.sleep(drop.delay_s)
            if not sent["started"]:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
                    }
                )
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise SimulatedConnectionDrop("connection dropped by an injected fault") from None

        status = sent["status"]
        self._journal(scope, headers, session, body, status, bytes(sent["body"]))
        if replay_key is not None and status in _REPLAYABLE and replay_key not in session.answers:
            session.answers[replay_key] = StoredAnswer(fingerprint, status, sent["headers"], bytes(sent["body"]))

    def _token_known(self, headers: dict[bytes, str]) -> bool:
        authorization = headers.get(b"authorization") or ""
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self.runtime.tokens

    @staticmethod
    def _replay_key(scope: Scope, headers: dict[bytes, str]) -> str | None:
        if scope["method"] not in _MUTATING or scope["path"].startswith("/_sim"):
            return None
        transaction_id = headers.get(b"x-transaktion-id")
        return transaction_id.lower() if transaction_id else None

    async def _replay(self, scope: Scope, send: Send, stored: StoredAnswer) -> None:
        headers = [h for h in stored.headers if h[0].lower() != b"x-oir-replay"] + [(b"x-oir-replay", b"true")]
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        await send({"type": "http.response.body", "body": stored.body})

    def _journal(
        self,
        scope: Scope,
        headers: dict[bytes, str],
        session: Any,
        body: bytes,
        status: int | None,
        answer: bytes,
        note: str | None = None,
    ) -> None:
        path = scope["path"]
        if path.startswith(_UNJOURNALED_PREFIXES):
            return
        route = scope.get("route")
        operation = getattr(route, "operation_id", None) or getattr(route, "name", None)
        session.journal.record(
            at=session.clock.now(),
            direction="in",
            method=scope["method"],
            path=path,
            operation=operation,
            status=status,
            transaction_id=headers.get(b"x-transaktion-id"),
            request_body=body,  # raw: parsed when the journal is exported
            response_body=answer,
            note=note,
        )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
