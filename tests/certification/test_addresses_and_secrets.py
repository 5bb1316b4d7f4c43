"""`oir certify` in CI: a missing secret (an empty environment variable) is an error, never the harness key
or the public default token; the address the harness binds and the URLs it advertises to a vendor's system
elsewhere are options; the public callback token is refused where the callback receiver can be reached
from a network."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from contracts.profile import load_profile
from harness.callback_relay import CallbackRelay
from harness.certification.run import _systems
from harness.certification.target import Target
from harness.cli import app
from tests.support.misbehaving import free_port

runner = CliRunner()
PORTS = ("--callback-port", "8701", "--psrm-port", "8702")


@pytest.mark.parametrize("name", ["OIR_SIGNING_KEY", "OIR_CALLBACK_TOKEN", "OIR_DEBTOR_TOKEN"])
def test_an_empty_secret_variable_is_a_one_line_error(tmp_path: Path, name: str) -> None:
    """What CI sets when the secret is missing: without this the run signs with the harness key or
    tells the vendor the public default callback token."""
    result = runner.invoke(app, ["certify", "--profile", "eg", "--out", str(tmp_path)], env={name: ""})
    assert result.exit_code == 2, result.output
    assert f"{name} is set but empty" in result.output
    assert "Traceback" not in result.output and not list(tmp_path.iterdir())  # nothing ran


def test_a_blank_secret_is_empty_too(tmp_path: Path) -> None:
    result = runner.invoke(app, ["certify", "--out", str(tmp_path)], env={"OIR_SIGNING_KEY": "  \n"})
    assert result.exit_code == 2 and "OIR_SIGNING_KEY is set but empty" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--callback-url", "https://tunnel.example:8701"], "--callback-url needs --callback-port"),
        (["--psrm-url", "https://tunnel.example:8702"], "--psrm-url needs --psrm-port"),
        (["--bind", "0.0.0.0"], "listens on every interface: say at which URLs"),
        (["--callback-url", "ftp://x", "--callback-port", "8701"], "--callback-url 'ftp://x' is not an http(s) URL"),
    ],
)
def test_advertised_urls_need_fixed_ports_and_a_wildcard_bind_needs_them(args: list[str], message: str) -> None:
    env = {"OIR_CALLBACK_TOKEN": "a-secret-of-the-vendor"}
    result = runner.invoke(
        app, ["certify", "--profile", "eg", "--debtor-url", "http://127.0.0.1:9/oir", *args], env=env
    )
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")


def test_advertised_urls_are_for_a_vendor_system(tmp_path: Path) -> None:
    result = runner.invoke(app, ["certify", "--profile", "eg", "--psrm-url", "http://x:1", "--psrm-port", "8702"])
    assert result.exit_code == 2 and "--psrm-url is the address a vendor's system reaches" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--callback-url", "https://tunnel.example:8701", "--callback-port", "8701"],
        ["--bind", "0.0.0.0", "--callback-url", "http://a:1", "--psrm-url", "http://a:2", *PORTS],
        ["--bind", "10.1.2.3"],
    ],
)
def test_the_public_callback_token_is_refused_where_a_network_reaches_the_receiver(args: list[str]) -> None:
    result = runner.invoke(app, ["certify", "--profile", "eg", "--debtor-url", "http://127.0.0.1:9/oir", *args])
    assert result.exit_code == 2, result.output
    assert "the callback token is the public default 'certification-callback-token'" in result.output
    assert "OIR_CALLBACK_TOKEN" in result.output


def test_the_options_read_their_environment_variables() -> None:
    env = {"OIR_BIND": "0.0.0.0", "OIR_CALLBACK_URL": "https://tunnel.example:8701"}
    result = runner.invoke(app, ["certify", "--profile", "eg", "--debtor-url", "http://127.0.0.1:9/oir"], env=env)
    assert result.exit_code == 2, result.output
    assert "--callback-url needs --callback-port" in result.output


def test_the_vendor_is_told_the_advertised_urls_while_the_harness_binds_where_asked() -> None:
    callback_port, psrm_port = free_port(), free_port()
    target = Target(
        debtor_url="https://vendor.example/oir",
        callback_token="a-secret-of-the-vendor",
        callback_port=callback_port,
        psrm_port=psrm_port,
        bind="0.0.0.0",
        callback_url="https://tunnel.example:8701",
        psrm_url="https://tunnel.example:8702",
    )
    relay = CallbackRelay(target.callback_token)
    with _systems(load_profile("eg"), target, relay) as (_, counterparts):
        assert (counterparts.callback_url, counterparts.psrm_url) == (
            "https://tunnel.example:8701",
            "https://tunnel.example:8702",
        )
        # the harness's own FBS, payment solution and engines reach PSRM locally, not through the tunnel
        assert counterparts.psrm_for_harness == f"http://127.0.0.1:{psrm_port}"
        hosts = {socket.gethostbyname(socket.gethostname()), "127.0.0.1"}
        for host in hosts:  # every interface, not loopback alone
            answer = httpx.post(f"http://{host}:{callback_port}/daekningafskrivning", json={}, timeout=5)
            assert answer.status_code in (401, 422), (host, answer.status_code)
            assert httpx.get(f"http://{host}:{psrm_port}/openapi.json", timeout=5).status_code == 200


def test_by_default_the_harness_binds_loopback_and_advertises_it() -> None:
    target = Target(debtor_url="https://vendor.example/oir")
    with _systems(load_profile("eg"), target, CallbackRelay("t")) as (_, counterparts):
        assert counterparts.callback_url.startswith("http://127.0.0.1:")
        assert counterparts.psrm_url == counterparts.psrm_for_harness


def test_the_public_callback_token_on_loopback_is_loudly_warned_about() -> None:
    result = runner.invoke(app, ["certify", "--profile", "eg", "--debtor-url", "http://127.0.0.1:9/oir"])
    assert "warning: the callback token is the public default 'certification-callback-token'" in result.output
    assert "listens on 127.0.0.1 (this machine alone)" in result.output
    assert result.exit_code == 2 and "unreachable" in result.output  # this URL answers nothing: the run stops
