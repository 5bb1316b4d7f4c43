"""Schemathesis hooks that let fuzzing reach an ØiR system's business logic, not only its front door.

Loaded by the schemathesis process that `fuzz.run_schemathesis` starts (`SCHEMATHESIS_HOOKS`), never
imported by the harness itself. Without them most generated requests never got past the header block:

- schemathesis draws `X-Transaktion-Id` from a small seeded pool, so many *different* messages went out
  under one transaction id, and a conforming system rightly answers 409 `OIR-409-TRANSACTION-ID-REUSED`
  (schemathesis' own report: "most requests collided with existing resources"). Here a well-formed id is
  replaced by one derived from the whole message (UUID v5 of method, path, query, body and the other
  headers): a different message gets a different id, the very same message the same id — a true retry,
  which the contract answers with a replay. So the requests stay reproducible from the seed.
- `X-Kommune-Cvr` is drawn from all 98 municipalities, of which a vendor's token acts for a few; the rest
  are refused (403/422) before anything is looked at. Where the run names the municipalities it certifies
  (`OIR_FUZZ_MUNICIPALITY_CVRS`, comma-separated), a known municipality's CVR is mapped onto one of them
  (chosen by the drawn value, so reproducible). That a foreign municipality is refused is the probes'
  business (municipality-cvr, own-accounts-only).

Only well-formed values are replaced: a negative case that breaks or leaves out a header keeps its
breakage, so `missing_required_header` and negative-data checks test what they tested before.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from functools import cache
from typing import Any

import schemathesis

from contracts.checks.fuzz import MUNICIPALITY_CVRS_ENV
from contracts.municipalities import load_municipalities

TRANSACTION_ID = "x-transaktion-id"
MUNICIPALITY_CVR = "x-kommune-cvr"
_NAMESPACE = uuid.UUID("6f1c4c1e-8f0a-4d39-9a55-0b0c4e1d0a11")  # ids of fuzzed messages


@cache
def _known_cvrs() -> frozenset[str]:
    return frozenset(m.cvr for m in load_municipalities())


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _fingerprint(case: Any, headers: dict[str, Any]) -> str:
    """The message as sent, but for its transaction id: what makes two requests the same message."""
    body = getattr(case, "body", None)
    message = {
        "method": str(getattr(case, "method", "")).upper(),
        "path": getattr(case, "formatted_path", None) or getattr(case, "path", ""),
        "path_parameters": getattr(case, "path_parameters", None),
        "query": getattr(case, "query", None),
        "headers": {k.lower(): v for k, v in headers.items() if k.lower() != TRANSACTION_ID},
        "body": body,
    }
    return json.dumps(message, sort_keys=True, default=repr)


def fresh_headers(case: Any, headers: dict[str, Any], municipality_cvrs: list[str]) -> dict[str, Any]:
    """The headers with a per-message transaction id and (if given) one of the certified municipalities."""
    known = _known_cvrs()
    changed = dict(headers)
    for name, value in headers.items():
        if name.lower() == MUNICIPALITY_CVR and municipality_cvrs and str(value) in known:
            pick = int(hashlib.sha256(str(value).encode()).hexdigest(), 16) % len(municipality_cvrs)
            changed[name] = municipality_cvrs[pick]
    for name, value in headers.items():
        if name.lower() == TRANSACTION_ID and _is_uuid(value):
            changed[name] = str(uuid.uuid5(_NAMESPACE, _fingerprint(case, changed)))
    return changed


def _breaks_a_header(case: Any) -> bool:
    """A negative case whose breakage is in a header (one left out or malformed): left as generated. Any
    edit of its headers would make schemathesis revalidate it as positive and send the header it left out,
    and then blame the system for accepting a message that was never sent."""
    meta = getattr(case, "meta", None)
    if meta is None:
        return False
    negative = bool(getattr(getattr(getattr(meta, "generation", None), "mode", None), "is_negative", False))
    location = getattr(getattr(getattr(meta, "phase", None), "data", None), "parameter_location", None)
    return negative and str(getattr(location, "value", location)).lower() == "header"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = getattr(case, "headers", None)
    if not headers or _breaks_a_header(case):
        return
    cvrs = [c.strip() for c in os.environ.get(MUNICIPALITY_CVRS_ENV, "").split(",") if c.strip()]
    for name, value in fresh_headers(case, headers, cvrs).items():
        if headers.get(name) != value:
            headers[name] = value
