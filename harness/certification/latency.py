"""Answer time as evidence: every call a certification makes to the debtor system under test is timed,
summarised per operation (p50, p95, max) and judged against the profile's answer-time limit.

The calls come from four places and are timed where they leave the harness: the conformance probes
(`TimingTransport` under their HTTP client), the Pact verifier and, against a vendor's system, the
scenarios' engine, payment solution and actions (each through a `TimingProxy`, a pass-through reverse
proxy on 127.0.0.1 that forwards every request unchanged and times the vendor's answer), and the
contract fuzzing (schemathesis's HAR report: `record_har`). Each call is named by the
`oir-debitor-v3` operation it hits (`POST /debitorkonti`, `GET /debitorkonti/{debitorkontoId}` …).

A profile's `answer_time_limit_s` (KMD Opus: 300 s) is the longest the system may take to answer
(PROFILE-ANSWER-TIME, `requires: answer_time_limit`: not applicable to a profile without a limit).
The harness itself waits `patience(limit)` — twice the limit — for any answer, so an answer within
the limit is never lost to a harness timeout (it would then fail a requirement it has nothing to do
with), and an answer a little late is still measured, and judged late, instead of failing as an error
elsewhere. Durations are measured on the monotonic clock: they are evidence, not business time.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.types import Receive, Scope, Send

from contracts.specs import load_spec

from .judge import CheckOutcome

REQUIREMENT = "PROFILE-ANSWER-TIME"
CHECK = "answer-time"
DEFAULT_LIMIT_S = 300.0  # a profile without a limit: the harness still stops waiting, after 2 × this
_HOP_BY_HOP = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}
)
__all__ = [
    "CHECK",
    "REQUIREMENT",
    "AnswerTimes",
    "Timed",
    "TimingProxy",
    "TimingTransport",
    "operation_of",
    "patience",
    "percentile",
]


def patience(limit_s: float | None) -> float:
    """How long the harness waits for any answer of a system whose profile allows `limit_s` (None: no
    limit): twice the limit, so a late answer is still measured and judged as late, not lost."""
    return 2.0 * (limit_s if limit_s is not None else DEFAULT_LIMIT_S)


@cache
def _templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The debtor contract's paths as patterns, the most literal first (`/x/soeg` before `/x/{id}`)."""
    paths = sorted(load_spec("oir-debitor-v3")["paths"], key=lambda p: (p.count("{"), -len(p)))
    return tuple((re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "/?$"), p) for p in paths)


def operation_of(method: str, path: str) -> str:
    """`METHOD /template` of the contract operation a call hits (its own path if none matches)."""
    path = urlsplit(path).path or "/"
    template = next((t for pattern, t in _templates() if pattern.match(path)), path)
    return f"{method.upper()} {template}"


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..1) of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class Timed:
    operation: str
    seconds: float
    source: str  # probes, pact, scenarios, schemathesis, control
    answered: bool = True  # False: no answer came before the harness stopped waiting (`seconds` is how long it waited)


class AnswerTimes:
    """The timed calls of one certification run (thread-safe: the engine and the proxies record concurrently)."""

    def __init__(self) -> None:
        self._calls: list[Timed] = []
        self._lock = threading.Lock()

    def record(self, method: str, path: str, seconds: float, source: str, *, answered: bool = True) -> None:
        with self._lock:
            self._calls.append(Timed(operation_of(method, path), seconds, source, answered))

    @property
    def calls(self) -> list[Timed]:
        with self._lock:
            return list(self._calls)

    def summary(self, limit_s: float | None) -> dict[str, Any]:
        """Per operation: calls, p50/p95/max in seconds, how many went over the limit; for results.json,
        the report and the certificate."""
        calls = self.calls
        by_operation: dict[str, list[Timed]] = {}
        for call in calls:
            by_operation.setdefault(call.operation, []).append(call)
        operations = []
        for operation, timed in sorted(by_operation.items()):
            seconds = [t.seconds for t in timed]
            operations.append(
                {
                    "operation": operation,
                    "calls": len(timed),
                    "p50_s": round(percentile(seconds, 0.50), 3),
                    "p95_s": round(percentile(seconds, 0.95), 3),
                    "max_s": round(max(seconds), 3),
                    "over_limit": sum(1 for t in timed if _late(t, limit_s)),
                    "unanswered": sum(1 for t in timed if not t.answered),
                }
            )
        sources: dict[str, int] = {}
        for call in calls:
            sources[call.source] = sources.get(call.source, 0) + 1
        return {
            "limit_s": limit_s,
            "patience_s": patience(limit_s),
            "calls": len(calls),
            "sources": dict(sorted(sources.items())),
            "operations": operations,
        }

    def check(self, limit_s: float | None) -> tuple[CheckOutcome, list[str]]:
        """The answer-time check of the run and its evidence: failed when any call took longer than
        `limit_s` or got no answer; not run when no call was timed. Without a limit it cites a
        requirement the profile rules out (not applicable) — but a call that got no answer still fails it,
        citing nothing (a probe whose call timed out leaves its own requirements unjudged)."""
        calls = self.calls
        if not calls:
            return CheckOutcome(CHECK, (REQUIREMENT,), False, ran=False, reason="no call was timed"), []
        late = [t for t in calls if _late(t, limit_s)]
        limit_text = "no" if limit_s is None else f"the {limit_s:g} s"
        evidence = [
            f"{t.operation} ({t.source}): {'no answer within' if not t.answered else 'answered in'} {t.seconds:.3f} s"
            f", over {limit_text} limit"
            for t in sorted(late, key=lambda t: -t.seconds)[:20]
        ]
        if not late:
            slowest = max(calls, key=lambda t: t.seconds)
            limit = "no limit" if limit_s is None else f"the {limit_s:g} s limit"
            evidence = [f"{len(calls)} calls, all within {limit}; slowest {slowest.operation} {slowest.seconds:.3f} s"]
        if late and limit_s is None:
            # no limit to cite, but no answer is no answer: a failure citing nothing still fails the run
            return CheckOutcome(CHECK, (), False), evidence
        return CheckOutcome(CHECK, (REQUIREMENT,), not late), evidence

    def record_har(self, har: Path, source: str = "schemathesis") -> int:
        """Record the calls of a HAR file (schemathesis's report: each entry's `time` in ms); how many."""
        try:
            entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
        except (OSError, ValueError, KeyError, TypeError):
            return 0
        counted = 0
        for entry in entries:
            try:
                request = entry["request"]
                self.record(request["method"], request["url"], float(entry["time"]) / 1000.0, source)
                counted += 1
            except (KeyError, TypeError, ValueError):
                continue
        return counted


def _late(call: Timed, limit_s: float | None) -> bool:
    if not call.answered:
        return True
    return limit_s is not None and call.seconds > limit_s


class TimingTransport(httpx.BaseTransport):
    """An httpx transport that times every call to the system under test (the whole answer: head and body)."""

    def __init__(self, times: AnswerTimes, source: str, inner: httpx.BaseTransport | None = None) -> None:
        self.times = times
        self.source = source
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()  # real time: evidence of how long the system took
        try:
            response = self.inner.handle_request(request)
            response.read()
        except httpx.TimeoutException:
            self.times.record(request.method, request.url.path, time.monotonic() - started, self.source, answered=False)
            raise
        self.times.record(request.method, request.url.path, time.monotonic() - started, self.source)
        return response

    def close(self) -> None:
        self.inner.close()


class TimingProxy:
    """An ASGI reverse proxy to `upstream` that times each answer: callers that cannot be instrumented
    (the Pact verifier, a scenario's engine and payment solution) are pointed at it instead."""

    def __init__(self, upstream: str, times: AnswerTimes, source: str, timeout: float) -> None:
        self.upstream = upstream.rstrip("/")
        self.times = times
        self.source = source
        self._client = httpx.AsyncClient(timeout=timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope.get("raw_path") or scope["path"].encode()
        url = self.upstream + path.decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in _HOP_BY_HOP]
        started = time.monotonic()  # real time: evidence of how long the system took
        try:
            answer = await self._client.request(scope["method"], url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            seconds = time.monotonic() - started
            self.times.record(scope["method"], scope["path"], seconds, self.source, answered=False)
            problem = json.dumps(
                {
                    "type": "about:blank",
                    "title": "no answer from the system under test",
                    "status": 504,
                    "code": "OIR-504-NO-ANSWER",
                    "detail": f"{type(exc).__name__} after {seconds:.1f} s",
                }
            ).encode()
            await _respond(send, 504, [(b"content-type", b"application/problem+json")], problem)
            return
        self.times.record(scope["method"], scope["path"], time.monotonic() - started, self.source)
        kept = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.multi_items()
            if k.lower() not in _HOP_BY_HOP and k.lower() != "content-encoding"  # the body is passed on decoded
        ]
        await _respond(send, answer.status_code, kept, answer.content)


async def _respond(send: Send, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
