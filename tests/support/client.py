"""A thin HTTP client for one simulator session: header block, bearer token, control plane."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from simulators.kernel import DEV_TOKEN

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], *, timeout: float = 10.0, what: str = "condition") -> T:
    """Poll until `predicate()` is truthy; fail with a message at the deadline. Never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


class SimClient:
    def __init__(
        self, base_url: str, session: str | None = None, *, token: str = DEV_TOKEN, cvr: str = "64942212"
    ) -> None:
        self.session = session or f"t-{uuid.uuid4().hex[:12]}"
        self.cvr = cvr
        self.http = httpx.Client(
            base_url=base_url, timeout=20.0, headers={"Authorization": f"Bearer {token}", "X-Sim-Session": self.session}
        )

    def headers(self, cvr: str | None = None, transaction_id: str | None = None) -> dict[str, str]:
        now = self.now()
        return {
            "X-Transaktion-Id": transaction_id or str(uuid.uuid4()),
            "X-Transaktion-Tid": now,
            "X-Kommune-Cvr": cvr or self.cvr,
        }

    def post(
        self,
        path: str,
        body: Any,
        *,
        cvr: str | None = None,
        transaction_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return self.http.post(path, json=body, headers={**self.headers(cvr, transaction_id), **(headers or {})})

    def get(self, path: str, *, cvr: str | None = None, params: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.get(path, headers=self.headers(cvr), params=params)

    # ---- control plane ---------------------------------------------------------------------------
    def now(self) -> str:
        return self.http.get("/_sim/clock").raise_for_status().json()["now"]

    def advance(self, **delta: int) -> dict[str, Any]:
        return self.http.post("/_sim/clock/advance", json=delta).raise_for_status().json()

    def set_clock(self, instant: str) -> dict[str, Any]:
        return self.http.put("/_sim/clock", json={"now": instant}).raise_for_status().json()

    def settings(self, **changes: Any) -> dict[str, Any]:
        return self.http.patch("/_sim/settings", json=changes).raise_for_status().json()["settings"]

    def fault(self, **rule: Any) -> dict[str, Any]:
        return self.http.post("/_sim/faults", json=rule).raise_for_status().json()

    def journal(self, operation: str | None = None, direction: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"operation": operation, "direction": direction}.items() if v}
        return self.http.get("/_sim/journal", params=params).raise_for_status().json()["entries"]

    def state(self) -> dict[str, Any]:
        return self.http.get("/_sim/state").raise_for_status().json()

    def close(self) -> None:
        self.http.close()


def post_fee_claims(fbs: SimClient, people: Any, cvr: str, count: int) -> None:
    """`count` new borrowers at FBS, each with one 50 kr fee (GEBYR), at the municipality `cvr`;
    `people` is a `contracts.synthetic.SyntheticData` (synthetic CPRs only)."""
    for _ in range(count):
        person = people.person()
        borrower = fbs.post("/laanere", {"cpr": person.cpr, "navn": person.name}, cvr=cvr).json()
        fbs.post(
            "/fordringer",
            {"laanerId": borrower["laanerId"], "type": "GEBYR", "beloebOere": 5000, "tekst": "Gebyr"},
            cvr=cvr,
        )
