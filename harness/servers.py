"""Real HTTP servers for the apps: uvicorn on 127.0.0.1 (or a given address), on a free port, in a background thread.

`oir sim serve`, the HTTP-level tests and certification all start the simulators this way, so what
a test proves is what a vendor's engineer runs. Readiness is a condition with a deadline, never a
sleep. Every server speaks `http_protocol`: a request head must be complete within `header_timeout_s`
and at most `MAX_HEAD_BYTES`, and a malformed request gets a problem+json 400. `free_port` hands out
a port for a server another process binds later.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import socket
import threading
import time
from collections.abc import Coroutine, Iterable
from typing import Any, Self, TypeVar

import uvicorn

from .errors import HarnessError
from .http_protocol import HEADER_TIMEOUT_S, MAX_HEAD_BYTES, http_protocol

T = TypeVar("T")


class ServerError(HarnessError, RuntimeError):
    """A server did not come up in time, or is not running."""


class ServerThread:
    def __init__(
        self,
        app: Any,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        header_timeout_s: float = HEADER_TIMEOUT_S,
    ) -> None:
        self.name = name
        self.app = app
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            http=http_protocol(header_timeout_s=header_timeout_s),
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_keep_alive=5,  # seconds an idle kept-alive connection stays open (uvicorn's default)
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{name}", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None  # the server's, once it has started
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """Where this machine reaches the server: a server on every interface (0.0.0.0, ::) on loopback."""
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(self.host, self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 literal
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 15.0) -> Self:
        self._thread.start()
        deadline = time.monotonic() + timeout  # real time: waiting for a real socket
        while not self._server.started:
            if not self._thread.is_alive():
                raise ServerError(f"{self.name}: server thread ended during start-up")
            if time.monotonic() > deadline:
                raise ServerError(f"{self.name}: not listening after {timeout:.0f} s")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self._loop = self._server.servers[0].get_loop()
        return self

    def run_in_loop(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coroutine` on the server's own event loop, from another thread, and return its result: in
        turn with the requests the server is handling, as a request's handler would run (the harness moves
        its own simulators' clocks this way). What the coroutine raises, it raises. ServerError when the
        server is not running or stopping, stops before the work is done, or the work has not finished
        within `timeout` seconds."""
        loop = self._loop
        if loop is None or loop.is_closed() or not self._thread.is_alive() or self._server.should_exit:
            coroutine.close()
            raise ServerError(f"{self.name}: the server is not running")
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        except RuntimeError as exc:  # the loop closed since it was looked at
            coroutine.close()
            raise ServerError(f"{self.name}: the server is not running") from exc
        deadline = time.monotonic() + timeout  # real time: waiting for a real thread
        while True:
            try:  # in short waits: a loop that ends without running the work never completes it
                return future.result(max(0.0, min(0.1, deadline - time.monotonic())))
            except concurrent.futures.CancelledError as exc:
                raise ServerError(f"{self.name}: the server stopped before the work was done") from exc
            except TimeoutError:
                if future.done():
                    raise  # the coroutine's own
                if not self._thread.is_alive():
                    future.cancel()
                    raise ServerError(f"{self.name}: the server stopped before the work was done") from None
                if time.monotonic() >= deadline:
                    future.cancel()
                    raise ServerError(f"{self.name}: no result within {timeout:g} s") from None

    def stop(self, timeout: float = 10.0, *, wait: bool = True) -> None:
        """Ask the server to finish; with `wait` (the default) return once it has (its port is free).

        Without `wait`, return at once: uvicorn notices within its 0.1 s tick and closes in the background,
        which a caller done with a server on a port of its own (a finished scenario's engine) need not
        sit through (it was ~150 ms of every scenario)."""
        self._server.should_exit = True
        if wait:
            self.join(timeout)

    def join(self, timeout: float = 10.0) -> None:
        """Wait until a server asked to stop has finished (its port is free)."""
        self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def stop_all(servers: Iterable[ServerThread], timeout: float = 10.0) -> None:
    """Stop several servers at once: all are asked first, then each is waited for, so they wind down
    together (each takes up to uvicorn's 0.1 s tick to notice; one after the other, a world of eight
    simulators and a certification's counterparts spent about two seconds of every run only waiting)."""
    stopping = list(servers)
    for server in stopping:
        server.stop(wait=False)
    deadline = time.monotonic() + timeout  # real time: waiting for real threads
    for server in stopping:
        server.join(max(0.0, deadline - time.monotonic()))


class ServerGroup:
    """Servers started one at a time and stopped together (`stop_all`) when the group closes."""

    def __init__(self) -> None:
        self._servers: list[ServerThread] = []

    def start(self, server: ServerThread) -> ServerThread:
        self._servers.append(server.start())
        return server

    def close(self) -> None:
        stop_all(reversed(self._servers))
        self._servers.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# A port handed to a server that binds it later (another process: PostgreSQL, an engine, a vendor's system in
# a test) is drawn below the kernel's ephemeral range (32768-60999 on Linux): a port the kernel picked would
# be free when probed, but the next outgoing connection of any process may take it as its own before the
# server binds (seen in CI: "cannot start PSRM on port 40023: Address already in use").
_HANDED_OUT_RANGE = (20000, 32767)
_handed_out: set[int] = set()
_handing_out = threading.Lock()  # two threads drawing at once never get the same port
_draw = random.SystemRandom()


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now on `host`, for a server another process will bind: outside the range the
    kernel gives outgoing connections, and not handed out before by this process."""
    return free_ports(1, host)


def free_ports(count: int, host: str = "127.0.0.1") -> int:
    """The first of `count` consecutive ports free right now on `host` (a pool a service is given, say),
    every one of them recorded as handed out, as `free_port` records its one."""
    low, high = _HANDED_OUT_RANGE
    if not 1 <= count <= high - low + 1:
        raise ValueError(f"count must be 1-{high - low + 1}, not {count}")
    with _handing_out:
        for _ in range(200):
            first = _draw.randint(low, high - count + 1)
            ports = range(first, first + count)
            if any(port in _handed_out for port in ports) or not all(_bindable(host, port) for port in ports):
                continue
            _handed_out.update(ports)
            return first
    raise ServerError(f"no {count} consecutive free port(s) on {host} in {low}-{high} after 200 tries")


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
