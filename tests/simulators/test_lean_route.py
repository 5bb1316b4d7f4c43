"""The debtor's lean route: well-formed OpretDebitorkonto calls skip FastAPI's parameter solving, and
every answer — to good and to bad input, under an injected fault — is the one FastAPI's handler gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

import fastapi.routing
import httpx
import pytest
from fastapi import APIRouter, Depends, Header, Query, Response

from contracts import wire_client
from contracts.municipalities import load_municipalities
from harness.servers import ServerThread
from simulators import factory
from simulators.debtor import routes as debtor_routes
from simulators.kernel import DEV_TOKEN, lean_route
from simulators.kernel.lean_route import LeanPlan, LeanRoute

KK_CVR = "64942212"  # København: KMD Opus
OTHER_CVR = next(m.cvr for m in load_municipalities() if m.vendor != "kmd-opus")  # served by another vendor
SESSION = "lean-route"


def _served(*, lean: bool) -> ServerThread:
    if lean:
        return ServerThread(factory("debtor")(profile="kmd-opus"), name="debtor-lean").start()
    with pytest.MonkeyPatch.context() as patch:  # every route built with FastAPI's own handler only
        patch.setattr(lean_route, "lean_plan", lambda route: None)
        app = factory("debtor")(profile="kmd-opus")
    return ServerThread(app, name="debtor-fastapi").start()


@pytest.fixture(scope="module")
def twins() -> Iterator[dict[str, str]]:
    servers = {"lean": _served(lean=True), "fastapi": _served(lean=False)}
    yield {name: server.url for name, server in servers.items()}
    for server in servers.values():
        server.stop()


def _body(account: str, claim: str, amount: int = 12000, product: str = "BIB-GEBYR") -> dict[str, Any]:
    return {
        "debitorkontoId": account,
        "haeftelse": {"cpr": "0101901234"},
        "fordringer": [
            {
                "fordringId": claim,
                "produktkode": product,
                "tekst": "Gebyr",
                "stiftelsesdato": "2026-01-05",
                "forfaldsdato": "2026-01-05",
                "delfordringer": [{"delfordringId": f"{claim}-1", "beloebOere": amount, "tekst": "Gebyr"}],
            }
        ],
    }


def _headers(tid: str, **changes: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "Authorization": f"Bearer {DEV_TOKEN}",
        wire_client.SESSION: SESSION,
        wire_client.TRANSACTION_ID: tid,
        wire_client.TRANSACTION_TIME: wire_client.FIXED_SENT_AT,
        wire_client.MUNICIPALITY_CVR: KK_CVR,
        "Content-Type": "application/json",
    }
    headers.update(changes)
    return {k: v for k, v in headers.items() if v is not None}


def _tid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _message(n: int, amount: int = 12000, product: str = "BIB-GEBYR") -> bytes:
    return json.dumps(_body(f"K-L{n}", f"F-L{n}", amount, product)).encode()


NO = None
FIRST = json.dumps(_body("K-L1", "F-L1")).encode()
# (what, headers, body) in order: later calls build on earlier ones (a replay, an account that exists)
CALLS: list[tuple[str, dict[str, str], bytes]] = [
    ("well-formed", _headers(_tid(1)), FIRST),
    ("the same message again", _headers(_tid(1)), FIRST),
    ("a new claim on the account", _headers(_tid(2)), json.dumps(_body("K-L1", "F-L2")).encode()),
    ("transaction id reused", _headers(_tid(1)), json.dumps(_body("K-L1", "F-L3")).encode()),
    ("claim id with other content", _headers(_tid(3)), json.dumps(_body("K-L1", "F-L1", 999)).encode()),
    ("no transaction id", _headers(_tid(4), **{wire_client.TRANSACTION_ID: NO}), _message(4)),
    ("transaction id not a UUID", _headers("not-a-uuid"), _message(5)),
    ("time not RFC 3339", _headers(_tid(6), **{wire_client.TRANSACTION_TIME: "yesterday"}), _message(6)),
    ("unknown municipality", _headers(_tid(7), **{wire_client.MUNICIPALITY_CVR: "12345678"}), _message(7)),
    ("another vendor's municipality", _headers(_tid(8), **{wire_client.MUNICIPALITY_CVR: OTHER_CVR}), _message(8)),
    ("no credentials", _headers(_tid(9), Authorization=NO), _message(9)),
    ("unknown token", _headers(_tid(10), Authorization="Bearer nobody"), _message(10)),
    ("not JSON", _headers(_tid(11)), b'{"debitorkontoId": '),
    ("JSON sent as text", _headers(_tid(12), **{"Content-Type": "text/plain"}), _message(12)),
    ("empty body", _headers(_tid(13)), b""),
    ("a field missing", _headers(_tid(14)), json.dumps({"debitorkontoId": "K-L14"}).encode()),
    ("a negative amount", _headers(_tid(15)), _message(15, amount=-5)),
    ("unknown product", _headers(_tid(16)), _message(16, product="BIB-UKENDT")),
    ("JSON nested too deep to parse", _headers(_tid(18)), b"[" * 100_000 + b"]" * 100_000),
    ("JSON with charset", _headers(_tid(17), **{"Content-Type": "application/json; charset=utf-8"}), _message(17)),
]


def _answer(response: httpx.Response) -> tuple[int, str, str | None, Any]:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return response.status_code, response.headers.get("content-type", ""), response.headers.get("x-oir-replay"), body


def _exchange(url: str, calls: list[tuple[str, dict[str, str], bytes]]) -> dict[str, tuple[int, str, str | None, Any]]:
    with httpx.Client(base_url=url, timeout=20) as client:
        return {
            what: _answer(client.post("/debitorkonti", content=body, headers=headers)) for what, headers, body in calls
        }


def test_every_answer_is_the_one_fastapi_s_handler_gives(twins: dict[str, str]) -> None:
    lean, fastapi_only = _exchange(twins["lean"], CALLS), _exchange(twins["fastapi"], CALLS)
    for what in lean:
        assert lean[what] == fastapi_only[what], what
    statuses = {what: answer[0] for what, answer in lean.items()}
    assert statuses["well-formed"] == 201 and statuses["a new claim on the account"] == 200
    assert lean["the same message again"][2] == "true"  # replayed, not registered twice
    assert statuses["transaction id reused"] == statuses["claim id with other content"] == 409
    assert statuses["another vendor's municipality"] == statuses["unknown product"] == 422
    assert statuses["no credentials"] == statuses["unknown token"] == 401
    bad_input = ("no transaction id", "transaction id not a UUID", "time not RFC 3339", "unknown municipality")
    bad_input += ("not JSON", "JSON sent as text", "empty body", "a field missing", "a negative amount")
    bad_input += ("JSON nested too deep to parse",)
    assert {statuses[what] for what in bad_input} == {400}
    assert statuses["JSON with charset"] == 201


def test_an_injected_fault_fires_once_whether_or_not_the_call_is_well_formed(twins: dict[str, str]) -> None:
    """FastAPI takes a fault rule (in the call's dependency) before it checks the header block: a malformed
    call meets the fault, and the lean path must neither take a second rule nor skip the first."""
    calls = [
        ("no transaction id", _headers(_tid(40), **{wire_client.TRANSACTION_ID: NO}), _message(40)),
        ("well-formed", _headers(_tid(41)), _message(41)),
        ("well-formed again", _headers(_tid(42)), _message(42)),
    ]
    answers = {}
    for name, url in twins.items():
        session = f"{SESSION}-fault"
        control = {"Authorization": f"Bearer {DEV_TOKEN}", wire_client.SESSION: session}
        rule = {"operation": "OpretDebitorkonto", "kind": "error", "status": 503, "count": 2}
        httpx.post(url + "/_sim/faults", json=rule, headers=control, timeout=20).raise_for_status()
        answers[name] = _exchange(url, [(w, {**h, wire_client.SESSION: session}, b) for w, h, b in calls])
        fired = httpx.get(url + "/_sim/faults", headers=control, timeout=20).json()["rules"]
        assert [r["fired"] for r in fired] == [2], name
    assert answers["lean"] == answers["fastapi"]
    assert [a[0] for a in answers["lean"].values()] == [503, 503, 201]


def test_a_well_formed_registration_skips_fastapi_s_solving_and_a_malformed_one_does_not(
    twins: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    solved: list[str] = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["request"].url.path)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    with httpx.Client(base_url=twins["lean"], timeout=20) as client:
        good = client.post("/debitorkonti", content=_message(50), headers=_headers(_tid(50)))
        assert good.status_code == 201 and solved == []
        bad = _headers(_tid(51), **{wire_client.TRANSACTION_TIME: None})
        assert client.post("/debitorkonti", content=_message(51), headers=bad).status_code == 400
        assert solved == ["/debitorkonti"]
        # an operation that answers with a model is FastAPI's throughout
        assert client.get("/debitorkonti/K-L50", headers=_headers(_tid(52))).status_code == 200
        assert solved == ["/debitorkonti", "/debitorkonti/K-L50"]


# ---- which routes get a plan ----------------------------------------------------------------------
async def _sync_free() -> str:
    return "x"


def _sync_dependency() -> str:
    return "x"


async def _generator_dependency() -> Any:
    yield "x"


async def _union_header(x_tags: Annotated[str | list[str], Header()]) -> Any:
    return x_tags  # FastAPI reads every x-tags header into a list


def _route(router: APIRouter) -> Any:
    return router.routes[-1]


def test_a_plan_only_for_routes_it_answers_as_fastapi_would() -> None:
    opret = next(r for r in debtor_routes.router.routes if getattr(r, "operation_id", None) == "OpretDebitorkonto")
    assert LeanPlan.of(opret) is not None
    router = APIRouter(route_class=LeanRoute)

    @router.get("/plain")
    async def plain(value: Annotated[str, Depends(_sync_free)]) -> Response:
        return Response(value)

    assert LeanPlan.of(_route(router)) is not None

    @router.get("/query")
    async def query(q: Annotated[str, Query()]) -> Response:
        return Response(q)

    @router.get("/sync")
    async def sync(value: Annotated[str, Depends(_sync_dependency)]) -> Response:
        return Response(value)

    @router.get("/generator")
    async def generator(value: Annotated[str, Depends(_generator_dependency)]) -> Response:
        return Response(value)

    @router.get("/union-header")
    async def union_header(value: Annotated[Any, Depends(_union_header)]) -> Response:
        return Response(repr(value))

    @router.get("/model")
    async def model(value: Annotated[str, Depends(_sync_free)]) -> dict[str, str]:
        return {"value": value}

    for path in ("/query", "/sync", "/generator", "/union-header", "/model"):
        route = next(r for r in router.routes if getattr(r, "path", None) == path)
        assert LeanPlan.of(route) is None, path
