"""A recorded request as a curl command a vendor's engineer can paste into a shell.

Reports showed a failing request in Python's syntax (`{'cpr': …}`, `None`), which no tool reads back.
This turns an exchange (the fields of `scenarios.events.HttpExchange`) into one curl line: the method,
the URL, the headers the request carried (transport headers curl sets itself left out) and the JSON
body. Secrets never appear: the exchange goes through `scenarios.redaction` first, and the bearer
token becomes an environment variable (`$OIR_DEBTOR_TOKEN` for the debtor system), so the line works
once the variable is set; CPR numbers are masked (`DDMMYY-xxxx`), so a request that needs one must have
a synthetic CPR put back before it is sent again.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from contracts.identity import mask_cpr_in_text
from scenarios.redaction import redact_exchange

# what curl adds itself, or that only described the original connection
_TRANSPORT = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"})
TOKEN_VARIABLES = {"debtor": "OIR_DEBTOR_TOKEN"}  # by the exchange's `system`; others: OIR_TOKEN


def curl_line(exchange: dict[str, Any]) -> str:
    """One shell line that sends the request again (token as a variable, CPRs masked)."""
    shown = redact_exchange(exchange)
    parts = ["curl", "-X", shown["method"], shlex.quote(shown["url"])]
    for name, value in shown["request_headers"].items():
        lowered = name.lower()
        if lowered in _TRANSPORT:
            continue
        if lowered == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else "Bearer"
            variable = TOKEN_VARIABLES.get(shown.get("system", ""), "OIR_TOKEN")
            parts += ["-H", f'"Authorization: {scheme} ${variable}"']  # double quotes: the shell fills it in
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = shown.get("request_body")
    if body is not None:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        parts += ["--data-raw", shlex.quote(text)]
    return mask_cpr_in_text(" ".join(parts))


def answer_text(exchange: dict[str, Any], limit: int = 2000) -> str:
    """`422 {"code": …}`: the status and the body of the answer, in JSON."""
    shown = redact_exchange(exchange)
    body = shown.get("response_body")
    text = "" if body is None else body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return mask_cpr_in_text(f"{shown['status']} {text[:limit]}".rstrip())
