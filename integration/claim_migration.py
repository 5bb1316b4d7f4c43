"""Migration of historic open claims from FBS to the debtor systems (trial and final extract).

The extract is a JSON Lines file, one open claim a line, in the shape of FBS's claim events:
`{"fordringId", "kommuneCvr", "laaner": {"laanerId", "cpr", "navn"}, "type", "tekst",
"stiftelsesdato", "forfaldsdato", "delposter": [{"delpostId", "beloebOere", "tekst"}]}`, and the
claim's history as it stands at the extract's cut-off (DOMAIN.md, "Go-live of a municipality"):
`delposter` at their original amounts; `nedskrivninger` — what was paid at the library or written down
before the cut-off, `[{"haendelseId", "beloebOere", "virkningsdato", "aarsag"}]`; the
`sidsteRettidigeBetalingsdato` (SRB) and the `rykkere` already sent, `[{"nummer", "dato"}]`; and
`haendelser`, the FBS feed events the line already includes; and `indsigelse`, `{"dato", "begrundelse"}`,
when the borrower's dispute of the claim is still open at the cut-off (it is put on a payment hold without
end date, as the feed's FORDRING_INDSIGELSE would; the library's decision comes later through the feed).
FBS's extract (`GET /migrering/udtraek`) writes exactly this, with the feed cursor of its cut-off.

A historic claim is registered at its original amount with its SRB and reminders, then written down by
each `nedskrivning`, so the debtor system knows what was asked, what was paid and what was forgiven, and
counts its next reminder or its handover from the history. The line's `haendelser` are recorded as read,
so the feed never sends the same claim or write-down again, whatever the engine's cursor; and the final
extract can move the cursor to the cut-off (`feed_from`), so the feed starts where the extract ends.

The trial extract validates every claim (its fields, its municipality's route, the sortiment
mapping) and reports per municipality what would be sent and what would be rejected, sending
nothing. The final extract queues each valid claim exactly once (the queueing and the record that
it was taken are one transaction) and delivers; run again after a crash, it skips what it took and
finishes what is pending. (The engine's own database schema is migrated by Alembic, in
integration/migrations/: another thing altogether.)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, ValidationError

from contracts.municipalities import by_cvr
from contracts.wire import WHOLE, Cpr, Ident, IsoDate, Oere, StrictModel

from .parts import CycleReport
from .routing import RoutingError, RoutingTable
from .store import MigratedClaim
from .translate import MessageSpec, to_messages

if TYPE_CHECKING:
    from .engine import Engine

Progress = Callable[[int, int], None]  # (claims delivered, claims in the extract), after each delivery round


class _Borrower(StrictModel):
    laanerId: Ident
    cpr: Cpr
    navn: Annotated[str, Field(min_length=1, max_length=120)]


class _Part(StrictModel):
    delpostId: Ident
    beloebOere: Oere
    tekst: Annotated[str, Field(min_length=1, max_length=200)]


class _Reminder(StrictModel):
    nummer: Annotated[int, Field(ge=1, le=9), WHOLE]
    dato: IsoDate


class _WriteDown(StrictModel):
    """Money paid at the library, or forgiven, before the cut-off: a write-down of the claim."""

    haendelseId: Ident | None = None  # the FBS feed event it was, if it came from the feed
    beloebOere: Oere
    virkningsdato: IsoDate
    aarsag: Literal["DIREKTE_BETALING", "FEJLAGTIG_OVERSENDELSE", "AENDRET_GRUNDLAG", "ANDET"]


class _Dispute(StrictModel):
    """The borrower's dispute (indsigelse), open at the cut-off: collection stays paused after go-live."""

    dato: IsoDate
    begrundelse: Annotated[str, Field(min_length=1, max_length=200)]


class HistoricClaim(StrictModel):
    fordringId: Ident
    kommuneCvr: Annotated[str, Field(pattern=r"^[0-9]{8}$")]
    laaner: _Borrower
    type: Literal["GEBYR", "ERSTATNING", "ERSTATNING_ANERKENDT"]
    tekst: Annotated[str, Field(min_length=1, max_length=200)]
    stiftelsesdato: IsoDate
    forfaldsdato: IsoDate
    delposter: Annotated[list[_Part], Field(min_length=1, max_length=20)]  # at their original amounts
    sidsteRettidigeBetalingsdato: IsoDate | None = None
    rykkere: Annotated[list[_Reminder], Field(max_length=9)] = []  # noqa: RUF012  (pydantic copies it)
    nedskrivninger: Annotated[list[_WriteDown], Field(max_length=100)] = []  # noqa: RUF012
    haendelser: Annotated[list[Ident], Field(max_length=200)] = []  # noqa: RUF012
    indsigelse: _Dispute | None = None

    @property
    def original_oere(self) -> int:
        return sum(p.beloebOere for p in self.delposter)

    @property
    def open_oere(self) -> int:
        """What the claim still asks at the cut-off."""
        return self.original_oere - sum(w.beloebOere for w in self.nedskrivninger)


@dataclass
class MunicipalityTally:
    send: int = 0
    reject: int = 0
    amount_oere: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


@dataclass
class MigrationReport:
    final: bool
    lines: int = 0
    taken: int = 0  # final: queued in this run
    already_taken: int = 0  # final: queued by an earlier run
    delivered: int = 0
    pending: int = 0  # final: still to deliver (run again to finish)
    municipalities: dict[str, MunicipalityTally] = field(default_factory=dict)
    rejected_lines: list[dict[str, Any]] = field(default_factory=list)
    feed_from: str | None = None  # final: where the engine's feed now starts (the extract's cut-off)

    def tally(self, name: str) -> MunicipalityTally:
        return self.municipalities.setdefault(name, MunicipalityTally())

    def as_json(self) -> dict[str, Any]:
        return {
            "final": self.final,
            "lines": self.lines,
            "taken": self.taken,
            "alreadyTaken": self.already_taken,
            "delivered": self.delivered,
            "pending": self.pending,
            "municipalities": {
                name: {"send": t.send, "reject": t.reject, "amountOere": t.amount_oere, "reasons": dict(t.reasons)}
                for name, t in sorted(self.municipalities.items())
            },
            "rejectedLines": self.rejected_lines,
            "feedFrom": self.feed_from,
        }


def _read(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as error:
                    yield number, error


def _event(claim: HistoricClaim) -> dict[str, Any]:
    """The historic claim as the FBS event the engine already knows how to route and translate."""
    municipality = by_cvr(claim.kommuneCvr)
    assert municipality is not None
    data = claim.model_dump(mode="json", exclude={"nedskrivninger", "haendelser", "indsigelse"})
    return {
        "type": "FORDRING_OPRETTET",
        "kommuneCvr": claim.kommuneCvr,
        "kommuneKode": municipality.code,
        "laaner": data["laaner"],
        "fordring": {
            **data,
            "laanerId": claim.laaner.laanerId,
            "beloebOere": sum(p.beloebOere for p in claim.delposter),
        },
    }


def _validate(number: int, raw: Any, routes: RoutingTable, report: MigrationReport) -> tuple[HistoricClaim, Any] | None:
    def reject(where: str, code: str, text: str) -> None:
        tally = report.tally(where)
        tally.reject += 1
        tally.reasons[code] += 1
        report.rejected_lines.append({"line": number, "code": code, "text": text[:300]})

    if isinstance(raw, Exception):
        reject("(unreadable)", "MALFORMED-JSON", str(raw))
        return None
    try:
        claim = HistoricClaim.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = str(raw.get("kommuneCvr")) if isinstance(raw, dict) else "(unreadable)"
        municipality = by_cvr(where)
        reject(
            municipality.name if municipality else where,
            "INVALID-" + ".".join(str(p) for p in first["loc"][:2]).upper(),
            f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}",
        )
        return None
    municipality = by_cvr(claim.kommuneCvr)
    if municipality is None:
        reject(claim.kommuneCvr, "OIR-ROUTE-UNKNOWN-MUNICIPALITY", f"{claim.kommuneCvr} is not a municipality")
        return None
    if claim.open_oere <= 0:
        reject(
            municipality.name,
            "MIGRATION-NOT-OPEN",
            f"written down by {claim.original_oere - claim.open_oere} øre of {claim.original_oere}: nothing is open",
        )
        return None
    if claim.sidsteRettidigeBetalingsdato is not None and claim.sidsteRettidigeBetalingsdato < claim.forfaldsdato:
        reject(municipality.name, "MIGRATION-DATES", "sidsteRettidigeBetalingsdato lies before forfaldsdato")
        return None
    try:
        specs = to_messages(_event(claim), routes)
    except RoutingError as error:
        reject(municipality.name, error.code, error.text)
        return None
    return claim, specs[0]


def _write_downs(claim: HistoricClaim, routes: RoutingTable) -> list[MessageSpec]:
    """The claim's write-downs before the cut-off and its open dispute (a payment hold), as the messages the
    feed would have made of them."""
    base = _event(claim)
    specs = [
        spec
        for write_down in claim.nedskrivninger
        for spec in to_messages(
            {**base, "type": "FORDRING_NEDSKREVET", "nedskrivning": write_down.model_dump(mode="json")}, routes
        )
    ]
    if claim.indsigelse is not None:
        dispute = claim.indsigelse.model_dump(mode="json")
        specs += to_messages({**base, "type": "FORDRING_INDSIGELSE", "indsigelse": dispute}, routes)
    return specs


def trial_extract(path: Path, routes: RoutingTable) -> MigrationReport:
    """Validate every claim and say what would happen; send nothing, store nothing."""
    report = MigrationReport(final=False)
    for number, raw in _read(path):
        report.lines += 1
        checked = _validate(number, raw, routes, report)
        if checked is not None:
            claim, _ = checked
            tally = report.tally(by_cvr(claim.kommuneCvr).name)  # type: ignore[union-attr]
            tally.send += 1
            tally.amount_oere += claim.open_oere
    return report


def final_extract(
    path: Path, engine: Engine, progress: Progress | None = None, feed_from: str | None = None
) -> MigrationReport:
    """Queue each valid claim exactly once, then deliver until nothing is pending.

    `feed_from`: the extract's cut-off (FBS's feed cursor when it wrote the extract); the engine's feed
    then starts there, unless it has read further already."""
    report = MigrationReport(final=True)
    for number, raw in _read(path):
        report.lines += 1
        checked = _validate(number, raw, engine.routes, report)
        if checked is None:
            continue
        claim, spec = checked
        with engine.transaction() as session:
            if session.get(MigratedClaim, claim.fordringId) is not None:
                report.already_taken += 1
                continue
            session.add(MigratedClaim(claim_id=claim.fordringId, line=number, taken_at=engine.clock.now()))
            if engine.known_claim(session, claim.fordringId):
                # The feed brought it before the extract did: registered once, history not applied twice.
                report.already_taken += 1
                engine.mark_events_read(session, claim.haendelser, claim.fordringId)
                continue
            engine.remember_registration(session, spec, claim.kommuneCvr)
            engine.queue(session, spec, claim.kommuneCvr, claim.fordringId, f"migration:{number}")
            for write_down in _write_downs(claim, engine.routes):
                engine.queue(session, write_down, claim.kommuneCvr, claim.fordringId, f"migration:{number}")
            engine.mark_events_read(session, claim.haendelser, claim.fordringId)
        report.taken += 1
        tally = report.tally(by_cvr(claim.kommuneCvr).name)  # type: ignore[union-attr]
        tally.send += 1
        tally.amount_oere += claim.open_oere
    if feed_from is not None:
        report.feed_from = engine.start_feed_at(feed_from)
    total = report.taken + report.already_taken
    while True:
        cycle = CycleReport()
        engine.deliver_due(cycle)
        report.delivered += cycle.delivered
        pending = engine.queue_depth()
        if progress:
            progress(total - pending, total)
        if pending == 0 or (cycle.delivered == 0 and cycle.rejected == 0):
            report.pending = pending
            break
    return report
