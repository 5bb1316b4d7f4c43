"""Provider verification: the committed pacts hold against every simulator (real servers on
127.0.0.1), and a provider that breaks one fails with the interaction and requirement IDs named."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from contracts.checks.pact import INTERACTION_REQUIREMENTS, pact_files, verify_provider
from contracts.requirements import load_requirements
from harness.contract_checks import SIMULATED_PROVIDERS, verify_simulated
from harness.servers import ServerThread
from simulators import factory

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")


@pytest.mark.parametrize("provider", SIMULATED_PROVIDERS)
def test_simulator_honours_its_pacts(provider: str) -> None:
    result = verify_simulated(provider)
    assert result.interactions, f"no interactions verified for {provider}"
    assert result.passed, result.summary() + "\n" + result.output[-4000:]
    assert result.state_errors == []


def test_b03_is_verified_only_where_the_profile_has_a_payment_solution() -> None:
    with_b03 = {i.description for i in verify_simulated("debtor-prisme-2015-betaling").interactions}
    without = {i.description for i in verify_simulated("debtor-eg").interactions}
    assert "ForetagIndbetaling of a payable sub-claim" in with_b03
    assert "ForetagIndbetaling of a payable sub-claim" not in without


def test_every_recorded_interaction_cites_known_requirements() -> None:
    known = set(load_requirements())
    for provider in ("fbs", "oir-debitor-v3", "psrm-fordringshaver"):
        for path in pact_files(provider):
            import json

            for interaction in json.loads(path.read_text())["interactions"]:
                cited = INTERACTION_REQUIREMENTS.get(interaction["description"])
                assert cited, f"{path.name}: {interaction['description']!r} has no requirement IDs"
                assert set(cited) <= known, set(cited) - known


class _RenameField:
    """A provider that breaks the pact: `saldoOere` becomes `saldo` in every JSON answer."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: list[Message] = []
        body = bytearray()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.append(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            changed = bytes(body).replace(b'"saldoOere"', b'"saldo"')
            headers = [(k, v) for k, v in start[0]["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(changed)).encode()))
            await send({**start[0], "headers": headers})
            await send({"type": "http.response.body", "body": changed})

        await self.app(scope, receive, capture)


@pytest.fixture
def broken_debtor() -> Iterator[str]:
    with ServerThread(_RenameField(factory("debtor")(profile="kmd-opus")), name="broken-debtor") as server:
        yield server.url


def test_a_provider_that_renames_a_field_fails_naming_interaction_and_requirements(broken_debtor: str) -> None:
    result = verify_provider(
        "oir-debitor-v3", broken_debtor, "oir-dev-token", session="broken", consumers=("oir-engine",)
    )
    assert not result.passed
    failed = {i.description: i for i in result.failed}
    assert "RetFordringTilstand writing a claim down" in failed
    assert failed["RetFordringTilstand writing a claim down"].requirements == ["B01-WRITE-DOWN", "MSG-MONEY-OERE"]
    assert "B01-WRITE-DOWN" in result.summary()
    assert "saldoOere" in result.summary() + result.output
    assert result.requirements()["B01-WRITE-DOWN"] is False
