"""Servers a benchmark measures, each as its own uvicorn process on 127.0.0.1.

Separate processes, so that the servers and the load (or the engine) never share one GIL: what a
benchmark reports is then the servers' speed, not the contention of one interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from harness.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
PIDS: dict[str, int] = {}  # the process serving each URL `served` yields, while it serves (for bench.cpu)


def with_project_on_path(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (the current one by default) with the project first on PYTHONPATH, ahead of (never instead of) what
    the caller put there: a plugin or profiler hook on the path still reaches the process started. (The tests'
    processes get theirs from here too, through `tests.support.environment`.)"""
    base = dict(os.environ if env is None else env)
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), base.get("PYTHONPATH", "")]))
    return base


@contextmanager
def served(factory: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start `bench.targets:<factory>` under uvicorn on a free port; yield its URL.

    Not `--fd`: uvicorn wraps an inherited socket as AF_UNIX, so asyncio never sets TCP_NODELAY on
    its connections and every answer waits ~40 ms for Nagle and delayed ACK (measured here).
    """
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"bench.targets:{factory}",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**with_project_on_path(), **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    PIDS[url] = process.pid
    try:
        deadline = time.monotonic() + 30  # real time: waiting for a real server
        while True:
            try:
                if httpx.get(url + "/openapi.json", timeout=1).status_code in (200, 404):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{factory}: server did not start on port {port}")
            time.sleep(0.05)  # polling a condition with a deadline, not synchronising
        yield url
    finally:
        PIDS.pop(url, None)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
