"""Secrets never reach evidence: one place that takes credentials out of a recorded HTTP exchange.

Scenario runs and certification probes record every exchange for the HAR evidence a vendor's engineer
and KOMBIT read. Besides the Authorization header, credentials travel in bodies — a scenario points a
debtor simulator at its engine with `PATCH /_sim/settings {"callback_token": …}`, and the simulator
echoes its settings back — and now and then in a query string. Every recorder passes its exchange
through `redact_exchange` before keeping it, and the HAR writer does once more, so neither the evidence
nor the records parallel workers save carry a token.

A field is secret when its name contains `token`, `secret`, `password` or `authorization` (any case),
at any depth of a JSON body; its value, whatever it is, becomes `[REDACTED]`. The Authorization
header keeps its scheme (`Bearer ***`), so the evidence still shows how the caller authenticated.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(r"token|secret|password|authorization", re.IGNORECASE)
_SECRET_HEADERS = frozenset({"cookie", "set-cookie", "proxy-authorization"})


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def redact_secrets(value: Any) -> Any:
    """A copy of a JSON value with every secret-named field's value replaced, at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and is_secret_name(key) else redact_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_secrets(item) for item in value]
    return value


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """HTTP headers with credentials taken out (`Authorization: Bearer ***`)."""
    redacted = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else ""
            redacted[name] = f"{scheme} ***" if scheme else "***"
        elif lowered in _SECRET_HEADERS or is_secret_name(lowered):
            redacted[name] = REDACTED
        else:
            redacted[name] = value
    return redacted


def redact_url(url: str) -> str:
    """The URL with the values of secret-named query parameters replaced."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret_name(key) for key, _ in query):
        return url  # untouched, byte for byte
    query = [(key, REDACTED if is_secret_name(key) else item) for key, item in query]
    return urlunsplit(parts._replace(query=urlencode(query, safe="[]")))


def redact_exchange(exchange: dict[str, Any]) -> dict[str, Any]:
    """A recorded exchange (the fields of `events.HttpExchange`) fit for evidence; the original is untouched."""
    redacted = dict(exchange)
    for key in ("request_headers", "response_headers"):
        if isinstance(redacted.get(key), dict):
            redacted[key] = redact_headers(redacted[key])
    for key in ("request_body", "response_body"):
        if key in redacted:
            redacted[key] = redact_secrets(redacted[key])
    if isinstance(redacted.get("url"), str):
        redacted["url"] = redact_url(redacted["url"])
    return redacted
