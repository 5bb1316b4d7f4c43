"""Prompt recovery after a crash: a restarted engine does not wait out a dead process's leases.

An engine named by default (`<host>-<pid>`) that is killed leaves its leased messages behind; the
restarted engine has a new pid. Before, those messages waited the full lease (30 s) — after a kill,
hundreds of claims sat unregistered that long. Now leases of a process that no longer exists on this
host are released at once, while a live process's leases are still respected.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from contracts.municipalities import for_vendor
from contracts.synthetic import SyntheticData
from integration import CycleReport, Engine, ManualClock
from integration.store import OutboxMessage
from tests.support.client import SimClient, post_fee_claims
from tests.support.engine_world import simulated_settings

PEOPLE = SyntheticData(seed=515)
OPUS = for_vendor("kmd-opus")[0]


def _engine(world: dict[str, str], url: str, session: str, clock: ManualClock) -> Engine:
    return Engine(simulated_settings(world, url, session), clock=clock, seed=1)


def _leave_leases_of(engine: Engine, owner: str, clock: ManualClock) -> None:
    """What a worker killed in mid-delivery leaves: its messages leased for another 30 s."""
    with engine.store.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "PENDING")
            .values(lease_owner=owner, leased_until=clock.now() + timedelta(seconds=30))
        )


def test_leases_of_a_dead_process_on_this_host_are_released_at_once(world: dict[str, str], database_url: str) -> None:
    session = f"rec-{PEOPLE.person().cpr[-4:]}"
    fbs = SimClient(world["fbs"], session)
    post_fee_claims(fbs, PEOPLE, OPUS.cvr, 4)
    clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    engine = _engine(world, database_url, session, clock)
    engine.read_feed(CycleReport())
    host = socket.gethostname()
    # A live process on this host holds the leases: they are respected.
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        _leave_leases_of(engine, f"{host}-{alive.pid}", clock)
        assert engine.cycle().delivered == 0
    finally:
        alive.communicate(b"")  # it ends; its pid is now a dead process's
    # The same holder is now dead: the restarted engine delivers at once, without the clock moving.
    report = engine.cycle()
    assert report.delivered == 4
    engine.close()
