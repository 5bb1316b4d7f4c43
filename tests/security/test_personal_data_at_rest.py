"""Personal data at rest in the engine's database (issue 11, defect 6).

The engine keeps a borrower's CPR and name only while a message that carries them is still to be
delivered; once the debtor system has answered, the stored body and answer hold the CPR masked and
no name. On SQLite the bytes of the file itself are searched, free pages included.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.municipalities import for_vendor
from contracts.synthetic import SyntheticData
from integration.store import OutboxMessage
from tests.support.engine_world import EngineWorld

OPUS = for_vendor("kmd-opus")[0]
PEOPLE = SyntheticData(seed=4711)


@pytest.fixture
def engine_world(world: dict[str, str], database_url: str) -> Iterator[EngineWorld]:
    made = EngineWorld(world, database_url)
    yield made
    made.api.stop()


def _borrow(engine_world: EngineWorld) -> tuple[str, str, dict[str, object]]:
    person = PEOPLE.person()
    borrower = engine_world.fbs.post("/laanere", {"cpr": person.cpr, "navn": person.name}, cvr=OPUS.cvr).json()
    claim = engine_world.fbs.post(
        "/fordringer",
        {"laanerId": borrower["laanerId"], "type": "GEBYR", "beloebOere": 12000, "tekst": "Gebyr"},
        cvr=OPUS.cvr,
    ).json()
    return person.cpr, person.name, claim


def _stored_text(engine_world: EngineWorld) -> str:
    with engine_world.engine.store() as session:
        rows = session.execute(select(OutboxMessage.body, OutboxMessage.answer, OutboxMessage.status)).all()
    return "\n".join(f"{status} {body} {answer}" for body, answer, status in rows)


def test_a_settled_message_keeps_no_cpr_or_name_and_a_pending_one_keeps_what_a_retry_needs(
    engine_world: EngineWorld, database_url: str
) -> None:
    delivered = [_borrow(engine_world) for _ in range(3)]
    report = engine_world.engine.cycle()
    assert report.delivered == 3
    new_cpr = PEOPLE.person().cpr
    fbs = engine_world.fbs
    changed = fbs.http.put(
        f"/laanere/{delivered[0][2]['laanerId']}/cpr", json={"cpr": new_cpr}, headers=fbs.headers(OPUS.cvr)
    )
    assert changed.status_code == 200, changed.text
    engine_world.engine.cycle()
    # A message the debtor has not answered yet keeps its CPR: the retry must send the same body.
    debtor = engine_world.debtor("kmd-opus")
    debtor.fault(operation="OpretDebitorkonto", kind="error", status=503, count=1)
    waiting_cpr, _, _ = _borrow(engine_world)
    assert engine_world.engine.cycle().retrying == 1
    stored = _stored_text(engine_world)
    assert waiting_cpr in stored
    for cpr, name, _ in delivered:
        assert cpr not in stored and cpr.replace("-", "") not in stored and name not in stored
        assert f"{cpr.replace('-', '')[:6]}-xxxx" in stored  # masked, so a person can still follow the claim
    assert new_cpr not in stored
    engine_world.clock.advance(timedelta(minutes=5))
    assert engine_world.engine.cycle().delivered == 1
    assert waiting_cpr not in _stored_text(engine_world)
    if database_url.startswith("sqlite"):
        engine_world.engine.store.kw["bind"].dispose()  # the last connection closes: WAL checkpointed
        folder = Path(database_url.removeprefix("sqlite:///")).parent
        raw = b"".join(path.read_bytes() for path in folder.glob("engine.sqlite*"))
        for cpr in [new_cpr, waiting_cpr, *(c for c, _, _ in delivered)]:
            assert cpr.encode() not in raw and cpr.replace("-", "").encode() not in raw, "a CPR lingers in the file"
        for _, name, _ in delivered:
            assert name.encode() not in raw, "a name lingers in the file"
