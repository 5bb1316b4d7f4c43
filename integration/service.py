"""Running the engine as a service: one cycle on request, or continuously beside its HTTP API.

`oir engine serve` reads FBS's feed and delivers the outbox every `interval` seconds and serves the
callback API; `oir engine cycle` does one cycle and exits (scenarios on virtual time step it). Each
cycle logs one structured JSON line (`integration.logs`, beside the delivery outcomes the engine
logs); any text logged passes through CPR masking.

`build_engine` is how the engine commands build their engine from the settings their options make.
It trusts nobody by default: it refuses (`EngineSetupError`) settings without the engine's own token
and a callback token for every vendor served, and the public development token, unless `dev` is set;
a development engine then says so — a WARNING log line at start, and `development`/`warnings` in
/health (`EngineSettings.problems`, `warnings`).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from .clock import Clock
from .engine import Engine
from .logs import log_event
from .parts import CycleReport
from .settings import EngineSettings, EngineSetupError


def build_engine(settings: EngineSettings, clock: Clock | None = None) -> Engine:
    """The engine of these settings, or EngineSetupError naming every reason it must not start."""
    problems = settings.problems()
    if problems:
        raise EngineSetupError(
            "refusing to start the engine: " + "; ".join(problems) + " (for a local, simulated world: --dev)"
        )
    return Engine(settings, clock=clock)


def log_cycle(report: CycleReport) -> None:
    log_event("cycle", **report.__dict__)


def serve_forever(
    engine: Engine, *, interval: float, api: Any | None = None, stop: threading.Event | None = None
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
