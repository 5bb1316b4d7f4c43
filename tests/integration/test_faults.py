"""Faults change nothing in the end: the same claims and payments, once with debtor 503 bursts,
timeouts, dropped connections, and duplicated and dropped callbacks, and once without, leave FBS in
the same state (dropped callbacks are repaired by reconciliation)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.municipalities import for_vendor
from contracts.profile import PROFILE_NAMES
from contracts.synthetic import SyntheticData
from harness.servers import ServerThread
from integration import Engine, ManualClock
from integration.reconcile import reconcile
from tests.support.client import SimClient
from tests.support.engine_world import simulated_settings

TOKENS = {p: f"cb-{p}" for p in PROFILE_NAMES}
FAULTS = [
    {"operation": "OpretDebitorkonto", "kind": "error", "status": 503, "count": 6},
    {"operation": "OpretDebitorkonto", "kind": "drop", "count": 2},
    {"operation": "OpretDebitorkonto", "kind": "timeout", "latency_ms": 1500, "count": 1},
    {"operation": "RetFordringTilstand", "kind": "error", "status": 502, "count": 2},
    {"operation": "callback.DaekningAfskrivning", "kind": "duplicate_callback", "probability": 0.5},
    {"operation": "callback.DaekningAfskrivning", "kind": "drop_callback", "count": 2},
]


def _run(world: dict[str, str], db: Path, faults: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    session = f"f-{uuid.uuid4().hex[:8]}"
    fbs = SimClient(world["fbs"], session)
    clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    settings = simulated_settings(
        world, f"sqlite:///{db}", session, profiles=("kmd-opus", "eg"), callback_tokens=TOKENS
    )
    engine = Engine(settings, clock=clock, seed=9)
    engine.http.timeout = 1.0
    api = ServerThread(engine.api(), name="api").start()
    debtors = {}
    for profile in ("kmd-opus", "eg"):
        debtors[profile] = SimClient(world[profile], session)
        debtors[profile].settings(callback_url=api.url, callback_token=TOKENS[profile])
        for rule in faults:
            debtors[profile].fault(**rule)
    people = SyntheticData(seed=8)
    claims = []
    for index in range(24):
        profile = ("kmd-opus", "eg")[index % 2]
        municipality = for_vendor(profile)[index % 3]
        person = people.person()
        borrower = fbs.post("/laanere", {"cpr": person.cpr, "navn": person.name}, cvr=municipality.cvr).json()
        claims.append(
            (
                profile,
                fbs.post(
                    "/fordringer",
                    {
                        "laanerId": borrower["laanerId"],
                        "type": "GEBYR",
                        "beloebOere": 5000 + 100 * index,
                        "tekst": "Gebyr",
                    },
                    cvr=municipality.cvr,
                ).json(),
            )
        )
    for index, (_, claim) in enumerate(claims[:6]):
        fbs.post(
            f"/fordringer/{claim['fordringId']}/nedskrivninger",
            {"beloebOere": 1000 + index, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
            cvr=claim["kommuneCvr"],
        )

    def settle() -> None:
        for _ in range(12):
            engine.cycle()
            clock.advance(timedelta(minutes=10))
            for client in debtors.values():
                client.advance(minutes=10)  # debtors retry failed callbacks on their clocks

    settle()
    for profile, claim in claims[6:18]:  # payments at the debtor, some to be lost or duplicated
        client = debtors[profile]
        account = client.get(
            f"/debitorkonti/FBS-{claim['kommuneKode']}-{claim['laanerId']}", cvr=claim["kommuneCvr"]
        ).json()
        reference = account["fordringer"][0]["delfordringer"][0]["betalingsreference"]
        assert (
            client.post(
                "/simulering/bankindbetalinger",
                {"betalingsreference": reference, "beloebOere": 2000},
                cvr=claim["kommuneCvr"],
            ).status_code
            == 201
        )
    settle()
    reconcile(engine)
    settle()
    api.stop()
    fired: dict[str, int] = {}
    for client in debtors.values():
        for rule in client.http.get("/_sim/faults").json()["rules"]:
            key = f"{rule['operation']}:{rule['kind']}"
            fired[key] = fired.get(key, 0) + rule["fired"]
    index_of = {claim["fordringId"]: i for i, (_, claim) in enumerate(claims)}
    states = []
    for _, claim in claims:
        view = fbs.get(f"/fordringer/{claim['fordringId']}", cvr=claim["kommuneCvr"]).json()
        states.append(
            (
                index_of[claim["fordringId"]],
                view["saldoOere"],
                view["status"],
                sorted(p["beloebOere"] for p in view["posteringer"]),
            )
        )
    return states, fired


def test_a_run_with_faults_ends_where_a_run_without_them_does(world: dict[str, str], tmp_path: Path) -> None:
    clean, _ = _run(world, tmp_path / "clean.sqlite", [])
    faulty, fired = _run(world, tmp_path / "faulty.sqlite", FAULTS)
    assert faulty == clean
    assert len(fired) == len(FAULTS) and all(fired.values()), fired  # every fault really struck
    assert sum(1 for _, _, _, postings in clean if postings == [2000]) == 12  # each payment posted once
