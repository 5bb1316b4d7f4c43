"""Two engine workers on one PostgreSQL database: one reads FBS's feed, the other delivers meanwhile.

The feed's cursor row is locked while a page is read and stored, so only one worker reads at a time.
Before, a second worker waited on that lock for every page of a backlog the other was reading, and
delivered nothing meanwhile; now it finds the row locked, skips the read and goes on to deliver, and
reads in a later cycle once the lock is free. The engine here gives up on a lock after a few seconds
(`lock_timeout`), so the old waiting shows as an error instead of a hang.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, create_engine, text

from contracts.municipalities import for_vendor
from contracts.synthetic import SyntheticData
from integration import CycleReport, Engine, ManualClock
from tests.integration.conftest import fresh_postgres_database
from tests.support.client import SimClient, post_fee_claims
from tests.support.engine_world import simulated_settings

PEOPLE = SyntheticData(seed=1616)
OPUS = for_vendor("kmd-opus")[0]


@pytest.fixture
def postgres_url(postgres_cluster: str) -> str:
    url = fresh_postgres_database(postgres_cluster)
    admin = create_engine(postgres_cluster, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # every session of this database gives up on a lock after 5 s
        connection.execute(text(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET lock_timeout = '5s'"))
    admin.dispose()
    return url


@pytest.fixture
def other_worker(postgres_url: str) -> Iterator[Connection]:
    """A connection of another worker, to hold the feed's cursor row as a worker reading a page does."""
    other = create_engine(postgres_url)
    with other.connect() as connection:
        yield connection
    other.dispose()


def _claims(fbs: SimClient, count: int) -> None:
    post_fee_claims(fbs, PEOPLE, OPUS.cvr, count)


def test_a_worker_delivers_while_another_reads_the_feed_and_reads_it_once_it_is_free(
    world: dict[str, str], postgres_url: str, other_worker: Connection
) -> None:
    session = f"readers-{PEOPLE.person().cpr[-4:]}"
    fbs = SimClient(world["fbs"], session)
    _claims(fbs, 2)
    engine = Engine(
        simulated_settings(world, postgres_url, session), clock=ManualClock(datetime(2026, 1, 5, 8, tzinfo=UTC)), seed=1
    )
    try:
        engine.read_feed(CycleReport())  # the two claims queued, not yet delivered
        _claims(fbs, 1)  # a third one waits in the feed
        other_worker.execute(text("SELECT cursor FROM feed_position WHERE feed = 'fbs' FOR UPDATE"))
        busy = engine.cycle()  # the other worker is reading the feed: this one delivers what is queued
        assert (busy.events_read, busy.delivered, busy.rejected) == (0, 2, 0)
        other_worker.rollback()  # the other worker's page is stored: the feed is free
        free = engine.cycle()
        assert (free.events_read, free.delivered, free.rejected) == (1, 1, 0)
    finally:
        engine.close()
