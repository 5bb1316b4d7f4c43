"""The circuit breaker and the token bucket on a given clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from integration.resilience import CircuitBreaker, TokenBucket

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_the_breaker_opens_after_the_threshold_and_half_opens_after_the_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown=timedelta(seconds=60))
    for _ in range(2):
        breaker.failed(T0)
    assert breaker.retry_at(T0) is None and not breaker.open
    breaker.failed(T0)
    assert breaker.retry_at(T0 + timedelta(seconds=59)) == T0 + timedelta(seconds=60)
    assert breaker.retry_at(T0 + timedelta(seconds=60)) is None  # half-open: one trial
    breaker.failed(T0 + timedelta(seconds=60))  # the trial failed
    assert breaker.retry_at(T0 + timedelta(seconds=61)) == T0 + timedelta(seconds=120)
    breaker.succeeded()
    assert breaker.retry_at(T0 + timedelta(seconds=61)) is None and breaker.failures == 0


def test_the_bucket_gives_its_burst_then_its_rate() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=2)
    assert [bucket.wait_until(T0) for _ in range(2)] == [None, None]
    assert bucket.wait_until(T0) == T0 + timedelta(seconds=0.5)
    assert bucket.wait_until(T0 + timedelta(seconds=0.5)) is None
    assert bucket.wait_until(T0 + timedelta(seconds=10)) is None  # never more than the burst
    assert bucket.wait_until(T0 + timedelta(seconds=10)) is None
    assert bucket.wait_until(T0 + timedelta(seconds=10)) is not None
