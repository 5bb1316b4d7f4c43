"""Running the engine: one cycle on request, or continuously beside its HTTP API.

`oir engine serve` reads FBS's feed and delivers the outbox every `interval` seconds and serves the
callback API; `oir engine cycle` does one cycle and exits (scenarios on virtual time step it). Each
cycle logs one structured JSON line (`integration.logs`, beside the delivery outcomes the engine
logs); any text logged passes through CPR masking.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, SystemClock
from .logs import log_event
from .routing import RoutingTable
from .store import open_store
from .sync import CycleReport, EngineConfig, SyncEngine


@dataclass
class EngineSetup:
    database_url: str
    fbs_url: str
    debtor_urls: dict[str, str]
    callback_tokens: dict[str, str] = field(default_factory=dict)
    extra_headers: dict[str, str] = field(default_factory=dict)
    token: str = "oir-dev-token"
    worker: str | None = None
    concurrency: int | None = None  # deliveries in flight at once (None: EngineConfig's default)

    def build(self, clock: Clock | None = None) -> SyncEngine:
        routes = RoutingTable.from_vendor_urls(
            self.debtor_urls, token=self.token, callback_tokens=self.callback_tokens or None
        )
        config = EngineConfig(fbs_url=self.fbs_url, fbs_token=self.token, extra_headers=self.extra_headers)
        if self.worker:
            config.worker = self.worker
        if self.concurrency is not None:
            config.concurrency = self.concurrency
        return SyncEngine(open_store(self.database_url), routes, config, clock or SystemClock())


def log_cycle(report: CycleReport) -> None:
    log_event("cycle", **report.__dict__)


def serve_forever(
    engine: SyncEngine, *, interval: float, api: Any | None = None, stop: threading.Event | None = None
) -> None:
    """Cycle until SIGTERM/SIGINT (or `stop`); a failed cycle is logged and retried next interval."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    if api is not None:
        api.start()
        log_event("listening", url=api.url)
    try:
        while not stop.is_set():
            try:
                log_cycle(engine.cycle())
            except Exception as error:
                log_event("cycle-failed", level=logging.WARNING, error=repr(error)[:500])
            stop.wait(interval)
    finally:
        if api is not None:
            api.stop()
        engine.close()
