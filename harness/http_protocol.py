"""The HTTP/1.1 protocol our servers speak: uvicorn's h11 protocol with a request-head deadline and
problem+json answers to malformed requests.

uvicorn 0.54 (pinned) answers a request it cannot parse — a NUL or a bare CR in a header, a header
block over the size limit — with a text/plain 400, and it waits for a request head for ever: a
client that sends half a head and then nothing (slowloris) holds a connection open indefinitely.
This subclass, passed as `uvicorn.Config(http=...)` by `ServerThread`:

- answers a protocol error with problem+json (`OIR-400-MALFORMED-REQUEST`; 431 for a head over the
  size limit, 501 for a transfer coding it does not implement), then closes the connection;
- closes a connection whose request head is not complete within `header_timeout_s` of the
  connection opening or of the head's first byte (with a 408 problem+json when part of a head came).

The request body is bounded by the apps themselves (contracts/limits.py), the time between requests
on a kept-alive connection by uvicorn's `timeout_keep_alive`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol
from uvicorn.server import ServerState

from contracts.problems import PROBLEM_MEDIA_TYPE, Problem

HEADER_TIMEOUT_S = 10.0  # the whole request head (request line and headers) must arrive within this
MAX_HEAD_BYTES = 16 * 1024  # a request head larger than this is refused (431)

_PROTOCOL_ERRORS = {
    400: ("OIR-400-MALFORMED-REQUEST", "The request is not valid HTTP/1.1"),
    431: ("OIR-431-HEADERS-TOO-LARGE", "The request head is too large"),
    501: ("OIR-501-NOT-IMPLEMENTED", "The request uses a transfer coding this server does not implement"),
}
_MALFORMED_DETAIL = "The request line or a header could not be parsed (for example a NUL or a bare CR in a header)"


def _problem_bytes(problem: Problem) -> bytes:
    return json.dumps(problem.body()).encode()


class _Connection(h11.Connection):
    """h11's connection, remembering the protocol error it raised (its status hint picks the answer)."""

    error: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as error:
            self.error = error
            raise


class OirH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head deadline and problem+json protocol errors."""

    header_timeout_s: float = HEADER_TIMEOUT_S

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limit = config.h11_max_incomplete_event_size
        self._conn = _Connection(h11.SERVER, DEFAULT_MAX_INCOMPLETE_EVENT_SIZE if limit is None else limit)
        self.conn = self._conn  # uvicorn's own, remembering its protocol error
        self._head_timer: asyncio.TimerHandle | None = None

    # ---- the request-head deadline -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.trailing_data[0]:  # a pipelined head has begun (else the keep-alive timeout rules)
            self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _waiting_for_head(self) -> bool:
        return not self.transport.is_closing() and self.conn.their_state is h11.IDLE

    def _watch_head(self) -> None:
        if not self._waiting_for_head():
            self._stop_head_timer()  # the head is complete (or the connection ends)
        elif self._head_timer is None:  # the first bytes of a head: its deadline starts now
            self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._waiting_for_head():
            return
        if self.conn.trailing_data[0]:  # part of a head came: say why the connection ends
            self.logger.warning("Request head not complete within %g s; closing the connection.", self.header_timeout_s)
            detail = f"The request line and headers must arrive within {self.header_timeout_s:g} s"
            body = _problem_bytes(
                Problem(408, "OIR-408-HEADER-TIMEOUT", "The request head did not arrive in time", detail)
            )
            # h11 cannot answer a request it has not seen; nothing follows on this connection
            head = (
                f"HTTP/1.1 408 Request Timeout\r\ncontent-type: {PROBLEM_MEDIA_TYPE}\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(head.encode("ascii") + body)
        self.transport.close()

    # ---- protocol errors ---------------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        hint = self._conn.error.error_status_hint if self._conn.error is not None else 400
        status = hint if hint in _PROTOCOL_ERRORS else 400
        code, title = _PROTOCOL_ERRORS[status]
        body = _problem_bytes(Problem(status, code, title, _MALFORMED_DETAIL if status == 400 else None))
        headers = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app's answer to this request is not sent any more
        try:
            for event in (
                h11.Response(status_code=status, headers=headers, reason=STATUS_PHRASES[status]),
                h11.Data(data=body),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event) or b"")
        except h11.LocalProtocolError:
            pass  # an answer had already begun on this connection: closing it is all there is to do
        self.transport.close()


def http_protocol(*, header_timeout_s: float = HEADER_TIMEOUT_S) -> type[OirH11Protocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with this request-head deadline."""

    class Configured(OirH11Protocol):
        pass

    Configured.header_timeout_s = header_timeout_s
    return Configured
