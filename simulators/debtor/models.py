"""Request and response bodies of the ØiR debtor interface (B_01, B_02, B_03) and the callback.

Names follow the real services (OpretDebitorkonto, RetFordringTilstand, DebitorForespørgsel,
SøgDelfordringTilIndbetaling, ForetagIndbetaling, DækningAfskrivning) in ASCII spelling.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from contracts.wire import WHOLE
from simulators.kernel import Cpr, Cvr, Ident, IsoDate, Oere, OutModel, StrictModel

Text = Annotated[str, Field(min_length=1, max_length=200)]
ProductCode = Annotated[
    str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$", description="The debtor's product code (sortiment)")
]


Navn = Annotated[str, Field(min_length=1, max_length=120)]


class HaeftelseCpr(StrictModel):
    """A person is liable."""

    cpr: Cpr
    navn: Navn | None = None


class HaeftelseCvr(StrictModel):
    """A company is liable."""

    cvr: Cvr
    navn: Navn | None = None


Haeftelse = HaeftelseCpr | HaeftelseCvr


def party(haeftelse: object) -> tuple[str | None, str | None]:
    """(cpr, cvr) of a liable party."""
    # The two liable parties by their type: asking a pydantic model for a field it lacks raises and
    # catches an AttributeError inside pydantic on every call.
    if isinstance(haeftelse, HaeftelseCpr):
        return (haeftelse.cpr, None)
    if isinstance(haeftelse, HaeftelseCvr):
        return (None, haeftelse.cvr)
    return (getattr(haeftelse, "cpr", None), getattr(haeftelse, "cvr", None))


class DelfordringIn(StrictModel):
    delfordringId: Ident
    beloebOere: Oere
    tekst: Text


class TidligereRykkerIn(StrictModel):
    nummer: Annotated[int, Field(ge=1, le=9), WHOLE]
    dato: IsoDate


class FordringIn(StrictModel):
    fordringId: Ident
    produktkode: ProductCode
    tekst: Text
    stiftelsesdato: IsoDate
    forfaldsdato: IsoDate
    sidsteRettidigeBetalingsdato: IsoDate | None = None
    periodeFra: IsoDate | None = None
    periodeTil: IsoDate | None = None
    anerkendt: bool = False
    delfordringer: Annotated[list[DelfordringIn], Field(min_length=1, max_length=20)]
    tidligereRykkere: Annotated[
        list[TidligereRykkerIn],
        Field(
            default_factory=list,
            max_length=9,
            description="A historic claim's reminders already sent before go-live (migration); the debtor "
            "sends none of them again and counts on from the last one",
        ),
    ]


class OpretDebitorkontoIn(StrictModel):
    debitorkontoId: Ident
    haeftelse: Haeftelse
    fordringer: Annotated[list[FordringIn], Field(min_length=1, max_length=100)]


class FordringStatusOut(OutModel):
    fordringId: str
    status: str
    saldoOere: int
    ny: bool = Field(description="false when the claim was already registered with this exact content")


class OpretDebitorkontoOut(OutModel):
    debitorkontoId: str
    oprettet: bool = Field(description="true when this message created the account")
    fordringer: list[FordringStatusOut]


WriteDownReason = Literal["DIREKTE_BETALING", "FEJLAGTIG_OVERSENDELSE", "AENDRET_GRUNDLAG", "ANDET"]


class NedskrivningIn(StrictModel):
    """Write the principal down by an amount from the effective date."""

    handling: Literal["NEDSKRIVNING"]
    beloebOere: Oere
    virkningsdato: IsoDate
    aarsag: WriteDownReason


class AnnulleringIn(StrictModel):
    """Cancel what remains of the claim."""

    handling: Literal["ANNULLERING"]
    virkningsdato: IsoDate
    aarsag: WriteDownReason


HoldReason = Literal["INDSIGELSE", "AFTALE", "ANDET"]


class BetalingsstandsningIn(StrictModel):
    """Pause collection of the claim (betalingsstandsning): no reminders, reminder fees or handover to PSRM
    while it holds. When it ends (on `tilDato`, or when lifted) the payment deadline is that day, moved to
    the next bank day if it is closed, and the reminders count from it. A hold on a held claim replaces it."""

    handling: Literal["BETALINGSSTANDSNING"]
    tilDato: IsoDate | None = Field(default=None, description="Collection resumes on this day; absent: until lifted")
    aarsag: HoldReason | None = Field(default=None, description="INDSIGELSE: the citizen disputes the claim")


class OphaevBetalingsstandsningIn(StrictModel):
    """Lift the claim's payment hold today: its payment deadline is today (or the next bank day)."""

    handling: Literal["OPHAEV_BETALINGSSTANDSNING"]


RetFordringTilstandIn = Annotated[
    NedskrivningIn | AnnulleringIn | BetalingsstandsningIn | OphaevBetalingsstandsningIn,
    Field(discriminator="handling"),
]


class AendrHaeftelseIn(StrictModel):
    nyHaeftelse: Haeftelse
    virkningsdato: IsoDate


class ForespoergselCpr(StrictModel):
    cpr: Cpr


class ForespoergselCvr(StrictModel):
    cvr: Cvr


DebitorForespoergselIn = ForespoergselCpr | ForespoergselCvr


class BevaegelseOut(OutModel):
    type: str
    beloebOere: int
    dato: date
    kilde: str | None = None


class DelfordringOut(OutModel):
    delfordringId: str
    art: Literal["HOVEDSTOL", "RYKKERGEBYR", "RENTE"]
    tekst: str
    oprindeligtBeloebOere: int
    restOere: int
    betalingsreference: str
    bevaegelser: list[BevaegelseOut]


class RykkerOut(OutModel):
    nummer: int
    dato: date
    gebyrOere: int


class BetalingsstandsningOut(OutModel):
    fra: date
    til: date | None = Field(default=None, description="Collection resumes on this day; absent: until lifted")
    aarsag: str | None = None


class FordringOut(OutModel):
    fordringId: str
    produktkode: str
    tekst: str
    status: Literal["AKTIV", "BETALT", "ANNULLERET", "AFSKREVET"]
    stiftelsesdato: date
    forfaldsdato: date
    sidsteRettidigeBetalingsdato: date
    saldoOere: int
    indbetaltOere: int
    nedskrevetOere: int
    afskrevetOere: int
    renterOere: int
    rykkergebyrerOere: int
    inddrivelse: Literal[
        "IKKE_OVERDRAGET",
        "OVERDRAGELSE_I_GANG",
        "OVERDRAGET",
        "HOERING",
        "AFVIST_AF_PSRM",
        "RETURNERET",
        "TILBAGEKALDT",
    ]
    psrmFordringId: str | None = None
    returKode: str | None = None
    rykkere: list[RykkerOut]
    delfordringer: list[DelfordringOut]
    betalingsstandsning: BetalingsstandsningOut | None = Field(
        default=None, description="The payment hold in force: no reminders, fees or handover to PSRM meanwhile"
    )


class HaeftelseOut(OutModel):
    cpr: str | None = None
    cvr: str | None = None
    navn: str | None = None
    fra: date
    til: date | None = None


class DebitorkontoOut(OutModel):
    debitorkontoId: str
    kommuneCvr: str
    status: Literal["AABEN", "LUKKET"]
    saldoOere: int
    haeftelse: HaeftelseOut
    tidligereHaeftelser: list[HaeftelseOut]
    fordringer: list[FordringOut]


class DebitorkontoResumeOut(OutModel):
    debitorkontoId: str
    status: Literal["AABEN", "LUKKET"]
    saldoOere: int
    antalFordringer: int


class DebitorForespoergselOut(OutModel):
    debitorkonti: list[DebitorkontoResumeOut]


class SoegDelfordringIn(StrictModel):
    cpr: Cpr


class BetalbarDelfordringOut(OutModel):
    delfordringId: str
    fordringId: str
    debitorkontoId: str
    tekst: str
    restOere: int
    betalingsreference: str
    forfaldsdato: date


class SoegDelfordringOut(OutModel):
    delfordringer: list[BetalbarDelfordringOut]


class BetalingLinje(StrictModel):
    delfordringId: Ident
    beloebOere: Oere


class ForetagIndbetalingIn(StrictModel):
    betalingId: Ident
    betalingsmetode: Literal["KORT", "MOBILEPAY", "NETBANK"] = "KORT"
    delfordringer: Annotated[list[BetalingLinje], Field(min_length=1, max_length=50)]


class BetalingLinjeOut(OutModel):
    delfordringId: str
    beloebOere: int
    restOere: int


class ForetagIndbetalingOut(OutModel):
    betalingId: str
    modtaget: datetime
    beloebOere: int
    delfordringer: list[BetalingLinjeOut]


class BankIndbetalingIn(StrictModel):
    betalingsreference: Annotated[str, Field(min_length=1, max_length=40)]
    beloebOere: Oere


class BankIndbetalingOut(OutModel):
    betalingsreference: str
    delfordringId: str
    beloebOere: int
    restOere: int


class AfskrivningIn(StrictModel):
    fordringId: Ident
    beloebOere: Oere
    aarsag: Text


class CallbackOut(OutModel):
    meddelelseId: str
    type: str
    fordringId: str | None = None
    forfaldAt: datetime
    forsoeg: int
    leveret: datetime | None = None
    sidsteFejl: str | None = None


class CallbackListOut(OutModel):
    callbacks: list[CallbackOut]
