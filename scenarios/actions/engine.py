"""Actor `engine`: step the integration engine on virtual time, crash it, reconcile, migrate, and
call its callback API as a debtor system would (to prove what it refuses)."""

from __future__ import annotations

import uuid
from typing import Any

from contracts.municipalities import for_vendor

from ..context import Response, RunContext
from ..vocabulary import Arg, action
from .common import MONEY, REF


def run_cycles(ctx: RunContext, times: int = 1) -> dict[str, int]:
    total: dict[str, int] = {}
    for _ in range(times):
        for key, value in ctx.world.engine.cycle().items():
            total[key] = total.get(key, 0) + int(value)
    return total


@action("engine.cycle", args={"times": Arg("int", doc="how many cycles (default 1)")})
def cycle(ctx: RunContext, times: int = 1) -> dict[str, int]:
    """One engine cycle: read FBS's feed, deliver what is due (registrations, postings, rejections)."""
    return run_cycles(ctx, times)


@action("engine.crash", args={"after_sends": Arg("int", doc="messages the debtor answers before the crash")})
def crash(ctx: RunContext, after_sends: int = 1) -> dict[str, Any]:
    """Kill the engine mid-cycle — after the peer answered, before the engine recorded it — and restart it."""
    return ctx.world.engine.crash_during_cycle(after_sends)


@action("engine.reconcile")
def reconcile(ctx: RunContext) -> dict[str, Any]:
    """Compare FBS with the debtor systems (B_02), repair what lost callbacks left, deliver the repairs."""
    return ctx.world.engine.reconcile()


MIGRATION_ENTRY = {
    "borrower": REF,
    "type": Arg("str", choices=("GEBYR", "ERSTATNING", "ERSTATNING_ANERKENDT")),
    "amount": MONEY,
    "text": Arg("str"),
    "municipality_cvr": Arg("str", doc="override the borrower's municipality (e.g. one with no route)"),
    "id": Arg("str"),
}


@action(
    "engine.migrate",
    args={
        "extract": Arg("list", required=True, items=MIGRATION_ENTRY, doc="historic open claims"),
        "dry_run": Arg("bool", doc="trial extract: validate and report, send nothing"),
    },
)
def migrate(ctx: RunContext, extract: list[dict[str, Any]], dry_run: bool = False) -> dict[str, Any]:
    """Migrate historic open claims: the trial extract (dry_run) or the final extract."""
    lines = []
    claims = []
    today = ctx.virtual_now().date().isoformat()
    for entry in extract:
        borrower = entry["borrower"]
        claim_id = entry.get("id") or f"MIG-{uuid.uuid4().hex[:10]}"
        cvr = str(entry.get("municipality_cvr") or borrower["kommuneCvr"])
        amount = entry["amount"]
        lines.append(
            {
                "fordringId": claim_id,
                "kommuneCvr": cvr,
                "laaner": {"laanerId": borrower["laanerId"], "cpr": borrower["cpr"], "navn": borrower["navn"]},
                "type": entry.get("type", "GEBYR"),
                "tekst": entry.get("text", "Historisk fordring"),
                "stiftelsesdato": today,
                "forfaldsdato": today,
                "delposter": [{"delpostId": f"{claim_id}-1", "beloebOere": amount, "tekst": "Hovedstol"}],
            }
        )
        claims.append({"fordringId": claim_id, "laanerId": borrower["laanerId"], "kommuneCvr": cvr})
    report = ctx.world.engine.migrate(lines, dry_run=dry_run)
    return {**report, "claims": claims}


@action("engine.outbox", "query", args={"claim": Arg("ref", doc="only this claim's messages")}, primary="claim")
def outbox(ctx: RunContext, claim: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The engine's outgoing messages (kind, target, status, attempts), oldest first."""
    return ctx.world.engine.outbox(claim["fordringId"] if claim else None)


@action(
    "engine.callback",
    args={
        "body": Arg("mapping", required=True, doc="the DækningAfskrivning message"),
        "token": Arg("str", doc="default: the callback token of the scenario's profile"),
        "cvr": Arg("str", doc="X-Kommune-Cvr; default: the profile's first municipality"),
    },
)
def callback(ctx: RunContext, body: dict[str, Any], token: str | None = None, cvr: str | None = None) -> Response:
    """Deliver a DækningAfskrivning message to the engine as a debtor system would."""
    engine = ctx.world.engine
    return ctx.call(
        "engine",
        "POST",
        "/daekningafskrivning",
        body=body,
        cvr=cvr or for_vendor(ctx.profile)[0].cvr,
        token=token or engine.callback_token(ctx.profile),
        base_url=engine.url,
    )


@action("engine.summary", "query")
def summary(ctx: RunContext) -> dict[str, dict[str, int]]:
    """How many outgoing messages of each kind are in each state: {REGISTER: {DONE: 1000}, …}."""
    counts: dict[str, dict[str, int]] = {}
    for message in ctx.world.engine.outbox(None):
        by_status = counts.setdefault(message["kind"], {})
        by_status[message["status"]] = by_status.get(message["status"], 0) + 1
    return counts
