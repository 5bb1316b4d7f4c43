"""Everything the vendor sends is judged (harness/certification/sent.py): the same money or status under
a new message id is a duplicate, a redelivery under the same id is not; a message without the run's
callback token, or about another municipality, breaks ownership; what came after the checks is listed as
late; finding nothing wrong verifies nothing. Also the relay keeps what the judge needs. Fast."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from harness.callback_relay import CallbackRelay
from harness.certification.judge import judge
from harness.certification.sent import CHECK, judge_sent

OWN = "29189706"
OTHER = "55606617"


def _message(
    message_id: str,
    *,
    amount: int = 12000,
    at: float = 1.0,
    cvr: str | None = OWN,
    token: bool = True,
    claim: str = "CERT-1",
    kind: str = "DAEKNING",
) -> dict[str, Any]:
    return {
        "meddelelseId": message_id,
        "debitorkontoId": f"K-{claim}",
        "fordringId": claim,
        "type": kind,
        "beloebOere": amount,
        "dato": "2026-01-05",
        "_status": 202,
        "_world": None,
        "_cvr": cvr,
        "_token_ok": token,
        "_mono": at,
    }


def test_the_same_money_under_a_new_message_id_fails_exactly_once_and_a_redelivery_does_not() -> None:
    redelivered = judge_sent([_message("m1"), _message("m1")], own_cvrs={OWN})
    assert redelivered.violations == [] and redelivered.outcome().passed
    twice = judge_sent([_message("m1"), _message("m2"), _message("m3", amount=5000)], own_cvrs={OWN})
    assert twice.requirements == ["B01R-EXACTLY-ONCE"]
    assert twice.violations[0]["messages"] == ["m1", "m2"] and "12000 øre on CERT-1" in twice.violations[0]["detail"]
    status = judge_sent(
        [_message("s1", kind="KONTO_LUKKET", amount=0), _message("s2", kind="KONTO_LUKKET", amount=0)], own_cvrs={OWN}
    )
    assert status.requirements == ["B01R-EXACTLY-ONCE"]  # the same status twice, too


def test_another_token_or_municipality_breaks_ownership() -> None:
    wrong_token = judge_sent([_message("m1", token=False)], own_cvrs={OWN})
    assert wrong_token.requirements == ["ROUTE-CREDENTIALS"]
    foreign = judge_sent([_message("m1", cvr=OTHER)], own_cvrs={OWN})
    assert foreign.requirements == ["B01-OWN-ACCOUNTS-ONLY"] and "not one the profile serves" in foreign.evidence()[0]
    # a municipality the vendor serves, but not the one the run registered the claim for
    swapped = judge_sent([_message("m1", cvr=OTHER)], own_cvrs={OWN, OTHER}, claims={"CERT-1": OWN})
    assert swapped.requirements == ["B01-OWN-ACCOUNTS-ONLY"] and f"registered for {OWN}" in swapped.evidence()[0]
    unnamed = judge_sent([_message("m1", cvr=None)], own_cvrs={OWN})
    assert unnamed.requirements == ["MSG-MUNICIPALITY-CVR"]


def test_what_came_after_the_checks_is_reported_and_judged() -> None:
    judged = judge_sent([_message("m1", at=1.0), _message("m2", at=9.0)], own_cvrs={OWN}, ended_at=5.0)
    assert [m["meddelelseId"] for m in judged.late] == ["m2"]
    assert "_mono" not in judged.late[0] and judged.late[0]["status"] == 202
    assert judged.requirements == ["B01R-EXACTLY-ONCE"]  # the late copy is a duplicate all the same
    assert judged.as_json()["late"][0]["fordringId"] == "CERT-1"


def test_finding_nothing_wrong_verifies_nothing_and_a_violation_fails_the_run() -> None:
    clean = judge([judge_sent([_message("m1")], own_cvrs={OWN}).outcome()], (), date(2026, 12, 1))
    assert clean.statuses[CHECK] == "passed" and clean.passed == [] and clean.verdict == "CERTIFIED"
    dirty = judge([judge_sent([_message("m1"), _message("m2")], own_cvrs={OWN}).outcome()], (), date(2026, 12, 1))
    assert dirty.failed == ["B01R-EXACTLY-ONCE"] and dirty.verdict == "NOT_CERTIFIED"


def test_the_relay_keeps_who_sent_each_message() -> None:
    relay = CallbackRelay("cb-token")
    body = {
        "meddelelseId": "3f1c1b7e-2d7a-4c55-9a40-8c2b0f5f0a01",
        "debitorkontoId": "K-1",
        "type": "KONTO_LUKKET",
        "dato": "2026-01-05",
    }
    with TestClient(relay.app) as client:
        ok = client.post(
            "/daekningafskrivning", json=body, headers={"Authorization": "Bearer cb-token", "X-Kommune-Cvr": OWN}
        )
        refused = client.post("/daekningafskrivning", json=body, headers={"Authorization": "Bearer other"})
    assert (ok.status_code, refused.status_code) == (202, 401)
    first, second = relay.received()
    assert (first["_cvr"], first["_token_ok"]) == (OWN, True)
    assert (second["_cvr"], second["_token_ok"]) == (None, False)
    assert first["_mono"] <= second["_mono"]
    relay.close()


def test_the_same_psrm_action_under_a_new_action_id_is_a_duplicate() -> None:
    create = {"aktion": "OPRETFORDRING", "fordringshaverReference": "CERT-1", "beloebOere": 25000}
    write_down = {"aktion": "NEDSKRIV", "fordringshaverReference": "CERT-1", "beloebOere": 5000, "aarsag": "X"}
    deliveries = [
        {"aktioner": [{**create, "mfAktionId": "a1"}, {**write_down, "mfAktionId": "a2"}]},
        {"aktioner": [{**create, "mfAktionId": "a1"}]},  # resent under its own id: PSRM answers 600, harmless
    ]
    assert judge_sent([], own_cvrs={OWN}, psrm_deliveries=deliveries).violations == []
    deliveries += [{"aktioner": [{**create, "mfAktionId": "a3"}, {**write_down, "mfAktionId": "a4"}]}, None]
    judged = judge_sent([], own_cvrs={OWN}, psrm_deliveries=deliveries)
    assert judged.requirements == ["PSRM-ACTION-ID-UNIQUE", "PSRM-NO-MERGE"] and judged.psrm_actions == 5
    assert {tuple(v["messages"]) for v in judged.violations} == {("a1", "a3"), ("a2", "a4")}


def test_the_harness_own_preflight_message_is_not_judged_as_the_vendors() -> None:
    """The preflight posts to the relay without the run's token; that is the harness, not the vendor."""
    preflight = {**_message("m-pre", token=False), "_preflight": True}
    assert judge_sent([preflight], own_cvrs={OWN}).violations == []
    assert judge_sent([_message("m-vendor", token=False)], own_cvrs={OWN}).violations  # the vendor's would fail
