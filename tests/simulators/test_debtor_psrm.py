"""Claims walked from a debtor simulator into PSRM over HTTP, with no engine in between.

The world clock moves both systems a day at a time, as real calendars do: the debtor's jobs send
reminders, hand over to PSRM after SRB, reminders and notice, fetch receipts and notifications, and
tell the fagsystem.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from contracts.synthetic import SyntheticData
from harness.servers import ServerThread
from simulators import factory
from simulators.debtor.jobs import _SWITCHES_QUIET_FOLLOWS
from simulators.debtor.misbehaviour import MISBEHAVIOURS
from tests.support.claims import account, claim
from tests.support.client import SimClient, wait_until
from tests.support.fagsystem import TOKEN, Receiver

PEOPLE = SyntheticData(seed=99)


@pytest.fixture(scope="module")
def opus_world(psrm_url: str, receiver: tuple[Receiver, str]) -> Iterator[str]:
    app = factory("debtor")(profile="kmd-opus", psrm_url=psrm_url, callback_url=receiver[1], callback_token=TOKEN)
    with ServerThread(app, name="debtor-opus-psrm") as server:
        yield server.url


class World:
    """One session on the debtor and on PSRM, advanced together."""

    def __init__(self, debtor_url: str, psrm_url: str, **psrm_settings: int) -> None:
        self.debtor = SimClient(debtor_url)
        self.psrm = SimClient(psrm_url, self.debtor.session)
        if psrm_settings:
            self.psrm.settings(**psrm_settings)

    def days(self, count: int) -> None:
        for _ in range(count):
            self.psrm.advance(days=1)
            self.debtor.advance(days=1)

    def jump(self, count: int) -> int:
        """Move both `count` days as a scenario's clock does: in one step over the days before the first on
        which either's jobs may call the other (the `quietUntil` each gives when it moves); the moves made."""
        moves, today, quiet = 0, None, None
        while count > 0:
            step = 1 if quiet is None or today is None else max(1, min(count, (quiet - today).days))
            said = [self.psrm.advance(days=step), self.debtor.advance(days=step)]
            moves, count = moves + 1, count - step
            today = date.fromisoformat(said[1]["now"][:10])
            days = [s.get("quietUntil") for s in said]
            quiet = None if None in days else min(date.fromisoformat(d) for d in days)
        return moves

    def minutes(self, count: int, step: int = 1) -> None:
        for _ in range(0, count, step):
            self.psrm.advance(minutes=step)
            self.debtor.advance(minutes=step)

    def claim_view(self, account_id: str) -> dict:
        return self.debtor.get(f"/debitorkonti/{account_id}").json()["fordringer"][0]


def _acknowledged_replacement(world: World, amount: int = 45000) -> dict:
    body = account(PEOPLE.cpr(), claim(amount, product="BIB-ERSTATNING-ANERKENDT", acknowledged=True))
    assert world.debtor.post("/debitorkonti", body).status_code == 201
    return body


def _handed_over(world: World) -> tuple[dict, str]:
    """An acknowledged replacement claim taken over by PSRM (handover day, plus the receipt delay)."""
    body = _acknowledged_replacement(world)
    world.days(184)
    world.minutes(5)
    return body, world.claim_view(body["debitorkontoId"])["psrmFordringId"]


def test_handover_waits_for_srb_reminders_and_notice_then_psrm_takes_the_claim(
    opus_world: str, psrm_url: str, receiver: tuple[Receiver, str]
) -> None:
    world = World(opus_world, psrm_url)
    body = _acknowledged_replacement(world)
    # SRB 2026-02-04, reminders 02-18 and 03-10, handover 120 days after the last reminder: 2026-07-08.
    world.days(183)  # to 2026-07-07
    assert world.claim_view(body["debitorkontoId"])["inddrivelse"] == "IKKE_OVERDRAGET"
    assert world.psrm.journal("MFFordringIndberet") == []
    world.days(1)  # 2026-07-08: handover
    [delivery] = world.psrm.journal("MFFordringIndberet")
    actions = delivery["requestBody"]["aktioner"]
    assert actions[0]["fordringsart"] == "HOVEDFORDRING" and actions[0]["beloebOere"] == 45000
    assert (
        all(
            a["fordringsart"] == "RENTE" and a["hovedfordringReference"] == actions[0]["fordringshaverReference"]
            for a in actions[1:]
        )
        and len(actions) > 1
    )
    assert actions[0]["haeftere"][0]["cpr"].endswith("-xxxx")  # the journal masks the CPR
    assert [a["status"] for a in delivery["responseBody"]["aktioner"]] == ["MODTAGET"] * len(actions)
    world.minutes(5)
    view = world.claim_view(body["debitorkontoId"])
    assert view["inddrivelse"] == "OVERDRAGET" and view["psrmFordringId"].startswith("PSRM-")
    rec, _ = receiver
    notices = wait_until(
        lambda: [
            m
            for m in rec.messages("OVERDRAGET_TIL_INDDRIVELSE")
            if m.get("fordringId") == body["fordringer"][0]["fordringId"]
        ],
        what="OVERDRAGET_TIL_INDDRIVELSE callback",
    )
    assert len(notices) == 1


def test_fees_and_small_or_unacknowledged_claims_are_never_handed_over(opus_world: str, psrm_url: str) -> None:
    world = World(opus_world, psrm_url)
    fee = account(PEOPLE.cpr(), claim(12000))
    small = account(PEOPLE.cpr(), claim(9000, product="BIB-ERSTATNING-ANERKENDT", acknowledged=True))
    unacknowledged = account(PEOPLE.cpr(), claim(45000, product="BIB-ERSTATNING-ANERKENDT", acknowledged=False))
    for body in (fee, small, unacknowledged):
        assert world.debtor.post("/debitorkonti", body).status_code == 201
    world.days(200)
    assert world.psrm.journal("MFFordringIndberet") == []
    assert {world.claim_view(b["debitorkontoId"])["inddrivelse"] for b in (fee, small, unacknowledged)} == {
        "IKKE_OVERDRAGET"
    }


def test_coverage_in_psrm_becomes_a_payment_callback(
    opus_world: str, psrm_url: str, receiver: tuple[Receiver, str]
) -> None:
    world = World(opus_world, psrm_url)
    body, psrm_id = _handed_over(world)
    covered = world.psrm.post(
        "/simulering/daekninger", {"psrmFordringId": psrm_id, "beloebOere": 15000, "kilde": "LOENINDEHOLDELSE"}
    )
    assert covered.status_code == 201
    world.days(1)  # the debtor fetches notifications daily
    rec, _ = receiver
    fordring_id = body["fordringer"][0]["fordringId"]
    paid = wait_until(
        lambda: [m for m in rec.messages("DAEKNING") if m.get("fordringId") == fordring_id],
        what="DAEKNING from PSRM coverage",
    )
    assert [(m["beloebOere"], m["kilde"]) for m in paid] == [(15000, "PSRM-ALLOKERING")]
    assert world.claim_view(body["debitorkontoId"])["indbetaltOere"] == 15000
    world.days(3)  # fetched again: no second payment
    assert len([m for m in rec.messages("DAEKNING") if m.get("fordringId") == fordring_id]) == 1


def test_a_return_from_psrm_reaches_the_fagsystem(
    opus_world: str, psrm_url: str, receiver: tuple[Receiver, str]
) -> None:
    world = World(opus_world, psrm_url)
    body, psrm_id = _handed_over(world)
    world.psrm.post("/simulering/returneringer", {"psrmFordringId": psrm_id, "returKode": "AFTL", "tekst": "Aftale"})
    world.days(1)
    assert world.claim_view(body["debitorkontoId"])["inddrivelse"] == "RETURNERET"
    rec, _ = receiver
    returned = wait_until(
        lambda: [
            m
            for m in rec.messages("RETUR_FRA_INDDRIVELSE")
            if m.get("fordringId") == body["fordringer"][0]["fordringId"]
        ],
        what="return",
    )
    assert returned[0]["returKode"] == "AFTL"


def test_a_receipt_slower_than_the_opus_answer_time_limit_still_converges(opus_world: str, psrm_url: str) -> None:
    world = World(opus_world, psrm_url, receipt_delay_minutes=15)  # PSRM in 2020: up to ~15 minutes
    body = _acknowledged_replacement(world)
    world.days(184)
    assert world.claim_view(body["debitorkontoId"])["inddrivelse"] == "OVERDRAGELSE_I_GANG"
    world.minutes(20)
    assert world.claim_view(body["debitorkontoId"])["inddrivelse"] == "OVERDRAGET"
    gave_up = [e for e in world.debtor.journal("MFKvitteringHent", "out") if e["note"] and "answer-time" in e["note"]]
    fetched = [e for e in world.debtor.journal("MFKvitteringHent", "out") if e["status"] == 200]
    assert len(gave_up) >= 2 and len(fetched) == 1  # waited 5 minutes twice, then got the receipt
    assert len(world.psrm.journal("MFFordringIndberet")) == 1  # the claim was never sent twice


def test_a_write_down_of_a_claim_under_collection_is_forwarded_as_nedskriv(opus_world: str, psrm_url: str) -> None:
    world = World(opus_world, psrm_url)
    body, psrm_id = _handed_over(world)
    fordring_id = body["fordringer"][0]["fordringId"]
    refused = world.debtor.post(
        f"/fordringer/{fordring_id}/tilstand",
        {"handling": "NEDSKRIVNING", "beloebOere": 5000, "virkningsdato": "2026-07-09", "aarsag": "ANDET"},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "OIR-422-WRITE-DOWN-REASON"
    done = world.debtor.post(
        f"/fordringer/{fordring_id}/tilstand",
        {"handling": "NEDSKRIVNING", "beloebOere": 5000, "virkningsdato": "2026-07-09", "aarsag": "DIREKTE_BETALING"},
    )
    assert done.status_code == 200
    last = world.psrm.journal("MFFordringIndberet")[-1]
    assert last["requestBody"]["aktioner"][0] | {"mfAktionId": None} == {
        "mfAktionId": None,
        "aktion": "NEDSKRIV",
        "fordringshaverReference": fordring_id,
        "beloebOere": 5000,
        "virkningsdato": "2026-07-09",
        "aarsag": "DIREKTE_BETALING",
    }
    assert world.psrm.get(f"/fordringer/{psrm_id}").json()["saldoOere"] == 40000


def _what_others_see(world: World, accounts: list[str]) -> dict[str, Any]:
    """The debtor's accounts as B_02 shows them and every call between the two systems, with its virtual time."""
    views = [world.debtor.get(f"/debitorkonti/{a}").json() for a in accounts]
    calls = [(e["at"], e["direction"], e["method"], e["path"], e["status"]) for e in world.psrm.journal()]
    sent = [(e["at"], e["method"], e["path"]) for e in world.debtor.journal(direction="out")]
    return {"accounts": views, "psrm": calls, "debtor-out": sent}


@pytest.mark.parametrize(
    ("switch", "first_call"),
    [
        (None, "2026-07-08"),  # SRB 2026-02-04, reminders 02-18 and 03-10, then 120 days: the handover
        ("no_interest", "2026-07-08"),  # a switch the promise follows: it changes amounts, not days
        ("advance_in_one_jump", "2026-01-05"),  # a switch the promise does not follow: no promise, today
    ],
)
def test_moving_over_quiet_days_in_one_step_changes_nothing_either_system_shows(
    opus_world: str, psrm_url: str, switch: str | None, first_call: str
) -> None:
    """The debtor and PSRM say, each time their clock moves, the first day their jobs may call the other
    (`quietUntil`); a world moving them in one step up to that day (as `clock.advance` does) must end
    exactly where moving them day by day ends: reminders, interest, handover, receipt, coverage, settlement."""
    day_by_day, jumping = World(opus_world, psrm_url), World(opus_world, psrm_url)
    if switch:
        for world in (day_by_day, jumping):
            world.debtor.settings(misbehaviour=switch)
    replacement = _acknowledged_replacement(day_by_day)
    fee = account(PEOPLE.cpr(), claim(12000))
    for world in (day_by_day, jumping):
        if world is jumping:
            assert world.debtor.post("/debitorkonti", replacement).status_code == 201
        assert world.debtor.post("/debitorkonti", fee).status_code == 201
    assert jumping.debtor.advance(days=0)["quietUntil"] == first_call
    assert jumping.psrm.advance(days=0)["quietUntil"] > "2035-01-01"  # nothing planned

    day_by_day.days(190)
    moves = jumping.jump(190)
    assert (moves < 30) is (switch != "advance_in_one_jump"), moves  # the quiet months went in a few steps …
    accounts = [replacement["debitorkontoId"], fee["debitorkontoId"]]
    for world in (day_by_day, jumping):
        psrm_id = world.claim_view(replacement["debitorkontoId"])["psrmFordringId"]
        assert (
            world.psrm.post(
                "/simulering/daekninger",
                {"psrmFordringId": psrm_id, "beloebOere": 15000, "kilde": "LOENINDEHOLDELSE"},
            ).status_code
            == 201
        )
    day_by_day.days(60)
    jumping.jump(60)
    seen, expected = _what_others_see(jumping, accounts), _what_others_see(day_by_day, accounts)
    for view in (*seen["accounts"], *expected["accounts"]):
        for claim_view in view["fordringer"]:
            claim_view.pop("psrmFordringId", None)  # PSRM's own ids differ between sessions
    assert seen["accounts"][0]["fordringer"][0]["indbetaltOere"] == 15000
    assert seen == expected  # … and ended exactly where day-by-day ended


def test_every_switch_the_debtor_s_promise_follows_is_a_switch() -> None:
    assert _SWITCHES_QUIET_FOLLOWS <= set(MISBEHAVIOURS)
