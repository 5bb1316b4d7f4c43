"""Prometheus metrics of one engine: per-route outcomes, latency and retries, the queue depth and
the quarantine.

Each engine has its own registry (several engines in one test process do not collide); the API
serves it at /metrics in the Prometheus text format.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase


class EngineMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}
        self.deliveries = Counter(
            "oir_engine_deliveries",
            "Messages answered, by route, target and outcome",
            ["route", "target", "outcome"],
            registry=self.registry,
        )
        self.retries = Counter(
            "oir_engine_retries",
            "Deliveries left pending for a retry, by route",
            ["route", "target"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "oir_engine_delivery_seconds",
            "Time a delivery took, by route and target",
            ["route", "target"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.events = Counter("oir_engine_feed_events", "FBS events taken in", registry=self.registry)
        self.callbacks = Counter(
            "oir_engine_callbacks", "Callbacks taken in, by outcome", ["outcome"], registry=self.registry
        )
        self.queue_depth = Gauge("oir_engine_queue_depth", "Messages pending in the outbox", registry=self.registry)
        self.quarantined = Gauge(
            "oir_engine_quarantined",
            "Messages FBS refused, kept in quarantine until replayed (each one is money or a status FBS lacks)",
            registry=self.registry,
        )

    def observe_latency(self, route: str, target: str, seconds: float) -> None:
        self._child(self.latency, route, target).observe(seconds)

    def count_delivery(self, route: str, target: str, outcome: str) -> None:
        self._child(self.deliveries, route, target, outcome).inc()

    def count_retry(self, route: str, target: str) -> None:
        self._child(self.retries, route, target).inc()

    def _child(self, metric: MetricWrapperBase, *values: str) -> Any:
        """`metric.labels(*values)`, remembered: every message asks for one of the same few children, and
        `labels` checks, converts and locks each time (a few per cent of the delivery loop's time)."""
        key = (metric, values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child
