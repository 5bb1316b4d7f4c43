"""Actor `engine`: step the integration engine on virtual time, crash it, reconcile, migrate, and
call its callback API as a debtor system would (to prove what it refuses)."""

from __future__ import annotations

import uuid
from typing import Any

from contracts.municipalities import for_vendor

from ..context import Response, RunContext, StepFailure
from ..values import ValueProblem, parse_date
from ..vocabulary import Arg, action
from .common import claim_id_of, cvr_of, must


def run_cycles(ctx: RunContext, times: int = 1) -> dict[str, int]:
    """Step the engine; an engine that is down (`engine.down`) does not cycle."""
    total: dict[str, int] = {}
    if ctx.world.engine.down:
        return total
    for _ in range(times):
        for key, value in ctx.world.engine.cycle().items():
            total[key] = total.get(key, 0) + int(value)
    return total


@action("engine.cycle", args={"times": Arg("int", doc="how many cycles (default 1)")})
def cycle(ctx: RunContext, times: int = 1) -> dict[str, int]:
    """One engine cycle: read FBS's feed, deliver what is due (registrations, postings, rejections)."""
    if ctx.world.engine.down:
        raise StepFailure("the engine is down (engine.down): bring it back with engine.up first")
    return run_cycles(ctx, times)


@action("engine.down")
def down(ctx: RunContext) -> dict[str, Any]:
    """Stop the engine: its callback API refuses connections and it does not cycle (clock.advance moves
    time without it) until `engine.up`."""
    ctx.world.engine.go_down()
    return {"down": True}


@action("engine.up")
def up(ctx: RunContext) -> dict[str, Any]:
    """Start the engine again on the same address, from its database (what it took in before it stopped)."""
    ctx.world.engine.come_up()
    return {"down": False}


@action(
    "engine.crash",
    args={
        "after_sends": Arg("int", doc="mid-cycle: messages the debtor answers before the crash"),
        "at": Arg(
            "str",
            choices=("cycle", "callback_intake"),
            doc="cycle (default: now, mid-cycle) or callback_intake (armed: the next callback the engine "
            "accepts is stored, then it dies before answering; the debtor delivers again)",
        ),
    },
)
def crash(ctx: RunContext, after_sends: int | None = None, at: str = "cycle") -> dict[str, Any]:
    """Kill the engine where it hurts most and restart it from its database: mid-cycle — after the peer
    answered, before the engine recorded it — or at callback intake, after it stored a callback and
    before its answer left."""
    if at == "callback_intake":
        if after_sends is not None:
            raise StepFailure("after_sends counts a cycle's sends: it does not go with at: callback_intake")
        return ctx.world.engine.crash_at_callback_intake()
    return ctx.world.engine.crash_during_cycle(1 if after_sends is None else after_sends)


@action("engine.reconcile")
def reconcile(ctx: RunContext) -> dict[str, Any]:
    """Compare FBS with the debtor systems (B_02), repair what lost callbacks left, deliver the repairs."""
    return ctx.world.engine.reconcile()


MIGRATION_ENTRY = {
    "claim": Arg("ref", doc="a claim made in FBS before go-live: its line of FBS's extract, with its history"),
    "srb": Arg("date", doc="with claim: its SRB, from the old collection process"),
    "reminders": Arg("list", doc="with claim: the dates of the reminders already sent, oldest first"),
    "borrower": Arg("ref", doc="without claim: a synthetic historic claim FBS does not know, for this borrower"),
    "type": Arg("str", choices=("GEBYR", "ERSTATNING", "ERSTATNING_ANERKENDT")),
    "amount": Arg("money", doc="without claim: øre (12000) or kroner ('120 kr')"),
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
    """Migrate historic open claims: the trial extract (dry_run) or the final extract. An entry naming a
    `claim` made in FBS takes that claim's line of FBS's go-live extract (original amount, write-downs,
    the feed events it includes) and the feed then starts at the extract's cut-off."""
    lines = []
    claims = []
    cut_off: str | None = None
    for number, entry in enumerate(extract, start=1):
        if entry.get("claim") is not None:
            line, cut_off = _fbs_line(ctx, entry, number)
        elif entry.get("borrower") is not None and entry.get("amount") is not None:
            line = _synthetic_line(ctx, entry)
        else:
            raise StepFailure(f"extract entry {number}: give a claim made in FBS, or a borrower and an amount")
        lines.append(line)
        claims.append(
            {"fordringId": line["fordringId"], "laanerId": line["laaner"]["laanerId"], "kommuneCvr": line["kommuneCvr"]}
        )
    report = ctx.world.engine.migrate(lines, dry_run=dry_run, feed_from=cut_off)
    return {**report, "claims": claims}


def _fbs_line(ctx: RunContext, entry: dict[str, Any], number: int) -> tuple[dict[str, Any], str | None]:
    """The claim's line of FBS's go-live extract for its municipality, with the SRB and reminders the old
    process knew; and the extract's cut-off."""
    claim = entry["claim"]
    answer = must(ctx.call("fbs", "GET", "/migrering/udtraek", cvr=cvr_of(claim)), "FBS's go-live extract")
    line = next((f for f in answer["fordringer"] if f["fordringId"] == claim_id_of(claim)), None)
    if line is None:
        raise StepFailure(f"extract entry {number}: claim {claim_id_of(claim)} is not open in FBS's extract", answer)
    if entry.get("srb"):
        line["sidsteRettidigeBetalingsdato"] = entry["srb"]
    reminders = entry.get("reminders") or []
    try:
        dates = [parse_date(day).isoformat() for day in reminders]
    except ValueProblem as problem:
        raise StepFailure(f"extract entry {number}: reminders: {problem}") from problem
    if dates:
        line["rykkere"] = [{"nummer": index, "dato": day} for index, day in enumerate(dates, start=1)]
    return line, answer.get("afskaeringsCursor")


def _synthetic_line(ctx: RunContext, entry: dict[str, Any]) -> dict[str, Any]:
    """A historic claim FBS does not know (both dates today), for a borrower made in the scenario."""
    today = ctx.virtual_now().date().isoformat()
    borrower = entry["borrower"]
    claim_id = entry.get("id") or f"MIG-{uuid.uuid4().hex[:10]}"
    return {
        "fordringId": claim_id,
        "kommuneCvr": str(entry.get("municipality_cvr") or borrower["kommuneCvr"]),
        "laaner": {"laanerId": borrower["laanerId"], "cpr": borrower["cpr"], "navn": borrower["navn"]},
        "type": entry.get("type", "GEBYR"),
        "tekst": entry.get("text", "Historisk fordring"),
        "stiftelsesdato": today,
        "forfaldsdato": today,
        "delposter": [{"delpostId": f"{claim_id}-1", "beloebOere": entry["amount"], "tekst": "Hovedstol"}],
    }


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
