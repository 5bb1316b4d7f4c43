"""Concurrent delivery: calls really overlap, yet a claim's messages never do and keep their order;
and what the engine logs about outcomes (rejections, retries, circuits) is structured and CPR-masked."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from contracts.municipalities import Municipality, for_vendor
from contracts.synthetic import SyntheticData
from harness.servers import ServerThread
from integration import Engine, EngineSettings, ManualClock
from tests.support.client import SimClient, wait_until
from tests.support.engine_world import simulated_settings

PEOPLE = SyntheticData(seed=515)
CONCURRENCY = 4


class DebtorDouble:
    """A debtor system that notes which claims are in flight, holds registrations until CONCURRENCY of
    them are in flight together (or a deadline passes), and can reject quoting the liable party's CPR."""

    def __init__(self, *, reject_quoting_cpr: bool = False, together: int = CONCURRENCY) -> None:
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.most_in_flight = 0
        self.overlaps: list[str] = []  # claims that had two calls in flight at once
        self.order: list[tuple[str, str]] = []  # (claim, operation) as answered
        self.all_in = threading.Barrier(together, timeout=5)
        self.reject_quoting_cpr = reject_quoting_cpr
        self.held: set[str] = set()  # claims whose registration is answered only once `release` is set
        self.release = threading.Event()
        self.server = ServerThread(self._build(), name="debtor-double")

    def _enter(self, claim: str) -> None:
        with self.lock:
            if self.in_flight.get(claim):
                self.overlaps.append(claim)
            self.in_flight[claim] = self.in_flight.get(claim, 0) + 1
            self.most_in_flight = max(self.most_in_flight, sum(self.in_flight.values()))

    def _leave(self, claim: str, operation: str) -> None:
        with self.lock:
            self.in_flight[claim] -= 1
            self.order.append((claim, operation))

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/debitorkonti")
        def register(body: dict[str, Any]) -> JSONResponse:  # a plain def: several run at once
            claim = body["fordringer"][0]["fordringId"]
            if self.reject_quoting_cpr:
                cpr = body["haeftelse"]["cpr"]
                problem = {"code": "OIR-422-TEST", "title": "Rejected", "detail": f"CPR {cpr} is not known here"}
                return JSONResponse(problem, status_code=422, media_type="application/problem+json")
            self._enter(claim)
            try:
                self.all_in.wait()
            except threading.BrokenBarrierError:
                pass  # fewer calls at once than CONCURRENCY: the assertions below say so
            if claim in self.held:
                self.release.wait(timeout=10)
            self._leave(claim, "register")
            return JSONResponse({"debitorkontoId": body["debitorkontoId"], "oprettet": True}, status_code=201)

        @app.post("/fordringer/{claim}/tilstand")
        def change(claim: str, request: Request) -> JSONResponse:
            self._enter(claim)
            self._leave(claim, "write-down")
            return JSONResponse({"fordringId": claim}, status_code=200)

        return app


@pytest.fixture
def double() -> Iterator[DebtorDouble]:
    made = DebtorDouble()
    with made.server:
        yield made


def _engine(world: dict[str, str], url: str, session: str, debtor_url: str, **more: Any) -> Engine:
    settings = EngineSettings(
        fbs_url=world["fbs"],
        debtor_urls={"kmd-opus": debtor_url},
        database_url=url,
        extra_headers={"X-Sim-Session": session},
        **{"concurrency": CONCURRENCY, **more},
    )
    return Engine(settings, clock=ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)), seed=5)


def _claim(fbs: SimClient, municipality: Municipality, cpr: str | None = None) -> dict[str, Any]:
    person = PEOPLE.person()
    borrower = fbs.post("/laanere", {"cpr": cpr or person.cpr, "navn": person.name}, cvr=municipality.cvr).json()
    response = fbs.post(
        "/fordringer",
        {"laanerId": borrower["laanerId"], "type": "GEBYR", "beloebOere": 9000, "tekst": "Gebyr"},
        cvr=municipality.cvr,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_calls_overlap_but_a_claim_s_messages_never_do_and_stay_in_order(
    world: dict[str, str], database_url: str, double: DebtorDouble
) -> None:
    session = f"conc-{uuid.uuid4().hex[:8]}"
    fbs = SimClient(world["fbs"], session)
    opus = for_vendor("kmd-opus")
    claims = []
    for index in range(CONCURRENCY):  # each claim's write-down right behind its registration in the feed
        claim = _claim(fbs, opus[index % 3])
        claims.append(claim)
        written = fbs.post(
            f"/fordringer/{claim['fordringId']}/nedskrivninger",
            {"beloebOere": 1000, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
            cvr=claim["kommuneCvr"],
        )
        assert written.status_code == 200, written.text
    engine = _engine(world, database_url, session, double.server.url)
    try:
        report = engine.cycle()
    finally:
        engine.close()
    assert (report.delivered, report.rejected, report.retrying) == (2 * CONCURRENCY, 0, 0)
    assert double.most_in_flight == CONCURRENCY  # the registrations really were in flight together
    assert double.overlaps == []
    for claim in claims:
        assert [op for c, op in double.order if c == claim["fordringId"]] == ["register", "write-down"]


def _logged(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "oir.engine"]
    return [line for line in lines if line["event"] == event]


def test_a_logged_rejection_names_its_code_and_carries_no_unmasked_cpr(
    world: dict[str, str], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    session = f"log-{uuid.uuid4().hex[:8]}"
    fbs = SimClient(world["fbs"], session)
    cpr = PEOPLE.cpr()
    claim = _claim(fbs, for_vendor("kmd-opus")[0], cpr)
    with DebtorDouble(reject_quoting_cpr=True).server as server:
        engine = _engine(world, database_url, session, server.url)
        caplog.set_level(logging.INFO, logger="oir.engine")
        try:
            report = engine.cycle()
        finally:
            engine.close()
    assert report.rejected == 1
    [line] = _logged(caplog, "delivery-rejected")
    assert (line["code"], line["status"], line["claim"]) == ("OIR-422-TEST", 422, claim["fordringId"])
    assert f"CPR {cpr[:6]}-xxxx is not known here" == line["text"]  # the debtor's text, masked
    logged = caplog.text
    assert cpr not in logged and f"{cpr[:6]}-{cpr[6:]}" not in logged


def test_retries_and_the_circuit_opening_and_closing_are_logged(
    world: dict[str, str], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    session = f"circ-{uuid.uuid4().hex[:8]}"
    fbs = SimClient(world["fbs"], session)
    kk = for_vendor("kmd-opus")[0]
    debtor = SimClient(world["kmd-opus"], session, cvr=kk.cvr)
    debtor.fault(operation="OpretDebitorkonto", kind="error", status=503)  # down until cleared
    for _ in range(3):
        _claim(fbs, kk)
    settings = simulated_settings(
        world,
        database_url,
        session,
        route_overrides={kk.code: {"failure_threshold": 2, "cooldown_s": 60}},
        concurrency=CONCURRENCY,
    )
    clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    engine = Engine(settings, clock=clock, seed=5)
    caplog.set_level(logging.INFO, logger="oir.engine")
    try:
        first = engine.cycle()
        assert (first.retrying, first.held) == (2, 1)  # two failures open the circuit; the third waits
        retries = _logged(caplog, "delivery-retry")
        assert [(r["status"], r["attempts"], r["route"]) for r in retries] == [(503, 1, kk.code)] * 2
        [opened] = _logged(caplog, "circuit-opened")
        assert (opened["route"], opened["failures"]) == (kk.code, 2)
        assert _logged(caplog, "circuit-closed") == []
        debtor.http.delete("/_sim/faults").raise_for_status()
        clock.advance(timedelta(seconds=61))
        assert engine.cycle().delivered == 3
    finally:
        engine.close()
    [closed] = _logged(caplog, "circuit-closed")
    assert closed["route"] == kk.code


def test_one_call_at_a_time_delivers_every_message_in_order(world: dict[str, str], database_url: str) -> None:
    """`concurrency` 1: no pool, each call made in the cycle's thread."""
    session = f"one-{uuid.uuid4().hex[:8]}"
    fbs = SimClient(world["fbs"], session)
    opus = for_vendor("kmd-opus")
    claims = []
    for index in range(3):
        claim = _claim(fbs, opus[index])
        claims.append(claim["fordringId"])
        written = fbs.post(
            f"/fordringer/{claim['fordringId']}/nedskrivninger",
            {"beloebOere": 1000, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
            cvr=claim["kommuneCvr"],
        )
        assert written.status_code == 200, written.text
    single = DebtorDouble(together=1)
    with single.server:
        engine = _engine(world, database_url, session, single.server.url, concurrency=1)
        try:
            report = engine.cycle()
        finally:
            engine.close()
    assert (report.delivered, report.rejected, report.retrying) == (6, 0, 0)
    assert single.most_in_flight == 1
    assert single.order == [(claim, "register") for claim in claims] + [(claim, "write-down") for claim in claims]


def test_a_pass_that_fails_with_calls_in_flight_leaves_the_next_pass_whole(
    world: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording fails (the database went away, say) while a call is still in flight: the cycle fails, and
    the next cycle of the same engine delivers everything, the late answer of the failed pass not mixed
    into it."""
    session = f"abort-{uuid.uuid4().hex[:8]}"
    fbs = SimClient(world["fbs"], session)
    claims = [_claim(fbs, municipality)["fordringId"] for municipality in for_vendor("kmd-opus")[:4]]
    slow = DebtorDouble(together=1)
    slow.held = {claims[-1]}
    with slow.server:
        engine = _engine(world, database_url, session, slow.server.url, lease_batch=2)
        record, failures = engine._delivery._record, []

        def record_failing_once(outcomes: Any, report: Any) -> None:
            if not failures:
                failures.append(len(outcomes))
                raise RuntimeError("the database went away")
            record(outcomes, report)

        monkeypatch.setattr(engine._delivery, "_record", record_failing_once)
        try:
            with pytest.raises(RuntimeError, match="database went away"):
                engine.cycle()
            wait_until(lambda: len(slow.order) == len(claims) - 1, what="the calls not held answered")
            assert sorted(claim for claim, _ in slow.order) == sorted(claims[:-1])  # the held one is in flight
            slow.release.set()
            wait_until(lambda: len(slow.order) == len(claims), what="the held call answered")
            report = engine.cycle()
            assert (report.delivered, report.rejected, report.retrying) == (len(claims), 0, 0)
            assert engine.outbox_counts() == (0, 0)
        finally:
            engine.close()
    # each claim sent again under the transaction id it was first sent with (receivers answer a replay)
    assert sorted(claim for claim, _ in slow.order) == sorted(claims * 2)
