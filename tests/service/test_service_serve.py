"""`oir service serve` listens on the port it prints, and a port it cannot have is a clear error.

The command binds its socket itself and hands it to uvicorn: with `--port 0` the port it prints is the
one it serves on, and no other process can take it in between (as it could when the port was probed
with a socket that was let go, and bound again by uvicorn later).
"""

from __future__ import annotations

import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from harness.cli import app
from tests.support.environment import without_oir_settings


def _lines(stream: object) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_serve_on_port_0_answers_on_the_port_it_prints(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "harness.cli", "service", "serve", "--data-dir", str(tmp_path), "--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=without_oir_settings()
    )
    try:
        lines = _lines(process.stdout)
        deadline = time.monotonic() + 60  # real time: a real process starting
        printed = ""
        while not (found := re.search(r"on http://127\.0\.0\.1:(\d+) ", printed)):
            assert time.monotonic() < deadline, f"no address printed: {printed!r}"
            assert process.poll() is None, f"exited {process.returncode}: {printed!r}"
            try:
                printed += lines.get(timeout=0.5)
            except queue.Empty:
                continue
        port = int(found.group(1))
        assert port != 0
        answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=30)
        assert answer.status_code == 200 and "<form" in answer.text
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_on_a_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["service", "serve", "--data-dir", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"cannot listen on 127.0.0.1 port {port}" in result.output
