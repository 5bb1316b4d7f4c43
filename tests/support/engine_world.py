"""An engine with its callback API in front of real FBS and debtor simulators, for the callback tests.

The integration tests and the security tests both drive the return path this way: a fresh session on
the shared simulators, a real engine on its own database (SQLite or PostgreSQL) on a manual clock, and
its API served by uvicorn, so every callback crosses real HTTP.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from contracts import wire_client
from contracts.municipalities import Municipality, for_vendor
from contracts.profile import PROFILE_NAMES
from contracts.synthetic import SyntheticData
from harness.servers import ServerThread
from integration import Engine, EngineSettings, ManualClock
from integration.store import ReceivedCallback
from tests.support.client import SimClient

PEOPLE = SyntheticData(seed=77)
CALLBACK_TOKENS = {p: f"callback-{p}" for p in PROFILE_NAMES}


def simulated_settings(
    world: dict[str, str], database_url: str, session: str, *, profiles: tuple[str, ...] = PROFILE_NAMES, **more: Any
) -> EngineSettings:
    """Settings of an engine in front of the shared simulators (the `profiles`' debtors), in one
    test's simulator session; `more`: any other setting."""
    return EngineSettings(
        fbs_url=world["fbs"],
        debtor_urls={p: world[p] for p in profiles},
        database_url=database_url,
        extra_headers={wire_client.SESSION: session},
        **more,
    )


class EngineWorld:
    """FBS, the five debtors and one engine in a session of their own."""

    def __init__(self, world: dict[str, str], url: str) -> None:
        self.session = f"cb-{uuid.uuid4().hex[:10]}"
        self.world = world
        self.fbs = SimClient(world["fbs"], self.session)
        self.clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
        settings = simulated_settings(world, url, self.session, callback_tokens=CALLBACK_TOKENS)
        self.engine = Engine(settings, clock=self.clock, seed=3)
        self.api = ServerThread(self.engine.api(), name="engine-api").start()

    def debtor(self, profile: str) -> SimClient:
        client = SimClient(self.world[profile], self.session, cvr=for_vendor(profile)[0].cvr)
        client.settings(callback_url=self.api.url, callback_token=CALLBACK_TOKENS[profile])
        return client

    def claim(self, municipality: Municipality, amount: int = 12000) -> dict[str, Any]:
        person = PEOPLE.person()
        borrower = self.fbs.post("/laanere", {"cpr": person.cpr, "navn": person.name}, cvr=municipality.cvr).json()
        return self.fbs.post(
            "/fordringer",
            {"laanerId": borrower["laanerId"], "type": "GEBYR", "beloebOere": amount, "tekst": "Gebyr"},
            cvr=municipality.cvr,
        ).json()

    def fbs_claim(self, claim: dict[str, Any]) -> dict[str, Any]:
        return self.fbs.get(f"/fordringer/{claim['fordringId']}", cvr=claim["kommuneCvr"]).json()

    def received(self) -> int:
        with self.engine.session() as session:
            return session.query(ReceivedCallback).count()


def bank_payment(debtor: SimClient, claim: dict[str, Any], amount: int) -> None:
    account = debtor.get(f"/debitorkonti/FBS-{claim['kommuneKode']}-{claim['laanerId']}").json()
    reference = account["fordringer"][0]["delfordringer"][0]["betalingsreference"]
    paid = debtor.post("/simulering/bankindbetalinger", {"betalingsreference": reference, "beloebOere": amount})
    assert paid.status_code == 201, paid.text


def post_callback(engine_world: EngineWorld, body: Any, *, token: str, cvr: str) -> httpx.Response:
    return httpx.post(
        f"{engine_world.api.url}/daekningafskrivning",
        json=body,
        headers=wire_client.headers(token, at=wire_client.FIXED_SENT_AT, cvr=cvr),
    )
