"""Messages of the FBS side: the library desk, the claim-event feed, and the intakes for postings,
status notices and rejections that the ØiR integration engine delivers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from simulators.kernel import Cpr, Ident, IsoDate, Oere, OutModel, StrictModel

Text = Annotated[str, Field(min_length=1, max_length=200)]
ClaimKind = Literal["GEBYR", "ERSTATNING", "ERSTATNING_ANERKENDT"]
ClaimStatus = Literal["AABEN", "AFVIST", "BETALT", "ANNULLERET", "AFSKREVET"]
Collection = Literal["IKKE_OVERDRAGET", "OVERDRAGET", "RETURNERET"]
EventKind = Literal[
    "FORDRING_OPRETTET",
    "FORDRING_NEDSKREVET",
    "FORDRING_ANNULLERET",
    "CPR_AENDRET",
    "FORDRING_OPSKREVET",
    "FORDRING_ANERKENDT",
    "FORDRING_INDSIGELSE",
    "FORDRING_INDSIGELSE_AFGJORT",
]
DisputeOutcome = Literal["MEDHOLD", "AFVIST"]


class LaanerIn(StrictModel):
    cpr: Cpr
    navn: Annotated[str, Field(min_length=1, max_length=120)]


class LaanerOut(OutModel):
    laanerId: str
    navn: str
    kommuneKode: str


class FordringIn(StrictModel):
    laanerId: Ident
    type: ClaimKind
    beloebOere: Oere = Field(description="The fee, or the replacement price")
    haandteringsgebyrOere: Oere | None = Field(default=None, description="Handling fee on a replacement (e.g. 90 kr)")
    tekst: Text
    materialeId: Ident | None = None
    forfaldsdato: IsoDate | None = Field(default=None, description="Default: the day the claim is made")


class NedskrivningIn(StrictModel):
    beloebOere: Oere
    virkningsdato: IsoDate
    aarsag: Literal["DIREKTE_BETALING", "FEJLAGTIG_OVERSENDELSE", "AENDRET_GRUNDLAG", "ANDET"]


class AnnulleringIn(StrictModel):
    aarsag: Text


class OpskrivningIn(StrictModel):
    beloebOere: Oere = Field(description="What the claim grows by: a new part of it")
    virkningsdato: IsoDate | None = Field(default=None, description="Default: today")
    tekst: Text


class AnerkendelseIn(StrictModel):
    dato: IsoDate | None = Field(default=None, description="When the borrower signed; default today")


class IndsigelseIn(StrictModel):
    begrundelse: Text = Field(description="What the borrower says, e.g. that the material was returned")


class AfgoerelseIn(StrictModel):
    udfald: DisputeOutcome = Field(
        description="MEDHOLD: the borrower is right, the claim is annulled; AFVIST: it stands"
    )
    begrundelse: Text | None = None


class CprIn(StrictModel):
    cpr: Cpr


class RettelseIn(StrictModel):
    beloebOere: Oere | None = None
    tekst: Text | None = None
    type: ClaimKind | None = None


class PosteringIn(StrictModel):
    posteringId: Ident
    fordringId: Ident
    type: Literal["DAEKNING", "AFSKRIVNING"]
    beloebOere: Oere
    dato: IsoDate
    kilde: Annotated[str, Field(max_length=40)] | None = None


class StatusIn(StrictModel):
    meddelelseId: Ident
    fordringId: Ident
    status: Literal["OVERDRAGET_TIL_INDDRIVELSE", "RETUR_FRA_INDDRIVELSE", "KONTO_LUKKET"]
    dato: IsoDate
    returKode: Literal["AFTL", "ANDN", "KLAG"] | None = None


class AfvisningIn(StrictModel):
    afvisningId: Ident
    fordringId: Ident
    kode: Annotated[str, Field(min_length=1, max_length=60)]
    tekst: Text


class DelpostOut(OutModel):
    delpostId: str
    beloebOere: int
    tekst: str


class PosteringOut(OutModel):
    posteringId: str
    type: str
    beloebOere: int
    overbetalingOere: int = Field(description="The part the claim did not take: refunded (DAEKNING) or void")
    dato: date
    kilde: str | None = None


class AfvisningOut(OutModel):
    afvisningId: str
    kode: str
    tekst: str
    modtaget: datetime


class IndsigelseOut(OutModel):
    modtaget: date
    begrundelse: str
    udfald: DisputeOutcome | None = Field(default=None, description="Absent while the dispute is open")
    afgjort: date | None = None


class FordringOut(OutModel):
    fordringId: str
    laanerId: str
    kommuneKode: str
    kommuneCvr: str
    type: ClaimKind
    tekst: str
    version: int
    stiftelsesdato: date
    forfaldsdato: date
    beloebOere: int
    saldoOere: int
    tilbagebetalingOere: int = Field(description="Paid beyond the claim, or on a claim that had gone: to refund")
    status: ClaimStatus
    inddrivelse: Collection
    kontoLukket: bool
    delposter: list[DelpostOut]
    posteringer: list[PosteringOut]
    afvisninger: list[AfvisningOut]
    indsigelse: IndsigelseOut | None = Field(
        default=None, description="The borrower's latest dispute (indsigelse): collection is paused while it is open"
    )


class KvitteringOut(OutModel):
    id: str
    dublet: bool = Field(description="true when this id had been received before")
    fordring: FordringOut


class EventFordring(OutModel):
    fordringId: str
    laanerId: str
    type: ClaimKind
    beloebOere: int
    tekst: str
    stiftelsesdato: date
    forfaldsdato: date
    version: int
    delposter: list[DelpostOut]


class EventLaaner(OutModel):
    laanerId: str
    cpr: str
    navn: str


class EventNedskrivning(OutModel):
    beloebOere: int
    virkningsdato: date
    aarsag: str


class EventOpskrivning(OutModel):
    delpostId: str = Field(description="The claim's new part")
    beloebOere: int
    virkningsdato: date
    tekst: str


class EventAnerkendelse(OutModel):
    dato: date
    saldoOere: int = Field(description="What is open on the claim as it becomes acknowledged")


class EventIndsigelse(OutModel):
    dato: date
    begrundelse: str
    udfald: DisputeOutcome | None = Field(default=None, description="On FORDRING_INDSIGELSE_AFGJORT")


class EventCpr(OutModel):
    gammelCpr: str
    nyCpr: str


class HaendelseOut(OutModel):
    haendelseId: str
    cursor: str
    type: EventKind
    tidspunkt: datetime
    kommuneKode: str
    kommuneCvr: str
    fordring: EventFordring
    laaner: EventLaaner
    nedskrivning: EventNedskrivning | None = None
    annulleringsaarsag: str | None = None
    cprAendring: EventCpr | None = None
    opskrivning: EventOpskrivning | None = None
    anerkendelse: EventAnerkendelse | None = None
    indsigelse: EventIndsigelse | None = None


class HaendelserOut(OutModel):
    haendelser: list[HaendelseOut]
    naesteCursor: str | None = Field(
        default=None, description="Pass as `efter` to read on; absent when the feed is empty"
    )


class HistoriskNedskrivningOut(OutModel):
    haendelseId: str = Field(description="The feed event it was: the engine never sends it again")
    beloebOere: int
    virkningsdato: date
    aarsag: str


class HistoriskFordringOut(OutModel):
    """One open claim as it stands at the extract's cut-off: the engine's migration line."""

    fordringId: str
    kommuneCvr: str
    laaner: EventLaaner
    type: str
    tekst: str
    stiftelsesdato: date
    forfaldsdato: date
    delposter: list[DelpostOut] = Field(description="At their original amounts")
    nedskrivninger: list[HistoriskNedskrivningOut] = Field(
        description="Paid at the library or written down before the cut-off"
    )
    haendelser: list[str] = Field(description="The feed events this line already includes")
    indsigelse: EventIndsigelse | None = Field(
        default=None, description="The borrower's dispute, open at the cut-off: collection stays paused"
    )


class UdtraekOut(OutModel):
    afskaeringsCursor: str | None = Field(
        default=None, description="The feed cursor at the cut-off: the engine's feed starts after it"
    )
    fordringer: list[HistoriskFordringOut]


class NotifikationOut(OutModel):
    type: Literal["UDELUKKELSE", "UDELUKKELSE_OPHAEVET"]
    tidspunkt: datetime
    saldoOere: int


class LaanerStatusOut(OutModel):
    laanerId: str
    kommuneKode: str
    saldoOere: int
    graenseOere: int
    udelukket: bool
    aabneFordringer: int
    notifikationer: list[NotifikationOut]


class SaldoFordringOut(OutModel):
    fordringId: str
    tekst: str
    forfaldsdato: date
    oprindeligtBeloebOere: int = Field(description="What the claim was made for, write-ups included")
    betaltOere: int = Field(description="Payments the debtor system reported, less overpayments")
    nedskrevetOere: int = Field(description="The library's own write-downs")
    afskrevetOere: int = Field(description="Write-offs the debtor system reported")
    saldoOere: int = Field(description="Open on the day of the statement")
    inddrivelse: Collection


class SaldoopgoerelseOut(OutModel):
    """A periodic balance statement (saldoopgørelse) to a borrower with open claims."""

    opgoerelseId: str
    laanerId: str
    dato: date = Field(description="The day it was made: the first of the month")
    fordringer: list[SaldoFordringOut]
    saldoOere: int = Field(description="The sum of the claims' open amounts")


class SaldoopgoerelserOut(OutModel):
    saldoopgoerelser: list[SaldoopgoerelseOut] = Field(description="Oldest first")


Antal = Annotated[int, Field(ge=1, le=1000)]  # a query parameter: text, parsed by FastAPI
