"""No money acknowledged and then dropped (issue 11, defects 1 and 2).

A debtor system never redelivers a callback it was told was accepted, so every payment or write-off
the engine answers 202 must end in FBS: what the engine can judge (amounts, parts, the account) it
refuses at once with a 422, money on a claim FBS has annulled is booked as an overpayment to refund,
and anything FBS still refuses is quarantined — counted in /health, /metrics and reconciliation, and
replayable — never only a log line.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from contracts.municipalities import Municipality, for_vendor
from harness.cli import app
from integration.reconcile import reconcile
from tests.support.client import wait_until
from tests.support.engine_world import CALLBACK_TOKENS, EngineWorld, bank_payment, post_callback

OPUS = for_vendor("kmd-opus")[0]
TOKEN = CALLBACK_TOKENS["kmd-opus"]


@pytest.fixture
def engine_world(world: dict[str, str], database_url: str) -> Iterator[EngineWorld]:
    made = EngineWorld(world, database_url)
    yield made
    made.api.stop()


def _registered(engine_world: EngineWorld, amount: int = 12000, municipality: Municipality = OPUS) -> dict[str, Any]:
    claim = engine_world.claim(municipality, amount=amount)
    engine_world.engine.cycle()
    return claim


def _payment(claim: dict[str, Any], amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "meddelelseId": str(uuid.uuid4()),
        "debitorkontoId": f"FBS-{claim['kommuneKode']}-{claim['laanerId']}",
        "fordringId": claim["fordringId"],
        "type": "DAEKNING",
        "beloebOere": amount,
        "dato": "2026-01-05",
        **extra,
    }


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_money_that_cannot_fit_the_claim_is_refused_before_the_202(engine_world: EngineWorld) -> None:
    claim = _registered(engine_world, amount=12000)
    part = f"{claim['fordringId']}-1"
    over = post_callback(engine_world, _payment(claim, 12001), token=TOKEN, cvr=OPUS.cvr)
    _refused(over, 422, "OIR-422-AMOUNT-EXCEEDS-CLAIM")
    parts_off = _payment(claim, 5000, delfordringer=[{"delfordringId": part, "beloebOere": 4000}])
    _refused(post_callback(engine_world, parts_off, token=TOKEN, cvr=OPUS.cvr), 422, "OIR-422-PARTS-SUM")
    part_over = _payment(claim, 12500, delfordringer=[{"delfordringId": part, "beloebOere": 12500}])
    _refused(post_callback(engine_world, part_over, token=TOKEN, cvr=OPUS.cvr), 422, "OIR-422-AMOUNT-EXCEEDS-CLAIM")
    assert engine_world.received() == 0  # nothing was taken in, so nothing can be dropped later
    # Part payments that fit are taken, and the running total is the bound: 7000 + 5000 fits, 1 more does not.
    assert post_callback(engine_world, _payment(claim, 7000), token=TOKEN, cvr=OPUS.cvr).status_code == 202
    assert post_callback(engine_world, _payment(claim, 5000), token=TOKEN, cvr=OPUS.cvr).status_code == 202
    one_more = post_callback(engine_world, _payment(claim, 1), token=TOKEN, cvr=OPUS.cvr)
    _refused(one_more, 422, "OIR-422-AMOUNT-EXCEEDS-CLAIM")
    engine_world.engine.cycle()
    view = engine_world.fbs_claim(claim)
    assert (view["status"], view["saldoOere"], [p["beloebOere"] for p in view["posteringer"]]) == (
        "BETALT",
        0,
        [7000, 5000],
    )


def test_a_body_with_a_key_twice_is_malformed(engine_world: EngineWorld) -> None:
    claim = _registered(engine_world)
    body = _payment(claim, 100)
    raw = httpx.post(
        f"{engine_world.api.url}/daekningafskrivning",
        content=(json.dumps(body)[:-1] + ', "beloebOere": 99999}').encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {TOKEN}",
            "X-Transaktion-Id": str(uuid.uuid4()),
            "X-Transaktion-Tid": "2026-01-05T09:00:00+01:00",
            "X-Kommune-Cvr": OPUS.cvr,
        },
    )
    _refused(raw, 400, "OIR-400-DUPLICATE-KEY")
    assert "beloebOere" in raw.json()["detail"] and engine_world.received() == 0


def test_a_claim_named_with_another_claims_account_is_refused(engine_world: EngineWorld) -> None:
    mine = _registered(engine_world)
    other = _registered(engine_world, municipality=for_vendor("kmd-opus")[1])
    crossed = {**_payment(mine, 100), "debitorkontoId": f"FBS-{other['kommuneKode']}-{other['laanerId']}"}
    _refused(post_callback(engine_world, crossed, token=TOKEN, cvr=OPUS.cvr), 422, "OIR-422-ACCOUNT-MISMATCH")
    same_place = _registered(engine_world)  # another borrower of the same municipality
    crossed = {**_payment(mine, 100), "debitorkontoId": f"FBS-{same_place['kommuneKode']}-{same_place['laanerId']}"}
    _refused(post_callback(engine_world, crossed, token=TOKEN, cvr=OPUS.cvr), 422, "OIR-422-ACCOUNT-MISMATCH")
    assert engine_world.received() == 0


def test_a_bank_transfer_on_a_claim_fbs_annulled_meanwhile_is_an_overpayment_to_refund(
    engine_world: EngineWorld,
) -> None:
    debtor = engine_world.debtor("kmd-opus")
    claim = _registered(engine_world, amount=17000)
    bank_payment(debtor, claim, 17000)
    wait_until(lambda: engine_world.received() >= 1, what="the DAEKNING callback at the engine")
    annulled = engine_world.fbs.post(f"/fordringer/{claim['fordringId']}/annullering", {"aarsag": "Fejl"})
    assert annulled.status_code == 200, annulled.text
    engine_world.engine.cycle()
    view = engine_world.fbs_claim(claim)
    assert view["status"] == "ANNULLERET"
    assert [(p["type"], p["beloebOere"], p["overbetalingOere"]) for p in view["posteringer"]] == [
        ("DAEKNING", 17000, 17000)
    ]
    assert view["tilbagebetalingOere"] == 17000
    assert engine_world.engine.quarantine() == []


def test_what_fbs_still_refuses_is_quarantined_visible_and_replayable(
    engine_world: EngineWorld, database_url: str
) -> None:
    claim = _registered(engine_world, amount=12000)
    engine_world.fbs.fault(operation="modtagPostering", kind="error", status=422, count=1)
    assert post_callback(engine_world, _payment(claim, 4000), token=TOKEN, cvr=OPUS.cvr).status_code == 202
    report = engine_world.engine.cycle()
    assert report.quarantined == 1
    assert engine_world.fbs_claim(claim)["posteringer"] == []
    health = httpx.get(f"{engine_world.api.url}/health").json()
    assert (health["status"], health["quarantined"]) == ("attention", 1)
    assert "oir_engine_quarantined 1.0" in httpx.get(f"{engine_world.api.url}/metrics").text
    listed = reconcile(engine_world.engine).as_json()["quarantined"]
    assert [(q["claim"], q["kind"], q["status"], q["amountOere"]) for q in listed] == [
        (claim["fordringId"], "POSTING", 422, 4000)
    ]
    assert engine_world.engine.cycle().delivered == 0  # quarantine is not retried by itself
    # The operator's view and replay: `oir engine quarantine` on the engine's own database.
    options = [
        "engine",
        "quarantine",
        "--db",
        database_url,
        "--fbs-url",
        engine_world.world["fbs"],
        "--debtor",
        f"kmd-opus={engine_world.world['kmd-opus']}",
        "--callback-token",
        f"kmd-opus={TOKEN}",
        "--header",
        f"X-Sim-Session={engine_world.session}",
        "--dev",
    ]
    listed_by_cli = CliRunner().invoke(app, options)
    assert listed_by_cli.exit_code == 1, listed_by_cli.output
    assert '"amountOere": 4000' in listed_by_cli.output and claim["fordringId"] in listed_by_cli.output
    replayed = CliRunner().invoke(app, [*options, "--replay"])
    assert replayed.exit_code == 0, replayed.output
    assert "1 replayed: 1 delivered, 0 refused again" in replayed.output
    view = engine_world.fbs_claim(claim)
    assert (view["saldoOere"], [p["beloebOere"] for p in view["posteringer"]]) == (8000, [4000])
    assert httpx.get(f"{engine_world.api.url}/health").json()["quarantined"] == 0
