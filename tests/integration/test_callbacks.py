"""The return path through the engine: DækningAfskrivning callbacks from real debtor simulators
become postings and status notices in FBS, exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from contracts.checks import compare_openapi
from contracts.municipalities import for_vendor
from contracts.specs import load_spec
from simulators.kernel import generated_openapi
from tests.support.client import wait_until
from tests.support.engine_world import CALLBACK_TOKENS, EngineWorld, bank_payment, post_callback


@pytest.fixture
def engine_world(world: dict[str, str], database_url: str) -> Iterator[EngineWorld]:
    made = EngineWorld(world, database_url)
    yield made
    made.api.stop()


def test_the_engine_api_is_exactly_its_contract(engine_world: EngineWorld) -> None:
    assert compare_openapi(load_spec("oir-fagsystem-v3"), generated_openapi(engine_world.api._server.config.app)) == []


@pytest.mark.parametrize("profile", ["kmd-opus", "prisme-2015-betaling", "prisme-2015", "eg"])  # prisme-2009: below
def test_a_payment_at_the_debtor_becomes_one_posting_in_fbs(engine_world: EngineWorld, profile: str) -> None:
    debtor = engine_world.debtor(profile)
    claim = engine_world.claim(for_vendor(profile)[0])
    engine_world.engine.cycle()
    bank_payment(debtor, claim, 5000)
    wait_until(lambda: engine_world.received() == 1, what="the DAEKNING callback at the engine")
    assert engine_world.engine.cycle().delivered == 1
    fbs_view = engine_world.fbs_claim(claim)
    assert fbs_view["saldoOere"] == 7000 and [p["beloebOere"] for p in fbs_view["posteringer"]] == [5000]


def test_a_duplicated_callback_is_posted_once(engine_world: EngineWorld) -> None:
    debtor = engine_world.debtor("kmd-opus")
    claim = engine_world.claim(for_vendor("kmd-opus")[0])
    engine_world.engine.cycle()
    debtor.fault(operation="callback.DaekningAfskrivning", kind="duplicate_callback", count=1)
    bank_payment(debtor, claim, 12000)
    wait_until(
        lambda: len([e for e in debtor.journal("callback.DaekningAfskrivning", "out") if e["status"] == 202]) >= 3,
        what="duplicated payment callback and the account closure",
    )
    engine_world.engine.cycle()
    fbs_view = engine_world.fbs_claim(claim)
    assert [p["beloebOere"] for p in fbs_view["posteringer"]] == [12000]
    assert fbs_view["status"] == "BETALT" and fbs_view["kontoLukket"] is True


def test_nightly_batch_callbacks_reach_fbs_on_the_next_business_day(engine_world: EngineWorld) -> None:
    debtor = engine_world.debtor("prisme-2009")
    claim = engine_world.claim(for_vendor("prisme-2009")[0])
    engine_world.engine.cycle()
    bank_payment(debtor, claim, 2000)
    engine_world.engine.cycle()
    assert engine_world.fbs_claim(claim)["posteringer"] == []
    debtor.advance(days=1)  # Tuesday 02:00: the batch goes out
    engine_world.engine.cycle()
    assert [p["beloebOere"] for p in engine_world.fbs_claim(claim)["posteringer"]] == [2000]


def test_bad_or_foreign_callbacks_are_refused_and_nothing_is_recorded(engine_world: EngineWorld) -> None:
    opus = for_vendor("kmd-opus")[0]
    claim = engine_world.claim(opus)
    engine_world.engine.cycle()
    good = {
        "meddelelseId": str(uuid.uuid4()),
        "debitorkontoId": f"FBS-{opus.code}-{claim['laanerId']}",
        "fordringId": claim["fordringId"],
        "type": "DAEKNING",
        "beloebOere": 100,
        "dato": "2026-01-05",
    }
    cases = [
        (good, "wrong-token", opus.cvr, 401),
        (good, CALLBACK_TOKENS["eg"], opus.cvr, 403),  # EG may not report for Opus's claim
        ({**good, "beloebOere": 0}, CALLBACK_TOKENS["kmd-opus"], opus.cvr, 400),
        ({**good, "type": "DAEKNING", "beloebOere": None}, CALLBACK_TOKENS["kmd-opus"], opus.cvr, 400),
        ({**good, "fordringId": "FBS-NOPE"}, CALLBACK_TOKENS["kmd-opus"], opus.cvr, 422),
    ]
    for body, token, cvr, status in cases:
        response = post_callback(engine_world, {k: v for k, v in body.items() if v is not None}, token=token, cvr=cvr)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json" and response.json()["code"]
    assert engine_world.received() == 0
    first = post_callback(engine_world, good, token=CALLBACK_TOKENS["kmd-opus"], cvr=opus.cvr)
    again = post_callback(engine_world, good, token=CALLBACK_TOKENS["kmd-opus"], cvr=opus.cvr)
    assert (first.status_code, first.json()["dublet"], again.json()["dublet"]) == (202, False, True)
    other = post_callback(engine_world, {**good, "beloebOere": 200}, token=CALLBACK_TOKENS["kmd-opus"], cvr=opus.cvr)
    assert other.status_code == 409 and engine_world.received() == 1


def test_health_and_metrics_report_what_happened(engine_world: EngineWorld) -> None:
    debtor = engine_world.debtor("kmd-opus")
    debtor.fault(operation="OpretDebitorkonto", kind="error", status=503, count=1)
    claim = engine_world.claim(for_vendor("kmd-opus")[0])
    engine_world.engine.cycle()
    health = httpx.get(f"{engine_world.api.url}/health").json()
    assert health == {"status": "ok", "queueDepth": 1, "quarantined": 0}
    engine_world.clock.advance(timedelta(minutes=5))
    engine_world.engine.cycle()
    text = httpx.get(f"{engine_world.api.url}/metrics").text
    code = claim["kommuneKode"]
    assert f'oir_engine_deliveries_total{{outcome="done",route="{code}",target="debtor"}} 1.0' in text
    assert f'oir_engine_retries_total{{route="{code}",target="debtor"}} 1.0' in text
    assert "oir_engine_queue_depth 0.0" in text and "oir_engine_feed_events_total 1.0" in text
    assert f'oir_engine_delivery_seconds_count{{route="{code}",target="debtor"}} 2.0' in text


def test_reconciliation_repairs_a_lost_callback_once_and_a_late_one_is_not_counted_twice(
    engine_world: EngineWorld,
) -> None:
    from integration.reconcile import reconcile

    debtor = engine_world.debtor("kmd-opus")
    claim = engine_world.claim(for_vendor("kmd-opus")[0], amount=10000)
    engine_world.engine.cycle()
    debtor.fault(operation="callback.DaekningAfskrivning", kind="drop_callback", count=1)
    bank_payment(debtor, claim, 4000)  # the DAEKNING callback is lost
    engine_world.engine.cycle()
    assert engine_world.fbs_claim(claim)["saldoOere"] == 10000
    report = reconcile(engine_world.engine)
    assert [(d.kind, d.fbs_oere, d.debtor_oere, d.action) for d in report.differences] == [
        ("DAEKNING", 0, 4000, "posted 4000 øre to FBS")
    ]
    engine_world.engine.cycle()
    assert engine_world.fbs_claim(claim)["saldoOere"] == 6000
    assert reconcile(engine_world.engine).differences == []  # nothing left to repair
    dropped = next(e for e in debtor.journal("callback.DaekningAfskrivning", "out") if e["path"] == "(dropped)")
    late = post_callback(
        engine_world, dropped["requestBody"], token=CALLBACK_TOKENS["kmd-opus"], cvr=claim["kommuneCvr"]
    )
    assert late.status_code == 202  # the lost callback turns up after all
    engine_world.engine.cycle()
    view = engine_world.fbs_claim(claim)
    assert view["saldoOere"] == 6000 and [p["beloebOere"] for p in view["posteringer"]] == [4000]


def test_the_same_callback_arriving_many_times_at_once_is_taken_in_once(engine_world: EngineWorld) -> None:
    """Callbacks are taken in on parallel threads: copies racing each other are duplicates, not 500s."""
    from concurrent.futures import ThreadPoolExecutor

    opus = for_vendor("kmd-opus")[0]
    claim = engine_world.claim(opus)
    engine_world.engine.cycle()
    body = {
        "meddelelseId": str(uuid.uuid4()),
        "debitorkontoId": f"FBS-{opus.code}-{claim['laanerId']}",
        "fordringId": claim["fordringId"],
        "type": "DAEKNING",
        "beloebOere": 3000,
        "dato": "2026-01-05",
    }
    copies = 8

    def send(_: int) -> httpx.Response:
        return post_callback(engine_world, body, token=CALLBACK_TOKENS["kmd-opus"], cvr=opus.cvr)

    with ThreadPoolExecutor(copies) as pool:
        answers = list(pool.map(send, range(copies)))
    assert [a.status_code for a in answers] == [202] * copies, [a.text for a in answers if a.status_code != 202]
    assert sorted(a.json()["dublet"] for a in answers) == [False] + [True] * (copies - 1)
    assert engine_world.received() == 1
    engine_world.engine.cycle()
    assert [p["beloebOere"] for p in engine_world.fbs_claim(claim)["posteringer"]] == [3000]
