"""Provider verification: the committed pacts hold against every simulator (real servers on
127.0.0.1) and the real engine (the debtor systems' callback pact), and a provider that breaks one
fails with the interaction and requirement IDs named."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.checks.pact import INTERACTION_REQUIREMENTS, PROVIDERS, pact_files, verify_provider
from contracts.requirements import load_requirements
from harness.contract_checks import LOCAL_PROVIDERS, verify_local, verify_simulated
from harness.servers import ServerThread
from simulators import factory
from tests.pact.support import RenameField

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")


@pytest.mark.parametrize("provider", LOCAL_PROVIDERS)
def test_simulator_and_engine_honour_their_pacts(provider: str) -> None:
    result = verify_local(provider)
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
    assert pact_files("oir-fagsystem-v3"), "the debtor system's callback pact is missing"
    for provider in PROVIDERS:
        for path in pact_files(provider):
            import json

            for interaction in json.loads(path.read_text())["interactions"]:
                cited = INTERACTION_REQUIREMENTS.get(interaction["description"])
                assert cited, f"{path.name}: {interaction['description']!r} has no requirement IDs"
                assert set(cited) <= known, set(cited) - known


@pytest.fixture
def broken_debtor() -> Iterator[str]:
    with ServerThread(RenameField(factory("debtor")(profile="kmd-opus")), name="broken-debtor") as server:
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


def test_the_engine_refuses_callbacks_for_claims_it_never_registered(tmp_path: Path) -> None:
    """Without its provider state the real engine answers 422: the pact fails, naming the requirements."""
    from harness.contract_checks import ENGINE_CALLBACK_TOKEN, engine_world

    with engine_world(tmp_path) as (_, url):
        result = verify_provider("oir-fagsystem-v3", url, ENGINE_CALLBACK_TOKEN, states=lambda *_: None)
    assert not result.passed
    failed = {i.description: i for i in result.failed}
    assert set(failed) == {"DaekningAfskrivning reporting a payment", "DaekningAfskrivning reporting a closed account"}
    assert "B01R-PAYMENT" in failed["DaekningAfskrivning reporting a payment"].requirements
    assert "422" in " ".join(failed["DaekningAfskrivning reporting a payment"].mismatches)
