"""Query plans on SQLite: what the engine asks per message or callback costs the same however full the tables.

A message is leased only when no earlier message of its claim is pending. SQLite, without statistics,
answered that per candidate through a one-column index (status, or the municipality) and read every
earlier row it held: with the municipality's index that is every message the municipality ever had,
delivered ones too, so a lease's cost grew with the outbox (measured: 12 ms a lease at the start of a
100,000-claim run, 50 ms after 20,000 delivered, ~1.7 ms of engine CPU per claim by the end). A callback
about a whole account read every claim of the municipality the same way. Asserted on the plan SQLite
reports for each statement as the engine sends it, not on a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.orm import Session, sessionmaker

from integration.api import DaekningAfskrivning, _claims_of
from integration.delivery import _lease_statement
from integration.store import ClaimRecord, OutboxMessage, open_store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CVRS = ["29189005", "29189013", "29189021"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
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
    claims = [
        {
            "claim_id": f"FBS-{n:07d}",
            "municipality_cvr": CVRS[n % len(CVRS)],
            "account_id": f"K{n // 2:07d}",
            "subclaim_ids": [f"FBS-{n:07d}-1"],
            "posted_oere": 0,
        }
        for n in range(3_000)
    ]
    with opened.begin() as session:
        session.execute(insert(OutboxMessage), rows)
        session.execute(insert(ClaimRecord), claims)
    yield opened
    opened.kw["bind"].dispose()


def _explain(store: sessionmaker[Session], statement: str, parameters: Any) -> list[str]:
    with store.kw["bind"].connect() as connection:
        return [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]


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
    return _explain(store, *sent[-1])


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


def test_a_callback_about_a_whole_account_reads_the_accounts_claims_only(store: sessionmaker[Session]) -> None:
    bind = store.kw["bind"]
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    closed = DaekningAfskrivning.model_validate(
        {
            "meddelelseId": "6f1c2a4e-8d3b-4c5a-9e7f-1a2b3c4d5e6f",
            "debitorkontoId": "K0000021",
            "type": "KONTO_LUKKET",
            "dato": "2026-03-02",
        }
    )
    event.listen(bind, "before_cursor_execute", capture)
    try:
        with store() as session:
            claims = _claims_of(session, closed, CVRS[0])
    finally:
        event.remove(bind, "before_cursor_execute", capture)
    assert sorted(claims) == ["FBS-0000042"]  # of K0000021's two claims, the other is another municipality's
    plan = _explain(store, *sent[-1])
    assert all("ix_claim_record_account (account_id=? AND municipality_cvr=?)" in line for line in plan), plan
