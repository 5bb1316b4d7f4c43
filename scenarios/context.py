"""The state of one scenario run that actions share: HTTP clients, captures, the virtual clock.

Every request carries the simulator session, the bearer token and the ØiR header block (transaction
id, virtual time, municipality CVR). Every exchange is published, its credentials redacted
(`redaction.redact_exchange`), as an `HttpExchange` event, which the HAR reporter turns into evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from contracts import wire_client
from contracts.municipalities import Municipality, by_code, by_cvr, for_vendor, load_municipalities
from contracts.profile import PROFILE_NAMES
from contracts.synthetic import SyntheticData

from .errors import ScenarioRunError, ScenariosError
from .events import EventBus, HttpExchange
from .redaction import redact_exchange
from .world import ScenarioWorld


class StepFailure(ScenariosError, AssertionError):
    """A step did not do what the scenario says; carries what was seen."""

    def __init__(self, message: str, observed: Any = None) -> None:
        super().__init__(message)
        self.observed = observed


@dataclass
class Response:
    status: int
    body: Any
    method: str
    url: str


@dataclass
class RunContext:
    world: ScenarioWorld
    profile: str
    seed: int
    bus: EventBus
    scenario_id: str
    captures: dict[str, Any] = field(default_factory=dict)
    borrowers: dict[str, dict[str, Any]] = field(default_factory=dict)  # by laanerId
    used_profiles: set[str] = field(default_factory=set)
    now: datetime | None = None
    _http: httpx.Client | None = None

    def __post_init__(self) -> None:
        self.people = SyntheticData(seed=self.seed ^ self.world.data_salt)
        self.used_profiles.add(self.profile)

    # ---- HTTP ------------------------------------------------------------------------------------
    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=self.world.endpoints.timeout_s, verify=wire_client.tls())
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def base_url(self, system: str) -> str:
        endpoints = self.world.endpoints
        if system in ("fbs", "psrm", "payment"):
            return str(getattr(endpoints, system))
        if system in endpoints.debtors:
            return endpoints.debtors[system]
        raise ScenarioRunError(f"no system {system!r} in this world")

    def call(
        self,
        system: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        cvr: str | None = None,
        params: dict[str, Any] | None = None,
        token: str | None = None,
        transaction_id: str | None = None,
        base_url: str | None = None,
    ) -> Response:
        url = (base_url or self.base_url(system)) + path
        headers = wire_client.headers(
            token or self.world.endpoints.token_for(system),
            session=self.world.endpoints.sessions.get(system, self.world.session),
            transaction_id=transaction_id,
            at=self.now,
            cvr=cvr,
        )
        try:
            sent = wire_client.exchange(self.http, method, url, body=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise ScenarioRunError(f"{system} did not answer {method} {path}: {type(exc).__name__}: {exc}") from exc
        recorded = sent.record(system, self.now.isoformat() if self.now else "")
        # evidence: no token, in a header, a body or the URL
        self.bus.emit(HttpExchange(scenario=self.scenario_id, profile=self.profile, **redact_exchange(recorded)))
        return Response(sent.status, sent.body, method, url)

    def control(self, system: str, method: str, path: str, body: Any = None) -> Any:
        """A call on a simulator's `/_sim/` control plane (no header block needed)."""
        response = self.call(system, method, wire_client.control_path(path), body=body)
        if response.status >= 300:
            raise ScenarioRunError(
                f"{system} control plane refused {method} {wire_client.control_path(path)}: {response.body}"
            )
        return response.body

    def test_control(self, system: str, method: str, path: str, **kwargs: Any) -> Any:
        """A call on a vendor's test control (`oir-testkontrol-v1`, below `/testkontrol`); a refusal fails
        the run, with the system's problem as the reason."""
        response = self.call(system, method, wire_client.TEST_CONTROL + path, **kwargs)
        if response.status >= 300:
            raise ScenarioRunError(
                f"{system}'s test control refused {method} {wire_client.TEST_CONTROL}{path}: "
                f"{response.status} {response.body}"
            )
        return response.body

    def virtual_now(self) -> datetime:
        if self.now is None:
            raise ScenarioRunError("the world's clock was not read")
        return self.now

    # ---- the world's people and places -----------------------------------------------------------
    def municipality(self, choice: str | None) -> Municipality:
        """`first`/None, `second`, `other-vendor`, a municipality code or name."""
        own = for_vendor(self.profile)
        if choice in (None, "first"):
            return own[0]
        if choice == "second":
            return own[1] if len(own) > 1 else own[0]
        if choice == "other-vendor":
            other = next(p for p in PROFILE_NAMES if p != self.profile)
            return for_vendor(other)[0]
        found = by_code(str(choice)) or by_cvr(str(choice))
        if found is None:
            found = next((m for m in load_municipalities() if m.name.lower() == str(choice).lower()), None)
        if found is None:
            raise ScenarioRunError(f"no municipality {choice!r} (give a code, a CVR, a name, first, second)")
        return found

    def borrower_of(self, claim: dict[str, Any]) -> dict[str, Any]:
        borrower = self.borrowers.get(str(claim.get("laanerId")))
        if borrower is None:
            raise ScenarioRunError(f"claim {claim.get('fordringId')} has no borrower this scenario created")
        return borrower

    def debtor_for(self, cvr: str) -> str:
        municipality = by_cvr(cvr)
        if municipality is None:
            raise ScenarioRunError(f"no municipality has CVR {cvr}")
        self.used_profiles.add(municipality.vendor)
        return municipality.vendor
