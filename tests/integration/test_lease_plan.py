"""The lease's query plan on SQLite: every lease costs the same however many messages were delivered before.

A message is leased only when no earlier message of its claim is pending. SQLite, without statistics,
answered that per candidate through a one-column index (status, or the municipality) and read every
earlier row it held: with the municipality's index that is every message the municipality ever had,
delivered ones too, so a lease's cost grew with the outbox (measured: 12 ms a lease at the start of a
100,000-claim run, 50 ms after 20,000 delivered, ~1.7 ms of engine CPU per claim by the end). Asserted
on the plan SQLite reports for the statement as the engine sends it, not on a time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.orm import Session, sessionmaker

from integration.delivery import _lease_statement
from integration.store import OutboxMessage, open_store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CVRS = ["29189005", "29189013", "29189021"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> sessionmaker[Session]:
    """An outbox with a delivered history ahead of what is pending, a few municipalities' claims."""
    path: Path = tmp_path_factory.mktemp("lease") / "engine.sqlite"
    opened = open_store(f"sqlite:///{path}")
    rows = [
        {
            "kind": "REGISTER",
            "target": "debtor",
            "municipality_cvr": CVRS[n % len(CVRS)],
            "claim_id": f"FBS-{n:07d}",
            "method": "POST",
            "path": "/debitorkonti",
            "body": {"n": n},
            "transaction_id": f"00000000-0000-4000-8000-{n:012d}",
            "status": "DONE" if n < 3_000 else "PENDING",
            "attempts": 0,
            "next_attempt_at": NOW - timedelta(minutes=1),
        }
        for n in range(3_500)
    ]
    with opened.begin() as session:
        session.execute(insert(OutboxMessage), rows)
    return opened


def _plan(store: sessionmaker[Session], excluding_taken: bool) -> list[str]:
    """What EXPLAIN QUERY PLAN says of the lease statement exactly as SQLAlchemy sends it."""
    bind = store.kw["bind"]
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    params: dict[str, Any] = {"now": NOW, "worker": "w-1"}
    if excluding_taken:
        params["taken"] = [3_001, 3_002]
    event.listen(bind, "before_cursor_execute", capture)
    try:
        with store() as session:
            leased = session.scalars(_lease_statement(200, excluding_taken), params).all()
    finally:
        event.remove(bind, "before_cursor_execute", capture)
    assert len(leased) == 200 and leased[0].id == (3_003 if excluding_taken else 3_001)
    statement, parameters = sent[-1]
    with bind.connect() as connection:
        return [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]


@pytest.mark.parametrize("excluding_taken", [False, True], ids=["first lease", "with messages in flight"])
def test_the_earlier_pending_message_of_a_claim_is_one_index_seek(
    store: sessionmaker[Session], excluding_taken: bool
) -> None:
    plan = _plan(store, excluding_taken)
    subquery = [line for line in plan if "outbox_message_1" in line]
    assert subquery, plan
    # all three equalities and the id range in one index: never a walk over a municipality's (or the
    # status's) earlier rows
    assert all(
        "ix_outbox_message_claim_status (claim_id=? AND municipality_cvr=? AND status=? AND" in line
        for line in subquery
    ), plan


def test_the_lease_reads_pending_messages_in_id_order_without_sorting(store: sessionmaker[Session]) -> None:
    plan = _plan(store, excluding_taken=True)
    outer = [line for line in plan if "outbox_message_1" not in line and "SUBQUERY" not in line]
    assert any("USING INDEX ix_outbox_message_status (status=?)" in line for line in outer), plan
    assert not any("TEMP B-TREE" in line or line.startswith("SCAN outbox_message") for line in outer), plan
