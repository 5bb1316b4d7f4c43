"""The engine's FBS -> debtor flow over real HTTP against the simulators of all five profiles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts.municipalities import Municipality, for_vendor
from contracts.profile import PROFILE_NAMES
from contracts.synthetic import SyntheticData
from integration import Engine, ManualClock
from integration.store import OutboxMessage
from tests.support.client import SimClient
from tests.support.engine_world import simulated_settings

PEOPLE = SyntheticData(seed=42)


class Harness:
    """One test's FBS session, debtor sessions and a fresh engine database."""

    def __init__(
        self,
        world: dict[str, str],
        url: str,
        overrides: dict[str, dict[str, Any]] | None = None,
        without: tuple[str, ...] = (),
    ) -> None:
        self.session = f"eng-{uuid.uuid4().hex[:10]}"
        self.world = world
        self.fbs = SimClient(world["fbs"], self.session)
        self.clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
        self.url = url
        self.settings = simulated_settings(
            world,
            url,
            self.session,
            profiles=tuple(p for p in PROFILE_NAMES if p not in without),
            route_overrides=overrides or {},
        )
        self.engine = self.new_engine()

    def new_engine(self) -> Engine:
        return Engine(self.settings, clock=self.clock, seed=1)

    def debtor(self, profile: str, municipality: Municipality | None = None) -> SimClient:
        return SimClient(self.world[profile], self.session, cvr=(municipality or for_vendor(profile)[0]).cvr)

    def claim(self, municipality: Municipality, kind: str = "GEBYR", amount: int = 12000) -> dict[str, Any]:
        person = PEOPLE.person()
        borrower = self.fbs.post("/laanere", {"cpr": person.cpr, "navn": person.name}, cvr=municipality.cvr).json()
        response = self.fbs.post(
            "/fordringer",
            {
                "laanerId": borrower["laanerId"],
                "type": kind,
                "beloebOere": amount,
                "tekst": f"{kind} i {municipality.name}",
            },
            cvr=municipality.cvr,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def fbs_claim(self, claim: dict[str, Any]) -> dict[str, Any]:
        return self.fbs.get(f"/fordringer/{claim['fordringId']}", cvr=claim["kommuneCvr"]).json()


@pytest.fixture
def harness(world: dict[str, str], database_url: str) -> Harness:
    return Harness(world, database_url)


def registrations(client: SimClient) -> list[dict[str, Any]]:
    return [e for e in client.journal("OpretDebitorkonto") if e["status"] in (200, 201)]


def test_each_claim_reaches_its_municipality_s_debtor_exactly_once(harness: Harness) -> None:
    made = {p: harness.claim(for_vendor(p)[0], "ERSTATNING_ANERKENDT" if p == "eg" else "GEBYR") for p in PROFILE_NAMES}
    first = harness.engine.cycle()
    assert (first.events_read, first.delivered, first.rejected) == (5, 5, 0)
    again = harness.engine.cycle()
    assert (again.events_read, again.delivered) == (0, 0)
    for profile, claim in made.items():
        [entry] = registrations(harness.debtor(profile))
        sent = entry["requestBody"]["fordringer"][0]
        assert sent["fordringId"] == claim["fordringId"]
        assert sent["produktkode"] == ("BIB-ERSTATNING-ANERKENDT" if profile == "eg" else "BIB-GEBYR")
        assert sent["anerkendt"] is (profile == "eg")
        assert entry["requestBody"]["haeftelse"]["cpr"].endswith("-xxxx")  # journals mask the CPR


def test_write_down_annulment_and_cpr_change_follow_in_order(harness: Harness) -> None:
    kk = for_vendor("kmd-opus")[0]
    first, second = harness.claim(kk, amount=20000), harness.claim(kk, amount=5000)
    harness.fbs.post(
        f"/fordringer/{first['fordringId']}/nedskrivninger",
        {"beloebOere": 5000, "virkningsdato": "2026-01-05", "aarsag": "AENDRET_GRUNDLAG"},
    )
    harness.fbs.post(f"/fordringer/{second['fordringId']}/annullering", {"aarsag": "Fejl"})
    new_cpr = PEOPLE.cpr()
    harness.fbs.http.put(f"/laanere/{first['laanerId']}/cpr", json={"cpr": new_cpr}, headers=harness.fbs.headers())
    report = harness.engine.cycle()
    assert (report.delivered, report.rejected) == (5, 0)
    debtor = harness.debtor("kmd-opus", kk)
    account = debtor.get(f"/debitorkonti/FBS-{kk.code}-{first['laanerId']}").json()
    assert account["fordringer"][0]["saldoOere"] == 15000 and account["haeftelse"]["cpr"] == new_cpr
    assert (
        debtor.get(f"/debitorkonti/FBS-{kk.code}-{second['laanerId']}").json()["fordringer"][0]["status"]
        == "ANNULLERET"
    )
    operations = [e["operation"] for e in debtor.journal() if e["operation"] != "HentDebitorkonto"]
    assert operations == [
        "OpretDebitorkonto",
        "OpretDebitorkonto",
        "RetFordringTilstand",
        "RetFordringTilstand",
        "AendrHaeftelse",
    ]


def test_an_unmapped_claim_type_goes_back_to_fbs(world: dict[str, str], database_url: str) -> None:
    kk = for_vendor("kmd-opus")[0]
    harness = Harness(world, database_url, overrides={kk.code: {"products": {"GEBYR": "BIB-GEBYR"}}})
    fee, replacement = harness.claim(kk), harness.claim(kk, "ERSTATNING", 30000)
    report = harness.engine.cycle()
    assert (report.delivered, report.rejected) == (2, 0)  # the fee, and the rejection sent to FBS
    assert harness.fbs_claim(replacement)["status"] == "AFVIST"
    assert harness.fbs_claim(replacement)["afvisninger"][0]["kode"] == "OIR-ROUTE-UNMAPPED-CLAIM-TYPE"
    assert harness.fbs_claim(fee)["status"] == "AABEN"
    assert [e["requestBody"]["fordringer"][0]["fordringId"] for e in registrations(harness.debtor("kmd-opus", kk))] == [
        fee["fordringId"]
    ]


def test_an_unconfigured_route_goes_back_to_fbs(world: dict[str, str], database_url: str) -> None:
    harness = Harness(world, database_url, without=("eg",))
    claim = harness.claim(for_vendor("eg")[0])
    harness.engine.cycle()
    assert harness.fbs_claim(claim)["afvisninger"][0]["kode"] == "OIR-ROUTE-NOT-CONFIGURED"


def test_an_engine_on_danish_local_time_delivers_what_is_due(world: dict[str, str], database_url: str) -> None:
    """Instants are stored in UTC: a clock in Europe/Copenhagen (+01:00) must not make messages an hour late."""
    harness = Harness(world, database_url)
    harness.clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("Europe/Copenhagen")))
    harness.engine = harness.new_engine()
    claim = harness.claim(for_vendor("eg")[0])
    assert harness.engine.cycle().delivered == 1
    assert registrations(harness.debtor("eg"))[0]["requestBody"]["fordringer"][0]["fordringId"] == claim["fordringId"]


def test_a_business_rejection_by_the_debtor_reaches_fbs(world: dict[str, str], database_url: str) -> None:
    prisme = for_vendor("prisme-2009")[0]
    harness = Harness(world, database_url, overrides={prisme.code: {"products": {"GEBYR": "UKENDT-PRODUKT"}}})
    claim = harness.claim(prisme)
    first = harness.engine.cycle()
    assert (first.rejected, first.delivered) == (1, 1)  # refused by the debtor; the rejection delivered
    fbs_view = harness.fbs_claim(claim)
    assert fbs_view["status"] == "AFVIST" and fbs_view["afvisninger"][0]["kode"] == "OIR-422-UNKNOWN-PRODUCT"
    assert harness.engine.cycle().delivered == 0  # nothing is sent twice


def test_a_503_burst_is_retried_with_the_same_transaction_until_registered(harness: Harness) -> None:
    opus = for_vendor("kmd-opus")[0]
    debtor = harness.debtor("kmd-opus", opus)
    debtor.fault(operation="OpretDebitorkonto", kind="error", status=503, count=3)
    claim = harness.claim(opus)
    for _ in range(6):
        harness.engine.cycle()
        harness.clock.advance(timedelta(minutes=5))
    attempts = debtor.journal("OpretDebitorkonto")
    assert [e["status"] for e in attempts] == [503, 503, 503, 201]
    assert len({e["transactionId"] for e in attempts}) == 1
    assert registrations(debtor)[0]["requestBody"]["fordringer"][0]["fordringId"] == claim["fordringId"]


def test_a_dropped_connection_and_a_down_debtor_lose_nothing(world: dict[str, str], database_url: str) -> None:
    harness = Harness(world, database_url)
    opus = for_vendor("kmd-opus")[0]
    debtor = harness.debtor("kmd-opus", opus)
    debtor.fault(operation="OpretDebitorkonto", kind="drop", count=1)
    claim = harness.claim(opus)
    assert harness.engine.cycle().retrying == 1
    harness.clock.advance(timedelta(minutes=1))
    assert harness.engine.cycle().delivered == 1
    assert [e["requestBody"]["fordringer"][0]["fordringId"] for e in registrations(debtor)] == [claim["fordringId"]]


def test_a_restarted_engine_continues_from_its_cursor(harness: Harness) -> None:
    opus = for_vendor("kmd-opus")[0]
    harness.claim(opus)
    harness.engine.cycle()
    later = harness.claim(opus)
    restarted = harness.new_engine()  # a new process on the same database
    report = restarted.cycle()
    assert (report.events_read, report.delivered) == (1, 1)
    assert [e["requestBody"]["fordringer"][0]["fordringId"] for e in registrations(harness.debtor("kmd-opus", opus))][
        -1
    ] == later["fordringId"]
    with harness.engine.store() as session:
        assert session.query(OutboxMessage).filter(OutboxMessage.status != "DONE").count() == 0


def test_an_open_circuit_leaves_a_failing_debtor_alone_until_its_cooldown(
    world: dict[str, str], database_url: str
) -> None:
    kk = for_vendor("kmd-opus")[0]
    harness = Harness(world, database_url, overrides={kk.code: {"failure_threshold": 3, "cooldown_s": 60}})
    debtor = harness.debtor("kmd-opus", kk)
    debtor.fault(operation="OpretDebitorkonto", kind="error", status=503)  # down until cleared
    made = [harness.claim(kk) for _ in range(6)]
    report = harness.engine.cycle()
    assert (report.retrying, report.held, len(debtor.journal("OpretDebitorkonto"))) == (3, 3, 3)
    harness.clock.advance(timedelta(seconds=30))
    harness.engine.cycle()
    assert len(debtor.journal("OpretDebitorkonto")) == 3  # still left alone
    debtor.http.delete("/_sim/faults").raise_for_status()
    harness.clock.advance(timedelta(seconds=31))
    harness.engine.cycle()
    assert sorted(e["requestBody"]["fordringer"][0]["fordringId"] for e in registrations(debtor)) == sorted(
        c["fordringId"] for c in made
    )


def test_a_rate_limit_spreads_a_route_s_deliveries_over_time(world: dict[str, str], database_url: str) -> None:
    eg = for_vendor("eg")[0]
    harness = Harness(world, database_url, overrides={eg.code: {"rate_per_s": 2.0}})
    for _ in range(6):
        harness.claim(eg)
    debtor = harness.debtor("eg", eg)
    delivered = []
    for _ in range(3):
        harness.engine.cycle()
        delivered.append(len(registrations(debtor)))
        harness.clock.advance(timedelta(seconds=1))
    assert delivered == [2, 4, 6]
