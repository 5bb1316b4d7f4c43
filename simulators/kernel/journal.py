"""The request journal: what each simulator received and answered, for exactly-once assertions.

Tests and certification prove "registered exactly once" and "posted exactly once" from here. The
journal keeps bodies as received; every export masks CPR numbers, because the journal is evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.identity import mask_cpr_in_text


@dataclass
class JournalEntry:
    seq: int
    at: datetime  # virtual time of the session when the exchange happened
    direction: str  # "in" for requests received, "out" for calls the simulator made
    method: str
    path: str
    operation: str | None
    status: int | None
    transaction_id: str | None
    # a body as JSON data, or as the raw bytes exchanged (the kernel's middleware keeps those: most entries
    # are never read, so parsing waits for `export`)
    request_body: Any = None
    response_body: Any = None
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def export(self) -> dict[str, Any]:
        raw = {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "direction": self.direction,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "status": self.status,
            "transactionId": self.transaction_id,
            "requestBody": _parsed(self.request_body),
            "responseBody": _parsed(self.response_body),
            "note": self.note,
        }
        return json.loads(mask_cpr_in_text(json.dumps(raw, ensure_ascii=False, default=str)))


class Journal:
    """Append-only record of one session's exchanges."""

    def __init__(self, limit: int = 200_000) -> None:
        self._entries: list[JournalEntry] = []
        self._seq = 0
        self._limit = limit

    def record(self, **fields: Any) -> JournalEntry:
        self._seq += 1
        entry = JournalEntry(seq=self._seq, **fields)
        self._entries.append(entry)
        if len(self._entries) > self._limit:
            del self._entries[: len(self._entries) - self._limit]
        return entry

    def entries(
        self, *, operation: str | None = None, direction: str | None = None, since: int = 0
    ) -> list[JournalEntry]:
        return [
            e
            for e in self._entries
            if e.seq > since
            and (operation is None or e.operation == operation)
            and (direction is None or e.direction == direction)
        ]

    def clear(self) -> None:
        self._entries.clear()


def _parsed(body: Any) -> Any:
    return parse_body(body) if isinstance(body, bytes) else body


def parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {"_raw": raw[:2000].decode("utf-8", errors="replace")}
