"""Bounded inputs: how much of a request a server reads, how long it waits for it, and from whom.

A trial sent the engine's callback API an 82 MB body without a token: the server read all of it
(8 s, 1.3 GB of memory) before it answered 400. The wire convention of every server of ours
(simulators and the engine alike) is therefore:

- a body larger than the API's limit is answered 413 — from its Content-Length before a byte of it is
  read, or as soon as a streamed (chunked) body passes the limit;
- a body that has not arrived completely within the read deadline is answered 408;
- an answer the app gives before the whole body came (a GET that ignores its body) closes the
  connection, so the server does not go on reading a body that trickles in;
- an operation that needs a bearer token answers a caller without a known one 401 before its body is
  read (`BearerGate`), so only an authenticated caller can make a server read a body at all.

Each refusal (413, 408, 401) is problem+json with a stable code and `Connection: close`: the server stops
reading, and the rest of the body is never received. (Starlette 1.10 has a `max_body_size` of its
own; it is not used because its 413 is text/plain whenever a middleware reads the body or the app
answers without reading it, it has no read deadline, and it keeps reading the rest of the body.)
The request head — its size and how long it may take — is bounded by the HTTP server itself
(harness/http_protocol.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import PROBLEM_MEDIA_TYPE, Problem

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class BodyLimits:
    """The most a server reads of one request body, and how long it waits for all of it."""

    max_bytes: int
    timeout_s: float = 30.0


# The ØiR message APIs (the simulators). The largest message the contracts allow — OpretDebitorkonto
# with 100 claims of 20 sub-claims each, every text at its 200-character maximum — is 0.7 MB of ASCII,
# 1.1 MB of Danish UTF-8 and 2.8 MB if every non-ASCII character is \u-escaped; a PSRM delivery of 500
# actions is under 0.5 MB; real messages are a few kB. 4 MiB passes every valid message in any encoding.
MESSAGE_LIMITS = BodyLimits(max_bytes=4 * MIB)

# The DækningAfskrivning callback the engine takes in: one claim with its sub-claims (a debtor account
# holds at most 20 per claim), well under 5 kB; 256 KiB leaves room for 2,000 sub-claims.
CALLBACK_LIMITS = BodyLimits(max_bytes=256 * KIB)

BODY_TOO_LARGE = "OIR-413-TOO-LARGE"  # the code problems.py gives every 413
BODY_TIMEOUT = "OIR-408-BODY-TIMEOUT"
UNAUTHENTICATED = "OIR-401-UNAUTHENTICATED"


async def send_problem(send: Send, problem: Problem, instance: str | None = None, *, close: bool = True) -> None:
    """Answer with a problem+json body straight from ASGI; `close` ends the connection after it."""
    body = json.dumps(problem.body(instance)).encode()
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in problem.headers.items()]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the HTTP server refuses a malformed Content-Length before the app is called


def _too_large(limits: BodyLimits) -> Problem:
    detail = f"This API accepts request bodies of at most {limits.max_bytes} bytes"
    return Problem(413, BODY_TOO_LARGE, "Request body too large", detail)


def _too_slow(limits: BodyLimits) -> Problem:
    detail = f"A request body must arrive within {limits.timeout_s:g} s"
    return Problem(408, BODY_TIMEOUT, "The request body did not arrive in time", detail)


class _Refused(Exception):
    """The body was cut off (and answered, when the answer had not begun): the app must stop."""


class _BodyGuard:
    """The receive and send of one request, with the limits applied to the body as it arrives."""

    def __init__(self, receive: Receive, send: Send, limits: BodyLimits, instance: str, has_body: bool) -> None:
        self._receive = receive
        self._send = send
        self._limits = limits
        self._instance = instance
        self._deadline = asyncio.get_running_loop().time() + limits.timeout_s
        self._received = 0
        self._body_done = not has_body
        self.started = False  # the app's answer has begun
        self.refused = False

    async def receive(self) -> Message:
        if self._body_done:  # no body, or all of it came; e.g. waiting for a disconnect: no deadline
            return await self._receive()
        try:
            # a timer on the request's own task, not `wait_for`'s extra task and loop turn per chunk
            async with asyncio.timeout_at(self._deadline):
                message = await self._receive()
        except TimeoutError:
            await self._refuse(_too_slow(self._limits))
            raise _Refused from None
        if message["type"] != "http.request":
            self._body_done = True
            return message
        self._received += len(message.get("body", b""))
        if self._received > self._limits.max_bytes:
            await self._refuse(_too_large(self._limits))
            raise _Refused
        self._body_done = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the app's own reaction to the cut-off body (a 400, say) is not sent
        if message["type"] == "http.response.start":
            self.started = True
            if not self._body_done:
                # An answer before the whole body came (a GET that ignores its body, say): the server
                # would read the rest however slowly it trickles in, so the connection ends instead.
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
        await self._send(message)

    async def _refuse(self, problem: Problem) -> None:
        self.refused = True
        if not self.started:
            await send_problem(self._send, problem, self._instance)
        # else the answer has begun: the server closes the connection when the app stops


class BodyLimitMiddleware:
    """Refuses an oversized (413) or slow (408) request body; answers problem+json and closes.

    Add it outside every middleware that reads the body, so they read through it.
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits = MESSAGE_LIMITS) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limits.max_bytes:
            await send_problem(send, _too_large(self.limits), scope["path"])
            return
        has_body = bool(declared) or _header(scope, b"transfer-encoding") is not None
        guard = _BodyGuard(receive, send, self.limits, scope["path"], has_body)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            if not guard.refused:
                raise
            # whatever the app raised after the cut-off is its consequence; the answer is sent


class BearerGate:
    """Answers 401 to a protected operation without a known bearer token — before its body is read.

    FastAPI reads a request's body before it resolves the dependencies that check the token, so an
    unauthenticated caller could make the server read (and parse) a body of any size. The route's own
    dependency still decides what an authenticated caller may do (403).
    """

    def __init__(
        self, app: ASGIApp, *, tokens: Callable[[], Collection[str | None]], protects: Callable[[Scope], bool]
    ) -> None:
        self.app = app
        self.tokens = tokens  # the tokens accepted now (asked on every request)
        self.protects = protects  # whether a request is for a protected operation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.protects(scope):
            scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token or token not in self.tokens():
                detail = "No bearer token" if scheme.lower() != "bearer" or not token else "The token is not known here"
                problem = Problem(
                    401,
                    UNAUTHENTICATED,
                    "Missing or invalid bearer token",
                    detail,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await send_problem(send, problem, scope["path"])
                return
        await self.app(scope, receive, send)
