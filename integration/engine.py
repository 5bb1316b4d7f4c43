"""The engine's front door: one `Engine`, built from one `EngineSettings`.

The engine owns what it runs on — the store (SQLAlchemy; opened from `settings.database_url` unless
one is given), the routes, the clock, the HTTP client and the metrics — and composes its two halves:
feed intake (intake.py: FBS's events into the outbox) and delivery (delivery.py: the outbox out, in
order per claim). One `cycle` is a read of the feed and a delivery of what is due. Reconciliation
(reconcile.py), the claim migration (claim_migration.py) and the callback API (api.py) work through
its methods: a read at FBS or a debtor system, a route, a session or transaction on the store, a
message queued.

Nothing here refuses unsafe settings: `service.build_engine` does, for an engine that serves for real
(integration/settings.py says why). The harness, the benchmarks and the tests build `Engine` directly
around the simulated systems they bring.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from contracts import wire_client
from contracts.limits import CALLBACK_LIMITS, BodyLimits

from .api import create_engine_api
from .claim_migration import MigrationReport, Progress, final_extract, trial_extract
from .clock import Clock, SystemClock
from .delivery import Delivery
from .intake import FeedIntake
from .metrics import EngineMetrics
from .parts import CycleReport, EngineParts
from .paths import DebtorPaths, FbsPaths
from .reconcile import ReconciliationReport
from .reconcile import quarantine_listing as _quarantine_listing
from .reconcile import reconcile as _reconcile
from .routing import Route
from .settings import EngineSettings
from .store import OutboxMessage, open_store
from .translate import MessageSpec


class Engine:
    """The integration engine: its state, its routes, its clock, its HTTP client and its metrics."""

    def __init__(
        self,
        settings: EngineSettings,
        *,
        clock: Clock | None = None,
        store: sessionmaker[Session] | None = None,
        http: httpx.Client | None = None,
        seed: int | None = None,
    ) -> None:
        """`store`: one already open to share (the caller closes it); `http`: a client of the caller's
        (e.g. one whose transport fails on purpose); `seed`: of the retry jitter."""
        if settings.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.settings = settings
        self.routes = settings.routing_table()
        self._owns_store = store is None
        self.store = store if store is not None else open_store(settings.database_url)
        self.clock = clock or SystemClock()
        # One client shared by the delivery threads (httpx.Client is thread-safe), with a connection
        # for every call in flight and one for the reader.
        connections = settings.concurrency + 1
        self.http = http or httpx.Client(
            timeout=30.0,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            verify=wire_client.tls(),
        )
        self.metrics = EngineMetrics()
        self._parts = EngineParts(settings, self.store, self.routes, self.clock, self.http, self.metrics)
        self._intake = FeedIntake(self._parts)
        self._delivery = Delivery(self._parts, self._intake, seed=seed)

    # ---- a whole cycle, and its halves -------------------------------------------------------------
    def cycle(self) -> CycleReport:
        report = CycleReport()
        self.read_feed(report)
        self.deliver_due(report)
        return report

    def read_feed(self, report: CycleReport) -> None:
        self._intake.read_feed(report)

    def deliver_due(self, report: CycleReport) -> None:
        self._delivery.deliver_due(report)

    def release_orphaned_leases(self) -> int:
        return self._delivery.release_orphaned_leases()

    # ---- what the operator runs ----------------------------------------------------------------------
    def reconcile(self, *, route_cvr: str | None = None) -> ReconciliationReport:
        """FBS against the debtor systems (B_02); lost callbacks repaired (queued: the next cycle sends them)."""
        return _reconcile(self, route_cvr=route_cvr)

    def quarantine_listing(self, route_cvr: str | None = None) -> list[dict[str, Any]]:
        """Each quarantined message as a person reads it: which claim, what, and why FBS refused it."""
        return _quarantine_listing(self, route_cvr)

    def migrate(
        self,
        extract: Path,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
        feed_from: str | None = None,
    ) -> MigrationReport:
        """Historic claims: the trial extract (`dry_run`: validate and report, send nothing) or the final
        extract (queue each valid claim once with its history, then deliver until nothing more goes;
        `feed_from`, the extract's cut-off, is where the feed then starts)."""
        if dry_run:
            return trial_extract(extract, self.routes)
        return final_extract(extract, self, progress, feed_from)

    def api(self, *, limits: BodyLimits = CALLBACK_LIMITS) -> FastAPI:
        """The callback API (`oir-fagsystem-v3`), /health and /metrics of this engine."""
        return create_engine_api(self, limits=limits)

    def quarantine(self) -> list[OutboxMessage]:
        """The messages FBS refused, oldest first: each is money or a status FBS does not have yet."""
        return self._delivery.quarantine()

    def replay_quarantined(self, ids: list[int] | None = None) -> int:
        """Put quarantined messages (all, or those ids) back in the queue, due now; returns how many."""
        return self._delivery.replay_quarantined(ids)

    def outbox_counts(self) -> tuple[int, int]:
        """(pending, quarantined) messages, also set as the metrics' gauges."""
        return self._delivery.outbox_counts()

    def queue_depth(self) -> int:
        return self._delivery.queue_depth()

    # ---- what reconciliation, the migration and the callback API use ------------------------------
    def session(self) -> AbstractContextManager[Session]:
        """A session on the store, for reading."""
        return self.store()

    def transaction(self) -> AbstractContextManager[Session]:
        """A session in one transaction, committed when the block ends without an error."""
        return self.store.begin()

    def route_for(self, municipality_cvr: str) -> Route:
        """The configured route of a municipality; RoutingError when it has none."""
        return self.routes.route_for(municipality_cvr)

    def callback_tokens(self) -> set[str | None]:
        """What the debtor systems of the routes present on callbacks (None: a route that accepts none)."""
        return {route.callback_token for route in self.routes.routes.values()}

    def headers_for(self, token: str, cvr: str | None) -> dict[str, str]:
        """Headers of a read (B_02, FBS look-ups): a fresh transaction id each time."""
        return self._parts.headers(token, cvr)

    def read_debtor_account(self, cvr: str, account_id: str) -> httpx.Response:
        """HentDebitorkonto (B_02) at the municipality's debtor system; RoutingError when it has none,
        what httpx raises when nothing answers."""
        route = self.route_for(cvr)
        url = f"{route.debtor_url}{DebtorPaths.account(account_id)}"
        return self.http.get(url, headers=self.headers_for(route.token, cvr), timeout=route.timeout_s)

    def read_fbs_claim(self, cvr: str, claim_id: str) -> httpx.Response:
        """A claim and its postings at FBS; what httpx raises when nothing answers."""
        url = f"{self.settings.fbs_url}{FbsPaths.claim(claim_id)}"
        return self.http.get(url, headers=self.headers_for(self.settings.engine_token, cvr))

    def queue(self, session: Session, spec: MessageSpec, cvr: str, claim_id: str, source: str | None) -> None:
        """Queue a message inside the caller's transaction."""
        self._intake.queue(session, spec, cvr, claim_id, source)

    # Which account and sub-claims a claim has at the debtor, to read its callbacks later.
    remember_registration = staticmethod(FeedIntake.remember_registration)
    known_claim = staticmethod(FeedIntake.known_claim)

    def mark_events_read(self, session: Session, event_ids: list[str], claim_id: str) -> None:
        """Feed events a go-live extract already carried: taken in, never sent again."""
        self._intake.mark_events_read(session, event_ids, claim_id)

    def start_feed_at(self, cursor: str) -> str:
        """Start the feed at a go-live extract's cut-off (unless it was read already); where it reads from."""
        return self._intake.start_feed_at(cursor)

    def close(self) -> None:
        """Stop the delivery threads (idle between batches), close the HTTP client and, when the engine
        opened it, the store's connections."""
        self._delivery.close()
        self.http.close()
        if self._owns_store:
            self.store.kw["bind"].dispose()
