"""The simulators and the engine API build no route when they are made, and none in a server thread.

FastAPI builds a route's parameter validators inside `warnings.catch_warnings()`, which is not
thread-safe; two server threads building routes at once leaked pydantic's
UnsupportedFieldAttributeWarning into the suite (contracts/prebuilt_routes.py). The apps serve their
routers' routes flat, built once with their routers at import. These tests count the validators
FastAPI builds (`ModelField`, where that `catch_warnings` is) while and after an app is made.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Header
from fastapi._compat import v2 as fastapi_fields
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from contracts.municipalities import for_vendor
from contracts.profile import PROFILE_NAMES
from harness.servers import ServerThread
from integration import Engine, EngineSettings, ManualClock
from tests.support.apps import APP_CASES, build


@pytest.fixture
def fields_built(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of the thread each parameter validator FastAPI builds from now on is built in."""
    built: list[str] = []
    original = fastapi_fields.ModelField.__post_init__

    def counted(self: fastapi_fields.ModelField) -> None:
        built.append(threading.current_thread().name)
        original(self)

    monkeypatch.setattr(fastapi_fields.ModelField, "__post_init__", counted)
    yield built


def _the_count_sees_a_route_built(fields_built: list[str]) -> None:
    before = len(fields_built)
    probe = APIRouter()

    @probe.get("/probe")
    async def answer(x_probe: Annotated[str, Header()]) -> None: ...

    assert len(fields_built) > before


@pytest.mark.parametrize(("name", "kwargs"), [c[1:3] for c in APP_CASES], ids=[c[0] for c in APP_CASES])
def test_a_simulator_builds_no_route_when_it_is_made(name: str, kwargs: dict, fields_built: list[str]) -> None:
    build(name, **kwargs)  # the first in the process imports its modules, which build their routers' routes
    _the_count_sees_a_route_built(fields_built)
    before = len(fields_built)
    app = build(name, **kwargs)
    assert sum(1 for _ in iter_route_contexts(app.router.routes)) > 10
    assert fields_built[before:] == []  # its routers' routes, built once at import, served as they are


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine whose peers are nowhere: only its API is asked."""
    settings = EngineSettings(
        fbs_url="http://127.0.0.1:9",
        debtor_urls=dict.fromkeys(PROFILE_NAMES, "http://127.0.0.1:9"),
        database_url=f"sqlite:///{tmp_path / 'engine.sqlite'}",
    )
    made = Engine(settings, clock=ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)))
    yield made
    made.close()


def test_the_engine_api_builds_no_route_when_it_is_made(engine: Engine, fields_built: list[str]) -> None:
    engine.api()  # the first in the process imports its modules, which build their routers' routes
    _the_count_sees_a_route_built(fields_built)
    before = len(fields_built)
    app = engine.api()
    assert sum(1 for _ in iter_route_contexts(app.router.routes)) > 3
    assert fields_built[before:] == []


def test_a_first_request_builds_nothing_in_the_server_thread(fields_built: list[str]) -> None:
    municipality = for_vendor("kmd-opus")[0]
    with ServerThread(build("debtor", profile="kmd-opus"), name="debtor", log_level="error") as server:
        answer = httpx.post(
            f"{server.url}/debitorkonti",
            headers={
                "Authorization": "Bearer oir-dev-token",
                "X-Sim-Session": "prebuilt",
                "X-Transaktion-Id": str(uuid.uuid4()),
                "X-Transaktion-Tid": "2026-01-05T09:00:00+01:00",
                "X-Kommune-Cvr": municipality.cvr,
            },
            json={
                "debitorkontoId": "K-1",
                "haeftelse": {"cpr": "0101901234"},
                "fordringer": [
                    {
                        "fordringId": "F-1",
                        "produktkode": "BIB-GEBYR",
                        "tekst": "Gebyr",
                        "stiftelsesdato": "2026-01-05",
                        "forfaldsdato": "2026-01-05",
                        "delfordringer": [{"delfordringId": "F-1-1", "beloebOere": 12000, "tekst": "Gebyr"}],
                    }
                ],
            },
        )
    assert answer.status_code == 201, answer.text  # the route ran, with its header block and body validated
    assert [thread for thread in fields_built if thread.startswith("uvicorn-")] == []


@pytest.mark.parametrize(
    ("name", "kwargs", "method", "path", "allowed"),
    [
        ("debtor", {"profile": "kmd-opus"}, "PUT", "/debitorkonti", "POST"),
        ("debtor", {"profile": "eg"}, "POST", "/_sim/clock", "GET, PUT"),
        ("fbs", {}, "DELETE", "/haendelser", "GET"),
    ],
)
def test_a_wrong_method_is_answered_405_naming_the_methods_the_path_takes(
    name: str, kwargs: dict, method: str, path: str, allowed: str
) -> None:
    """The problem handler finds the methods among the app's routes: served flat, it sees them all (through
    FastAPI's nested include it saw none, and every 405 said `Allow: `)."""
    with TestClient(build(name, **kwargs)) as client:
        answer = client.request(method, path, headers={"Authorization": "Bearer oir-dev-token"})
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
    assert answer.headers["content-type"] == "application/problem+json"


def test_the_engine_api_answers_a_wrong_method_405_naming_the_methods(engine: Engine) -> None:
    with TestClient(engine.api()) as client:
        answer = client.put("/health")
    assert (answer.status_code, answer.headers["allow"]) == (405, "GET")
