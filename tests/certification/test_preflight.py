"""Preflight: before any check against a vendor's URL, a wrong token or a dead callback address is one
line saying what to fix and exit 2 — never NOT_CERTIFIED with 21 failed checks. What preflight cannot
check (whether the vendor's system reaches the callback address) it says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from rich.console import Console
from typer.testing import CliRunner

from contracts.municipalities import for_vendor
from harness.callback_relay import CallbackRelay
from harness.certification.commands import _announce
from harness.certification.preflight import PreflightError, check_callback, check_debtor
from harness.certification.target import Counterparts, Target
from harness.cli import app
from harness.servers import ServerThread
from tests.support.misbehaving import AsARealSystem, free_port, vendor_debtor

runner = CliRunner()


@pytest.fixture(scope="module")
def vendor() -> Iterator[str]:
    """A conforming KMD Opus system as a vendor runs it; it accepts the development token only."""
    app_ = AsARealSystem(vendor_debtor("kmd-opus", psrm_port=free_port(), callback_port=free_port()))
    with ServerThread(app_, name="vendor", log_level="critical") as debtor:
        yield debtor.url


def test_a_wrong_token_is_one_line_and_exit_2_before_any_check(tmp_path: Path, vendor: str) -> None:
    """Before: NOT_CERTIFIED (exit 1) with 21 failed checks, each a 401."""
    result = runner.invoke(
        app,
        ["certify", "--profile", "kmd-opus", "--debtor-url", vendor, "--out", str(tmp_path)],
        env={"OIR_DEBTOR_TOKEN": "not-the-token", "OIR_CALLBACK_TOKEN": "this-runs-own-callback-token"},
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: preflight: the debtor system at {vendor} refused the token on a read")
    assert "answered 401" in lines[0] and "OIR_DEBTOR_TOKEN" in lines[0] and "not-the-token" not in lines[0]
    assert not (tmp_path / "kmd-opus").exists()  # no checks ran, no report written


def _always(status: int) -> FastAPI:
    """A server that answers every request with `status` (problem+json)."""
    answering = FastAPI(openapi_url=None)

    @answering.api_route("/{path:path}", methods=["GET", "POST"])
    def answer(path: str) -> JSONResponse:
        return JSONResponse({"code": f"X-{status}", "status": status}, status_code=status)

    return answering


def test_the_token_is_checked_with_one_read(vendor: str) -> None:
    cvr = for_vendor("kmd-opus")[0].cvr
    assert check_debtor(vendor + "/", "oir-dev-token", cvr) == vendor  # 404 for an unknown account: accepted
    with ServerThread(_always(403), name="refuses", log_level="critical") as refusing:
        with pytest.raises(PreflightError) as refused:
            check_debtor(refusing.url, "oir-dev-token", cvr)
    message = str(refused.value)
    assert (
        "answered 403 X-403" in message and "no token was given, so the public development token was tried" in message
    )


def test_a_dead_callback_address_is_a_preflight_error() -> None:
    with pytest.raises(PreflightError, match=r"callback address http://127\.0\.0\.1:\d+ does not answer from here"):
        check_callback(f"http://127.0.0.1:{free_port()}")
    with ServerThread(_always(404), name="not-the-relay", log_level="critical") as other:
        with pytest.raises(PreflightError, match="something else than the harness's callback receiver"):
            check_callback(other.url)


def test_the_callback_check_runs_where_the_vendor_is_told_and_says_what_it_cannot_check() -> None:
    console = Console(record=True, width=80)
    relay = CallbackRelay("cb")
    with ServerThread(relay.app, name="relay", log_level="critical") as at:
        relay.url = at.url
        _announce(console, Counterparts("http://127.0.0.1:1", at.url, "cb"), Target(debtor_url="http://x"))
    text = console.export_text()
    assert f"the callback receiver listens at {at.url}" in text.replace("\n", " ")
    assert "cannot be checked before the run" in text and "no operation that makes it send a test message" in text
    assert relay.journal()[0]["outcome"] == "the harness's own preflight check (not from the debtor system)"
    relay.close()
    with pytest.raises(PreflightError):  # the relay has stopped: nothing answers there any more
        _announce(console, Counterparts("http://127.0.0.1:1", at.url, "cb"), Target(debtor_url="http://x"))
