"""Real servers for the simulator tests: the five debtor profiles and a fagsystem receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contracts.profile import PROFILE_NAMES
from harness.servers import ServerThread
from simulators import factory
from tests.support.client import SimClient
from tests.support.fagsystem import TOKEN, Receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    with ServerThread(rec.app, name="fagsystem") as server:
        yield rec, server.url


@pytest.fixture(scope="module")
def debtors(receiver: tuple[Receiver, str]) -> Iterator[dict[str, str]]:
    servers = {
        p: ServerThread(
            factory("debtor")(profile=p, callback_url=receiver[1], callback_token=TOKEN), name=f"debtor-{p}"
        ).start()
        for p in PROFILE_NAMES
    }
    yield {p: s.url for p, s in servers.items()}
    for server in servers.values():
        server.stop()


def _client(url: str) -> Iterator[SimClient]:
    client = SimClient(url)
    yield client
    client.close()


def _served(name: str) -> Iterator[str]:
    with ServerThread(factory(name)(), name=name) as server:
        yield server.url


@pytest.fixture
def opus(debtors: dict[str, str]) -> Iterator[SimClient]:
    yield from _client(debtors["kmd-opus"])


@pytest.fixture(scope="module")
def psrm_url() -> Iterator[str]:
    yield from _served("psrm")


@pytest.fixture
def psrm(psrm_url: str) -> Iterator[SimClient]:
    yield from _client(psrm_url)


@pytest.fixture(scope="module")
def fbs_url() -> Iterator[str]:
    yield from _served("fbs")


@pytest.fixture
def fbs(fbs_url: str) -> Iterator[SimClient]:
    yield from _client(fbs_url)
