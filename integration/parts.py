"""What the engine's two halves share: what the `Engine` owns, the header block of its calls, and the
report of one cycle.

The `Engine` (integration/engine.py) owns the store, the routes, the clock, the HTTP client and the
metrics; feed intake (intake.py) and delivery (delivery.py) borrow them through `EngineParts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session, sessionmaker

from contracts import wire_client

from .clock import Clock
from .metrics import EngineMetrics
from .routing import RoutingTable
from .settings import EngineSettings


@dataclass
class CycleReport:
    """What one cycle did: events read, and the outcomes of the deliveries."""

    events_read: int = 0
    delivered: int = 0
    rejected: int = 0
    retrying: int = 0
    held: int = 0  # held back by an open circuit or a rate limit
    quarantined: int = 0  # refused by FBS: kept for a replay (`oir engine quarantine`)


@dataclass(frozen=True)
class EngineParts:
    """What the engine owns, lent to its halves."""

    settings: EngineSettings
    store: sessionmaker[Session]
    routes: RoutingTable
    clock: Clock
    http: httpx.Client
    metrics: EngineMetrics

    def headers(self, token: str, cvr: str | None, transaction_id: str | None = None) -> dict[str, str]:
        """The credentials and header block of one call on the engine's clock (a fresh transaction id
        unless given), with the configured extra headers."""
        return wire_client.headers(
            token,
            transaction_id=transaction_id,
            at=self.clock.now(),
            cvr=cvr,
            extra=self.settings.extra_headers,
        )
