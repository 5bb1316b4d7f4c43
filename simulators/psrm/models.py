"""Messages of PSRM's creditor interface (fordringshaver): MFFordringIndberet, MFKvitteringHent,
MFUnderretSamlingHent, and the answer to a hearing (høring)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from simulators.kernel import Cpr, Cvr, Ident, IsoDate, Oere, OutModel, StrictModel

Text = Annotated[str, Field(min_length=1, max_length=200)]
ClaimType = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$", description="Claim type code")]


class HaeftereCpr(StrictModel):
    cpr: Cpr
    foraeldelsesdato: IsoDate


class HaeftereCvr(StrictModel):
    cvr: Cvr
    foraeldelsesdato: IsoDate


class _ClaimFields(StrictModel):
    mfAktionId: Ident
    fordringshaverReference: Ident
    fordringsart: Literal["HOVEDFORDRING", "RENTE"]
    fordringstype: ClaimType
    beloebOere: Oere
    stiftelsesdato: IsoDate
    forfaldsdato: IsoDate
    sidsteRettidigeBetalingsdato: IsoDate
    periodeFra: IsoDate
    periodeTil: IsoDate
    haeftere: Annotated[list[HaeftereCpr | HaeftereCvr], Field(min_length=1, max_length=5)]
    varselDato: IsoDate | None = Field(default=None, description="When the written notice was given")
    rykkerForloebGennemfoert: bool = Field(description="The creditor ran its usual reminders")
    hovedfordringReference: Ident | None = Field(default=None, description="For RENTE: the main claim's reference")


class OpretFordring(_ClaimFields):
    aktion: Literal["OPRETFORDRING"]


class GenindsendFordring(_ClaimFields):
    aktion: Literal["GENINDSENDFORDRING"]


WriteDownReason = Literal["DIREKTE_BETALING", "FEJLAGTIG_OVERSENDELSE", "AENDRET_GRUNDLAG"]


class Nedskriv(StrictModel):
    aktion: Literal["NEDSKRIV"]
    mfAktionId: Ident
    fordringshaverReference: Ident
    beloebOere: Oere
    virkningsdato: IsoDate
    aarsag: WriteDownReason


class Tilbagekald(StrictModel):
    aktion: Literal["TILBAGEKALD"]
    mfAktionId: Ident
    fordringshaverReference: Ident
    aarsag: Text


class Opskriv(StrictModel):
    aktion: Literal["OPSKRIVNINGREGULERING"]
    mfAktionId: Ident
    fordringshaverReference: Ident
    beloebOere: Oere
    virkningsdato: IsoDate


Aktion = Annotated[OpretFordring | GenindsendFordring | Nedskriv | Tilbagekald | Opskriv, Field(discriminator="aktion")]


class IndberetningIn(StrictModel):
    aktioner: Annotated[list[Aktion], Field(min_length=1, max_length=500)]


class Fejl(OutModel):
    kode: int
    tekst: str


class AktionSvar(OutModel):
    mfAktionId: str
    status: Literal["MODTAGET", "AFVIST"]
    fejl: list[Fejl]


class IndberetningOut(OutModel):
    leveranceId: str
    modtaget: datetime
    aktioner: list[AktionSvar]


class Kvittering(OutModel):
    mfAktionId: str
    status: Literal["UDFOERT", "AFVIST", "HOERING"]
    psrmFordringId: str | None = None
    fejl: list[Fejl]
    hoeringFrist: date | None = None


class KvitteringOut(OutModel):
    leveranceId: str
    klar: Literal[True]
    kvitteringer: list[Kvittering]


class KvitteringVenter(OutModel):
    leveranceId: str
    klar: Literal[False]
    forventetKlar: datetime


class HoeringSvarIn(StrictModel):
    svar: Literal["BEGRUNDET", "TILBAGETRUKKET"]
    begrundelse: Text


class Underretning(OutModel):
    underretningId: str
    type: Literal["AFREGNING", "UDLIGNING", "ALLOKERING", "RETURNERING"]
    dato: date
    fordringshaverReference: str | None = None
    psrmFordringId: str | None = None
    beloebOere: int | None = None
    returKode: Literal["AFTL", "ANDN", "KLAG"] | None = None
    tekst: str | None = None


class UnderretningerOut(OutModel):
    underretninger: list[Underretning]


class DaekningIn(StrictModel):
    psrmFordringId: Ident
    beloebOere: Oere
    kilde: Literal["MODREGNING", "LOENINDEHOLDELSE", "INDBETALING"]


class ReturneringIn(StrictModel):
    psrmFordringId: Ident
    returKode: Literal["AFTL", "ANDN", "KLAG"]
    tekst: Text


class HistorikOut(OutModel):
    dato: date
    haendelse: str
    beloebOere: int | None = None


class PsrmFordringOut(OutModel):
    psrmFordringId: str
    fordringshaverReference: str
    kommuneCvr: str
    fordringsart: Literal["HOVEDFORDRING", "RENTE"]
    status: Literal["MODTAGET", "UNDER_INDDRIVELSE", "HOERING", "AFVIST", "TILBAGEKALDT", "RETURNERET", "INDFRIET"]
    oprindeligtBeloebOere: int
    saldoOere: int
    hovedfordringReference: str | None = None
    hoeringFrist: date | None = None
    historik: list[HistorikOut]
