"""The schemathesis command line, run as an outsider would, against `oir sim serve`, finds nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.client import wait_until
from tests.support.environment import ROOT, with_project_on_path

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    urls_file = tmp_path_factory.mktemp("serve") / "urls.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sim", "serve", "--urls-file", str(urls_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=with_project_on_path(),
    )
    try:
        wait_until(
            lambda: (urls_file.exists() and urls_file.stat().st_size > 0) or process.poll() is not None,
            timeout=60,
            what="oir sim serve to listen",
        )
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield json.loads(urls_file.read_text())
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


@pytest.mark.parametrize(
    ("system", "path"),
    [
        ("fbs", "/openapi.json"),
        ("psrm", "/openapi.json"),
        ("debtor-kmd-opus", "/openapi.json"),
        ("debtor-eg", "/openapi.json"),
        ("payment", "/openapi.json"),
        ("debtor-prisme-2009", "/_sim/openapi.json"),
    ],
)
def test_schemathesis_cli_finds_nothing(served: dict[str, str], system: str, path: str) -> None:
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            served[system] + path,
            "--checks",
            "all",
            "--max-examples",
            "8",
            "--seed",
            "20261124",
            "--no-color",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.split("Test cases:")[-1]
