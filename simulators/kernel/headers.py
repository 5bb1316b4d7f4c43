"""The header block (Hovedoplysninger) every ØiR message carries, as HTTP request headers.

In the SOAP services it is an element of each message; in this JSON/HTTP rendition it travels as
`X-Transaktion-Id` (a UUID that makes a retry harmless), `X-Transaktion-Tid` (when the sender made
the message) and `X-Kommune-Cvr` (which of the 98 municipalities the call is for).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

from fastapi import Depends, Header, Request

from contracts.municipalities import Municipality, by_cvr, load_municipalities
from contracts.problems import Problem
from contracts.wire import IsoDateTime, UuidStr

from .auth import Principal

if TYPE_CHECKING:
    KommuneCvr = str
else:  # the 98 municipalities' CVRs, so the contract can enumerate them
    KommuneCvr = Literal[tuple(m.cvr for m in load_municipalities())]


@dataclass(frozen=True)
class HeaderBlock:
    transaction_id: UUID
    sent_at: datetime
    municipality: Municipality


async def header_block(
    request: Request,
    x_transaktion_id: Annotated[
        UuidStr, Header(alias="X-Transaktion-Id", description="Transaction id; a retry reuses it")
    ],
    x_transaktion_tid: Annotated[
        IsoDateTime, Header(alias="X-Transaktion-Tid", description="When the sender made the message (RFC 3339)")
    ],
    x_kommune_cvr: Annotated[KommuneCvr, Header(alias="X-Kommune-Cvr", description="The municipality's CVR number")],
) -> HeaderBlock:
    if request.scope.get("state", {}).get("sim_transaction_reused"):
        raise Problem(
            409,
            "OIR-409-TRANSACTION-ID-REUSED",
            "This transaction id was already used for another message",
            "a retry must resend the identical message",
        )
    municipality = by_cvr(x_kommune_cvr)
    assert municipality is not None  # guaranteed by the enumeration above
    return HeaderBlock(UUID(x_transaktion_id), x_transaktion_tid, municipality)


def ensure_may_act(principal: Principal, block: HeaderBlock) -> None:
    if not principal.may_act_for(block.municipality.cvr):
        raise Problem(
            403,
            "OIR-403-MUNICIPALITY-NOT-ALLOWED",
            "These credentials may not act for this municipality",
            f"municipality {block.municipality.code} {block.municipality.name}",
        )


HeaderBlockDep = Annotated[HeaderBlock, Depends(header_block)]
