"""Small helpers the action modules share: argument shorthands and answers that must be 2xx."""

from __future__ import annotations

from typing import Any

from ..context import Response, RunContext, StepFailure
from ..vocabulary import Arg

REF = Arg("ref", required=True, doc="a value captured earlier with `as:` (or a ${...} reference)")
MONEY = Arg("money", required=True, doc="øre (12000) or kroner ('120 kr')")


def must(response: Response, what: str) -> Any:
    """The body of a 2xx answer; anything else fails the step with the answer as evidence."""
    if response.status >= 300:
        raise StepFailure(f"{what}: {response.method} {response.url} answered {response.status}", response.body)
    return response.body


def cvr_of(value: dict[str, Any]) -> str:
    cvr = value.get("kommuneCvr")
    if not isinstance(cvr, str):
        raise StepFailure("the value has no kommuneCvr; pass a borrower or claim captured from FBS", value)
    return cvr


def claim_id_of(value: dict[str, Any]) -> str:
    claim_id = value.get("fordringId")
    if not isinstance(claim_id, str):
        raise StepFailure("the value has no fordringId; pass a claim captured from FBS", value)
    return claim_id


def settings(ctx: RunContext, system: str, changes: dict[str, Any]) -> dict[str, Any]:
    wanted = {key: value for key, value in changes.items() if value is not None}
    return ctx.control(system, "PATCH", "/settings", wanted)["settings"]  # type: ignore[no-any-return]
