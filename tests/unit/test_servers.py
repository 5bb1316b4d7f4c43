"""Servers stopped together are all gone when the stop returns: their threads ended, their ports refuse.
Work handed to a running server's loop (`run_in_loop`) runs there, in turn with its requests.

(`stop_all` asks every server before it waits for any; that they wind down side by side is a speed
matter, measured by `python -m bench`, never timed here.)"""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx
import pytest
from fastapi import FastAPI

from harness.servers import ServerError, ServerGroup, ServerThread, stop_all


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return app


def _refuses(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_stop_all_returns_once_every_server_has_closed_its_port() -> None:
    servers = [ServerThread(_app(), name=f"s{i}").start() for i in range(4)]
    with httpx.Client() as client:  # kept-alive connections, as a world's clients hold them
        assert all(client.get(f"{s.url}/ping").json() == {"pong": "yes"} for s in servers)
        stop_all(servers)
        assert [s._thread.is_alive() for s in servers] == [False] * 4
        assert all(_refuses(s.port) for s in servers)


def test_a_server_group_stops_what_it_started_when_it_closes() -> None:
    with ServerGroup() as group:
        first = group.start(ServerThread(_app(), name="first"))
        second = group.start(ServerThread(_app(), name="second"))
        assert httpx.get(f"{second.url}/ping").status_code == 200
    assert not first._thread.is_alive() and not second._thread.is_alive()
    assert _refuses(first.port) and _refuses(second.port)


def test_work_run_in_a_servers_loop_runs_on_its_thread_and_hands_back_its_result_or_error() -> None:
    async def where() -> str:
        return threading.current_thread().name

    async def refuse() -> None:
        raise LookupError("refused in the loop")

    with ServerThread(_app(), name="looped") as server:
        assert server.run_in_loop(where(), timeout=5) == "uvicorn-looped"
        with pytest.raises(LookupError, match="refused in the loop"):
            server.run_in_loop(refuse(), timeout=5)
        with pytest.raises(ServerError, match="no result within"):
            server.run_in_loop(asyncio.sleep(30), timeout=0.2)
        assert httpx.get(f"{server.url}/ping").status_code == 200  # the loop still serves
    with pytest.raises(ServerError, match="not running"):
        server.run_in_loop(where(), timeout=5)


def test_work_handed_to_a_stopping_server_is_refused_and_work_it_drops_is_an_error_not_a_hang() -> None:
    async def where() -> str:
        return threading.current_thread().name

    server = ServerThread(_app(), name="stopping").start()
    try:
        server.stop(wait=False)  # asked to stop; its loop may still be running
        with pytest.raises(ServerError, match="not running"):
            server.run_in_loop(where(), timeout=5)
    finally:
        server.join()

    async def timed_out() -> None:
        raise TimeoutError("the work's own timeout")

    with ServerThread(_app(), name="own-timeout") as running:
        with pytest.raises(TimeoutError, match="the work's own timeout"):  # not mistaken for no result in time
            running.run_in_loop(timed_out(), timeout=5)
        slow = running.run_in_loop  # work still running when the server stops: an error at once, not a hang
        stopper = threading.Timer(0.3, running.stop, kwargs={"wait": False})
        stopper.start()
        with pytest.raises(ServerError, match="stopped before the work was done"):
            slow(asyncio.sleep(60), timeout=30)
        stopper.join()
