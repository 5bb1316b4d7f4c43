"""Builders for ØiR messages in tests, with synthetic people only."""

from __future__ import annotations

import uuid
from typing import Any


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def account(cpr: str, *claims: dict[str, Any], account_id: str | None = None) -> dict[str, Any]:
    return {
        "debitorkontoId": account_id or new_id("K"),
        "haeftelse": {"cpr": cpr, "navn": "Test Borger"},
        "fordringer": list(claims),
    }


def claim(
    amount: int,
    *,
    product: str = "BIB-GEBYR",
    on: str = "2026-01-05",
    srb: str | None = None,
    claim_id: str | None = None,
    acknowledged: bool = False,
    parts: list[int] | None = None,
) -> dict[str, Any]:
    claim_id = claim_id or new_id("F")
    body: dict[str, Any] = {
        "fordringId": claim_id,
        "produktkode": product,
        "tekst": f"{product} {claim_id}",
        "stiftelsesdato": on,
        "forfaldsdato": on,
        "anerkendt": acknowledged,
        "delfordringer": [
            {"delfordringId": f"{claim_id}-{i}", "beloebOere": part, "tekst": f"del {i}"}
            for i, part in enumerate(parts or [amount], start=1)
        ],
    }
    if srb:
        body["sidsteRettidigeBetalingsdato"] = srb
    return body
