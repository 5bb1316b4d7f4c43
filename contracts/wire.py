"""Wire conventions every interface of the harness shares: strict JSON types for money, dates and ids.

Simulators and the integration engine both parse messages with these (the engine may not import the
simulators, so the conventions live with the contracts).

Request bodies are parsed strictly (`false` is not a number, `"12"` is not an amount); money is a
positive whole number of øre; dates and times are exactly RFC 3339 strings (pydantic's strict mode
refuses JSON date strings, its lax mode takes Unix timestamps; neither matches the contract); CPR and
CVR follow `contracts.identity`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from .identity import CPR_PATTERN, CVR_PATTERN, is_valid_cvr


class StrictModel(BaseModel):
    """Request bodies: no unknown fields, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)


class OutModel(BaseModel):
    """Response bodies."""

    model_config = ConfigDict(extra="forbid")


def ensure_valid_cvr(value: str | None) -> None:
    """The modulus-11 check a JSON Schema pattern cannot express: a 422 business rejection."""
    if value is not None and not is_valid_cvr(value):
        from .problems import Problem  # only when raising: this module stays free of the web framework

        raise Problem(422, "OIR-422-INVALID-CVR", "The CVR number's check digit is wrong (modulus 11)")


_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _iso_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("a date is a string YYYY-MM-DD")
    return date.fromisoformat(value)


def _iso_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a time needs a UTC offset")
        return value
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise ValueError("a time is an RFC 3339 string with a UTC offset, e.g. 2026-01-05T09:00:00+01:00")
    text = value.upper().replace("Z", "+00:00").replace(":60", ":59")  # leap seconds are valid RFC 3339
    return datetime.fromisoformat(text)


def _uuid(value: Any) -> str:
    if not isinstance(value, str) or not _UUID.match(value):
        raise ValueError("a UUID in its 8-4-4-4-12 form")
    return value.lower()


def _whole(value: Any) -> int:
    """JSON Schema counts 12.0 as an integer; pydantic's strict mode does not. Neither counts true."""
    if isinstance(value, bool):
        raise ValueError("a whole number, not a boolean")  # noqa: TRY004 - pydantic wants ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError("a whole number")


# Put constraints on `int` first and this after them (Annotated[int, Field(ge=0), WHOLE]), so the JSON
# Schema keeps minimum/maximum; wrapped the other way round pydantic emits raw `gt`/`le` keys.
WHOLE = BeforeValidator(_whole)
Whole = Annotated[int, WHOLE]


IsoDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
IsoDateTime = Annotated[
    datetime, BeforeValidator(_iso_datetime), WithJsonSchema({"type": "string", "format": "date-time"})
]
UuidStr = Annotated[str, BeforeValidator(_uuid), WithJsonSchema({"type": "string", "format": "uuid"})]

Oere = Annotated[int, Field(gt=0, le=10_000_000_000, description="Amount in øre (1 kr = 100 øre), positive"), WHOLE]
OereOrZero = Annotated[int, Field(ge=0, le=10_000_000_000, description="Amount in øre, zero or more"), WHOLE]
SignedOere = Annotated[int, Field(ge=-10_000_000_000, le=10_000_000_000, description="Amount in øre"), WHOLE]
Cpr = Annotated[str, Field(pattern=CPR_PATTERN, description="CPR number, 10 digits DDMMYYSSSS (personal data)")]
# 8 digits by the contract; the check digit is verified by `ensure_valid_cvr` (422 when wrong).
Cvr = Annotated[str, Field(pattern=CVR_PATTERN, description="CVR number, 8 digits, modulus-11 check digit")]
# Every id on the wire (claims, accounts, sub-claims, borrowers, actions): 1-64 characters, a letter or
# digit first. The OpenAPI files and the pact matchers spell the same pattern out.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
