"""Per-route protection: a circuit breaker and a token-bucket rate limit, on the injected clock.

A debtor system that keeps failing is left alone for a cool-down instead of being hammered (the
messages wait, nothing is lost); a route never gets more requests per second than agreed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    cooldown: timedelta = timedelta(seconds=60)
    failures: int = 0
    opened_at: datetime | None = None

    def retry_at(self, now: datetime) -> datetime | None:
        """None when a call may go out now (closed, or half-open after the cool-down)."""
        if self.opened_at is None or now >= self.opened_at + self.cooldown:
            return None
        return self.opened_at + self.cooldown

    def succeeded(self) -> None:
        self.failures, self.opened_at = 0, None

    def failed(self, now: datetime) -> None:
        self.failures += 1
        if self.failures >= self.failure_threshold:
            self.opened_at = now  # (re)open: a failed half-open trial starts a new cool-down

    @property
    def open(self) -> bool:
        return self.opened_at is not None


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: int
    tokens: float = field(default=-1.0)
    updated: datetime | None = None

    def wait_until(self, now: datetime) -> datetime | None:
        """Take a token: None when one was available, else when the next one will be."""
        if self.tokens < 0:
            self.tokens = float(self.burst)
        if self.updated is not None:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated).total_seconds() * self.rate_per_s)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return now + timedelta(seconds=(1.0 - self.tokens) / self.rate_per_s)
