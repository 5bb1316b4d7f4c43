"""What an engine is built from: one `EngineSettings`, whoever builds it.

The settings say where the engine keeps its state (`database_url`), whom it talks to (FBS, each
vendor's debtor system) with which credentials, whom it trusts on callbacks, and how it delivers
(concurrency, leases, backoff). `Engine(settings)` builds the routes, the store, the HTTP client and the
metrics from them (integration/engine.py).

They trust nobody by default. `problems()` says why settings must not start an engine that serves for
real: without the engine's own token and a callback token for every vendor it serves, or with the
public development token — unless `dev` is set. `service.build_engine`, what the engine commands use,
refuses such settings (`EngineSetupError`); a development engine then says so: a WARNING log line at
start, and `development`/`warnings` in /health. Worlds the harness builds around simulators (scenarios,
contract checks, benchmarks, tests) construct `Engine` directly and bring their own counterparts.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from .errors import EngineError
from .logs import log_event
from .routing import DEV_TOKEN, RoutingTable


class EngineSetupError(EngineError, ValueError):
    """The engine's configuration would trust (or present) credentials it must not; nothing started."""


def this_process() -> str:
    """A worker's default name, `<host>-<pid>` (how orphaned leases of a dead process are recognised)."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class EngineSettings:
    """Everything an engine is built from (the engine commands make it from their options)."""

    fbs_url: str
    debtor_urls: dict[str, str] = field(default_factory=dict)  # by vendor profile
    database_url: str = "sqlite:///oir-engine.sqlite"  # a SQLAlchemy URL (SQLite file or PostgreSQL)
    token: str | None = None  # the engine's credential at FBS and every debtor system (None: the dev token)
    tokens: dict[str, str] = field(default_factory=dict)  # a vendor's own credential for the engine, if other
    callback_tokens: dict[str, str] = field(default_factory=dict)  # what each vendor presents on callbacks
    route_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # route settings by municipality code
    extra_headers: dict[str, str] = field(default_factory=dict)  # e.g. X-Sim-Session against simulators
    worker: str = field(default_factory=this_process)  # this worker's name among several on one database
    page_size: int = 500  # feed events read at once
    feed_from: str | None = None  # a fresh engine's first feed cursor: a go-live extract's cut-off
    backoff_base_s: float = 2.0
    backoff_max_s: float = 600.0
    lease_s: float = 30.0
    lease_batch: int = 200  # messages leased at once (at most one per claim)
    concurrency: int = 8  # deliveries of a leased batch in flight at once; 1 sends one at a time
    dev: bool = False  # a local, simulated world: missing tokens become the public development token

    @property
    def engine_token(self) -> str:
        """What the engine presents at FBS and (unless `tokens` says otherwise) at every debtor system."""
        return self.token or DEV_TOKEN

    def problems(self) -> list[str]:
        """Why these settings must not start an engine outside development (empty: they may)."""
        if self.dev:
            return []
        found = []
        if not self.token:
            found.append("no token for the engine's calls to FBS and the debtor systems (--token)")
        elif self.token == DEV_TOKEN:
            found.append(f"the engine's token is the public development token {DEV_TOKEN!r}")
        missing = sorted(p for p in self.debtor_urls if not self.callback_tokens.get(p))
        if missing:
            found.append(f"no callback token for {', '.join(missing)} (--callback-token PROFILE=TOKEN)")
        public = sorted(p for p, t in self.callback_tokens.items() if t == DEV_TOKEN)
        if public:
            found.append(f"the callback token of {', '.join(public)} is the public development token {DEV_TOKEN!r}")
        return found

    def warnings(self) -> list[str]:
        """What a development engine trusts or presents that a production one never would."""
        if not self.dev:
            return []
        found = ["development mode: never expose this engine beyond a local, simulated world"]
        if not self.token or self.token == DEV_TOKEN:
            found.append(f"the engine presents the public development token {DEV_TOKEN!r} to FBS and debtor systems")
        return found

    def routing_table(self) -> RoutingTable:
        """One route per municipality; a development table carries (and logs) its warnings."""
        routes = RoutingTable.from_vendor_urls(
            self.debtor_urls,
            token=self.engine_token,
            tokens=self.tokens or None,
            callback_tokens=self.callback_tokens or None,
            overrides=self.route_overrides or None,
            dev=self.dev,
        )
        if self.dev:
            routes.warnings[:0] = self.warnings()
            log_event("development-mode", level=logging.WARNING, warnings=routes.warnings)
        return routes
