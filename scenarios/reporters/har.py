"""The HAR evidence reporter: HAR 1.2 of a scenario's HTTP exchanges (or certification's probes'), CPR
masked and tokens redacted, whoever recorded them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..redaction import redact_exchange, redact_headers
from .record import masked_json


def _headers(headers: dict[str, str]) -> list[dict[str, str]]:
    """HAR headers; credentials never reach evidence."""
    return [{"name": k, "value": v} for k, v in redact_headers(headers).items()]


def write_har(exchanges: list[dict[str, Any]], path: Path) -> None:
    """HAR 1.2 of HTTP exchanges (the scenario's, or certification's probes'); CPR masked, tokens redacted.

    Each exchange is a dict with the fields of `events.HttpExchange`.
    """
    entries = []
    for exchange in map(redact_exchange, exchanges):  # whoever recorded them: no token in evidence
        request_body = (
            json.dumps(exchange["request_body"], ensure_ascii=False) if exchange["request_body"] is not None else ""
        )
        response_body = json.dumps(exchange["response_body"], ensure_ascii=False, default=str)
        entries.append(
            {
                "startedDateTime": exchange["started"] or "1970-01-01T00:00:00Z",
                "time": round(exchange["seconds"] * 1000, 2),
                "request": {
                    "method": exchange["method"],
                    "url": exchange["url"],
                    "httpVersion": "HTTP/1.1",
                    "headers": _headers(exchange["request_headers"]),
                    "queryString": [],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": len(request_body),
                    **({"postData": {"mimeType": "application/json", "text": request_body}} if request_body else {}),
                },
                "response": {
                    "status": exchange["status"],
                    "statusText": "",
                    "httpVersion": "HTTP/1.1",
                    "headers": _headers(exchange["response_headers"]),
                    "cookies": [],
                    "content": {"size": len(response_body), "mimeType": "application/json", "text": response_body},
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": len(response_body),
                },
                "cache": {},
                "timings": {"send": 0, "wait": round(exchange["seconds"] * 1000, 2), "receive": 0},
                "comment": exchange["system"],
            }
        )
    har = {"log": {"version": "1.2", "creator": {"name": "oir-harness", "version": "0.1.0"}, "entries": entries}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(masked_json(har), encoding="utf-8")
