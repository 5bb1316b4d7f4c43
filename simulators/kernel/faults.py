"""Fault rules: make a simulator misbehave on purpose, by operation, count and probability.

Engines must survive 503 bursts, slow answers, dropped connections, timeouts and callbacks that are
lost or delivered twice. A rule names an operation (its operationId, `callback.<name>` for outgoing
callbacks, or `*`), a kind, how many times it fires and with what probability. Randomness is seeded
per session so a run can be reproduced.
"""

from __future__ import annotations

import random
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.wire import WHOLE


class FaultKind(StrEnum):
    LATENCY = "latency"  # answer, but only after latency_ms of real time
    ERROR = "error"  # answer `status` with a problem body instead of handling the request
    DROP = "drop"  # start the answer, then close the connection
    TIMEOUT = "timeout"  # hold the request for latency_ms, then close without answering
    DROP_CALLBACK = "drop_callback"  # an outgoing callback is never sent
    DUPLICATE_CALLBACK = "duplicate_callback"  # an outgoing callback is sent twice
    FAIL_CALLBACK = "fail_callback"  # an outgoing callback attempt fails; it is retried on the backoff


class FaultRuleIn(BaseModel):
    """A fault rule as a client submits it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    operation: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.*:-]+$")] = "*"
    kind: Annotated[FaultKind, Field(strict=False)]  # lax: the JSON value selects the member
    count: Annotated[int, Field(ge=1, le=1_000_000), WHOLE] | None = Field(
        default=None, description="How many times the rule fires; absent means every time"
    )
    probability: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    status: Annotated[int, Field(ge=400, le=599), WHOLE] = 503
    latency_ms: Annotated[int, Field(ge=0, le=60_000), WHOLE] = 0


class FaultRule(FaultRuleIn):
    """A stored rule with its id and how often it has fired."""

    model_config = ConfigDict(extra="forbid")

    id: int
    fired: int = 0


class FaultBook:
    """The fault rules of one session."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._random = random.Random(seed)

    def add(self, rule: FaultRuleIn) -> FaultRule:
        stored = FaultRule(id=self._next_id, **rule.model_dump())
        self._next_id += 1
        self._rules.append(stored)
        return stored

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def clear(self) -> None:
        self._rules.clear()

    def reseed(self, seed: int) -> None:
        self._random = random.Random(seed)

    def take(self, operation: str, kinds: frozenset[FaultKind] | None = None) -> FaultRule | None:
        """The rule that fires for this call of `operation`, if any; counts it as fired."""
        for rule in self._rules:
            if rule.operation not in ("*", operation):
                continue
            if kinds is not None and rule.kind not in kinds:
                continue
            if rule.count is not None and rule.fired >= rule.count:
                continue
            if rule.probability < 1.0 and self._random.random() >= rule.probability:
                continue
            rule.fired += 1
            return rule
        return None


REQUEST_FAULTS = frozenset({FaultKind.LATENCY, FaultKind.ERROR, FaultKind.DROP, FaultKind.TIMEOUT})
CALLBACK_FAULTS = frozenset({FaultKind.DROP_CALLBACK, FaultKind.DUPLICATE_CALLBACK, FaultKind.FAIL_CALLBACK})
