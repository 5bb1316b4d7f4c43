"""Switches that break one ØiR behaviour each, so the scenario suite can prove it would catch it.

A switch is the per-session setting `misbehaviour` (or an app-wide default: `create_app(misbehaviour=…)`,
e.g. to run a non-conforming debtor for certification). With no switch the simulator behaves. Each
switch breaks exactly the behaviour its name says, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MISBEHAVIOURS: dict[str, str] = {
    "count_payment_twice": "every payment is reported to the fagsystem twice, as two separate payments",
    "handover_before_srb": "hands a recoverable claim to PSRM on its due date: before SRB, reminders and notice",
    "drop_callbacks": "never delivers DækningAfskrivning callbacks (believes they were sent)",
    "error_500_on_bad_input": "answers 500 instead of a 4xx problem to a request that breaks the contract",
    "ignore_annulment": "acknowledges an annulment but leaves the claim active and payable",
    "deadlines_on_closed_days": "keeps a deadline (SRB, a reminder's) that falls on a closed day, counting on from it",
    "ignore_claim_history": "registers a migrated claim as new, dropping the reminders it was sent before go-live",
    "no_psrm_write_down_after_direct_payment": (
        "accepts and reports a direct payment on a claim with PSRM but never writes the claim down at PSRM"
    ),
    "drop_payment_on_gone_claim": (
        "takes a bank transfer on a claim the fagsystem annulled or wrote down but never reports it (it vanishes)"
    ),
}
# The requirement × misbehaviour matrix (tests/support/requirement_matrix.py): business-rule bugs a
# vendor's system could have, which an ASGI wrapper around the simulator cannot make.
MISBEHAVIOURS.update(
    {
        "ignore_write_down": "acknowledges a write-down (RetFordringTilstand) but leaves the balance as it was",
        "ignore_liability_change": "acknowledges a change of liable party (AendrHaeftelse) but keeps the old one",
        "unreported_write_offs": "books a caseworker's write-off (afskrivning) but never reports it to the fagsystem",
        "ignore_payment_hold": (
            "records a payment hold (betalingsstandsning, also a dispute's) but keeps reminding and hands over as if "
            "there were none"
        ),
    }
)


def active(settings: Mapping[str, Any], name: str) -> bool:
    """Is this switch on in these (session) settings?"""
    return settings.get("misbehaviour") == name


class BadInputAs500:
    """ASGI middleware for `error_500_on_bad_input`: a 400 answer goes out as 500."""

    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._switched_on(scope):
            await self.app(scope, receive, send)
            return

        async def as_500(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 400:
                message = {**message, "status": 500}
            await send(message)

        await self.app(scope, receive, as_500)

    def _switched_on(self, scope: Scope) -> bool:
        raw = b"default"
        for key, value in scope.get("headers") or ():
            if key == b"x-sim-session":
                raw = value  # the last one, as a dict of the headers would have it
        session = raw.decode("latin-1")
        if not self.runtime.sessions.valid_id(session):
            return False
        return active(self.runtime.sessions.get(session).settings, "error_500_on_bad_input")


# ---- the jobs on the clock: what test control (oir-testkontrol-v1) lets certification see at a vendor ----
# (`handover_before_srb` above is one of them too.)
JOB_MISBEHAVIOURS: dict[str, str] = {
    "no_interest": "never charges interest on an overdue claim",
    "drop_every_second_callback": (
        "the callback run drops every second DækningAfskrivning it should send (believes it was sent)"
    ),
}
MISBEHAVIOURS.update(JOB_MISBEHAVIOURS)

# ---- test control itself (oir-testkontrol-v1): caught by the certification's `test-control` probe, not by
# the scenario suite (which moves a simulator's clock through its `/_sim/` control plane, not test control),
# so kept out of MISBEHAVIOURS (tests/scenarios/test_misbehaviour.py runs the suite against each of those).
TEST_CONTROL_MISBEHAVIOURS: dict[str, str] = {
    "advance_in_one_jump": (
        "test control moves the business date in one jump and runs the jobs once, on the target date "
        "(a reminder due on the way is sent on the target date instead of its own)"
    ),
}
