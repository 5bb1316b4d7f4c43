"""Crash safety: the engine, as its own process, killed with SIGKILL again and again while it syncs
claims and their payments, loses no claim and duplicates no payment."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from contracts.municipalities import load_municipalities
from contracts.profile import PROFILE_NAMES
from contracts.synthetic import SyntheticData
from integration.store import OutboxMessage, open_store
from tests.support.client import SimClient, wait_until
from tests.support.environment import ROOT, with_project_on_path
from tests.support.misbehaving import free_port

CLAIMS = 1000
PAYMENTS = 300
KILLS = 8
TOKENS = {p: f"cb-{p}" for p in PROFILE_NAMES}


class EngineProcess:
    def __init__(self, world: dict[str, str], url: str, session: str, port: int, worker: str, log: Path) -> None:
        self.worker = worker
        self.log = log
        self.command = [
            sys.executable,
            "-m",
            "harness.cli",
            "engine",
            "serve",
            "--db",
            url,
            "--fbs-url",
            world["fbs"],
            "--header",
            f"X-Sim-Session={session}",
            "--port",
            str(port),
            "--interval",
            "0.05",
            "--worker",
            worker,
            "--dev",  # the simulators know the engine by the public development token
        ]
        for profile in PROFILE_NAMES:
            self.command += [
                "--debtor",
                f"{profile}={world[profile]}",
                "--callback-token",
                f"{profile}={TOKENS[profile]}",
            ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=with_project_on_path(),
            )

    def check_alive(self) -> None:
        """An engine that ended by itself (not by our SIGKILL) is a failure: show what it said."""
        if self.process is not None and self.process.poll() not in (None, -signal.SIGKILL):
            raise AssertionError(
                f"{self.worker} exited with {self.process.returncode}:\n{self.log.read_text(errors='replace')[-3000:]}"
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def _make_claims(fbs: SimClient) -> list[dict[str, Any]]:
    people = SyntheticData(seed=1234)
    municipalities = load_municipalities()
    claims = []
    for index in range(CLAIMS):
        municipality = municipalities[index % len(municipalities)]
        if index < len(municipalities) or index % 5 == 0:
            person = people.person()
            borrower = fbs.post("/laanere", {"cpr": person.cpr, "navn": person.name}, cvr=municipality.cvr).json()
        response = fbs.post(
            "/fordringer",
            {
                "laanerId": borrower["laanerId"]
                if borrower["kommuneKode"] == municipality.code
                else fbs.post("/laanere", {"cpr": people.cpr(), "navn": "X"}, cvr=municipality.cvr).json()["laanerId"],
                "type": "GEBYR",
                "beloebOere": 10000 + index,
                "tekst": "Gebyr",
            },
            cvr=municipality.cvr,
        )
        assert response.status_code == 201, response.text
        claims.append(response.json())
    return claims


def _chaos(engines: list[EngineProcess], rng: random.Random, kills: int) -> None:
    for _ in range(kills):
        for engine in engines:
            engine.start()
        time.sleep(rng.uniform(1.5, 3.0))  # let them run a random while, then kill mid-work (chaos, not sync)
        for engine in rng.sample(engines, rng.randint(1, len(engines))):
            engine.kill()


def _start(engines: list[EngineProcess]) -> None:
    for engine in engines:
        engine.start()


def _kill(engines: list[EngineProcess]) -> None:
    for engine in engines:
        engine.kill()


@pytest.fixture(params=["sqlite-1-worker", "postgres-2-workers"])
def engine_database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, int, Path]:
    if request.param.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'engine.sqlite'}", 1, tmp_path
    from tests.integration.conftest import fresh_postgres_database

    return fresh_postgres_database(request.getfixturevalue("postgres_cluster")), 2, tmp_path


def test_sigkill_at_random_moments_loses_no_claim_and_duplicates_no_payment(
    world: dict[str, str], engine_database: tuple[str, int, Path]
) -> None:
    url, workers, log_dir = engine_database
    session = f"crash-{uuid.uuid4().hex[:8]}"
    port = free_port()  # the first worker's callback API, where the debtors report
    fbs = SimClient(world["fbs"], session)
    debtors = {p: SimClient(world[p], session) for p in PROFILE_NAMES}
    for profile, client in debtors.items():
        client.settings(
            callback_url=f"http://127.0.0.1:{port}", callback_token=TOKENS[profile], serve_all_municipalities=False
        )
    claims = _make_claims(fbs)
    vendor = {m.cvr: m.vendor for m in load_municipalities()}
    engines = [
        EngineProcess(world, url, session, port if n == 0 else free_port(), f"worker-{n}", log_dir / f"w{n}.log")
        for n in range(workers)
    ]
    rng = random.Random(20261124)
    try:
        _chaos(engines, rng, KILLS // 2)  # killed while registering
        _start(engines)

        def registered() -> int:
            for engine in engines:
                engine.check_alive()
            return sum(len([e for e in c.journal("OpretDebitorkonto") if e["status"] == 201]) for c in debtors.values())

        wait_until(lambda: registered() >= CLAIMS, timeout=180, what="every claim registered")
        _kill(engines)

        paid = claims[:PAYMENTS]
        for claim in paid:  # citizens pay while the engine is down
            client = debtors[vendor[claim["kommuneCvr"]]]
            account = client.get(
                f"/debitorkonti/FBS-{claim['kommuneKode']}-{claim['laanerId']}", cvr=claim["kommuneCvr"]
            ).json()
            part = next(f for f in account["fordringer"] if f["fordringId"] == claim["fordringId"])
            reference = part["delfordringer"][0]["betalingsreference"]
            response = client.post(
                "/simulering/bankindbetalinger",
                {"betalingsreference": reference, "beloebOere": claim["beloebOere"]},
                cvr=claim["kommuneCvr"],
            )
            assert response.status_code == 201, response.text
        _chaos(engines, rng, KILLS // 2)  # killed while callbacks arrive and postings go out
        _start(engines)

        def postings() -> int:
            for engine in engines:
                engine.check_alive()
            for client in debtors.values():
                client.advance(minutes=30)  # debtors retry the callbacks that failed
            return len([e for e in fbs.journal("modtagPostering") if e["status"] == 201])

        wait_until(lambda: postings() >= PAYMENTS, timeout=240, what="every payment posted in FBS")
    finally:
        for engine in engines:
            engine.stop()

    # Every claim registered exactly once, at its own municipality's vendor.
    municipality_of = {c["fordringId"]: c["kommuneCvr"] for c in claims}
    created: Counter[str] = Counter()
    for profile, client in debtors.items():
        for entry in client.journal("OpretDebitorkonto"):
            if entry["status"] in (200, 201):  # 200: a second registration of a known claim
                claim_id = entry["requestBody"]["fordringer"][0]["fordringId"]
                created[claim_id] += 1
                assert vendor[municipality_of[claim_id]] == profile
    assert set(created) == {c["fordringId"] for c in claims}
    assert set(created.values()) == {1}
    # Every payment posted exactly once, with its amount; no other claim touched.
    postings_by_claim: Counter[str] = Counter()
    for claim in claims:
        view = fbs.get(f"/fordringer/{claim['fordringId']}", cvr=claim["kommuneCvr"]).json()
        postings_by_claim[claim["fordringId"]] = len(view["posteringer"])
        if claim in paid:
            assert [p["beloebOere"] for p in view["posteringer"]] == [claim["beloebOere"]]
            assert view["status"] == "BETALT"
    assert sum(postings_by_claim.values()) == PAYMENTS
    if workers > 1:  # the workers shared the load
        store = open_store(url)
        with store() as db:
            done_by = Counter(
                owner for (owner,) in db.query(OutboxMessage.lease_owner).filter(OutboxMessage.status == "DONE").all()
            )
        assert set(done_by) == {f"worker-{n}" for n in range(workers)}, done_by
