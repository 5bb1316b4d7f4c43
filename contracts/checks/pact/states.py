"""Provider states, reached only through the provider's public API (an account the interaction needs is
registered with OpretDebitorkonto first), so a vendor needs no test-only hooks.

The one exception is time: a state that needs a day to pass (B_03 shows new claims the day after, PSRM
builds receipts later) moves the simulator's clock where the provider offers the simulator control
plane, or the business date of a real system that offers test control (`oir-testkontrol-v1`); against
a real system without it that cannot be done, and the interaction is reported as NOT RUN.
State handlers are total: an unknown state or a failing set-up call is a no-op that is recorded,
never an exception (a failing handler stalls the Rust verifier for about two minutes).

The handlers answer on a small local HTTP server (the verifier's URL form, a few ms per state), and
return the values the pacts inject into requests (`${fordringId}`): the ids the provider assigned, or,
for a debtor system, fresh ids and CPRs made for the interaction — a vendor's real system keeps what
every earlier certification registered, so each verification works on identities nobody used before.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import httpx

from ... import wire_client

StateHandler = Callable[[str, dict[str, Any]], dict[str, Any] | None]


@dataclass
class ProviderContext:
    """Where and as whom the state handlers reach the provider: the same as the verifier."""

    base_url: str
    token: str
    municipality_cvr: str | None = None
    session: str | None = None
    errors: list[str] = field(default_factory=list)
    unreached: set[str] = field(default_factory=set)  # states that needed a clock the provider does not offer
    timeout: float = 15.0  # seconds to wait for the provider's answer (certification: what its profile allows)
    # lets days pass where the provider is no simulator but offers test control (oir-testkontrol-v1):
    # the caller moves its business date (and the systems that must follow it); False if it could not
    advance: Callable[[int], bool] | None = None

    def headers(self, cvr: str | None = None) -> dict[str, str]:
        return wire_client.headers(
            self.token, session=self.session, at=wire_client.FIXED_SENT_AT, cvr=self.municipality_cvr or cvr
        )

    def post(self, path: str, body: Any, *, cvr: str | None = None) -> httpx.Response:
        return httpx.post(
            self.base_url.rstrip("/") + path,
            json=body,
            headers=self.headers(cvr),
            timeout=self.timeout,
            verify=wire_client.tls(),
        )

    def advance_simulated_clock(self, days: int) -> bool:
        """Let a day pass on a simulator (its control plane), or through a real system's test control where
        the caller gave `advance`; a real system without test control has no clock to move: False."""
        if self.advance is not None:
            return self.advance(days)
        try:
            response = wire_client.control(
                self.base_url,
                "POST",
                "/clock/advance",
                token=self.token,
                session=self.session,
                body={"days": days},
                timeout=max(60.0, self.timeout),
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200


def _fbs_states(ctx: ProviderContext, state: str, params: dict[str, Any]) -> dict[str, Any] | None:
    if state != "a claim was created in FBS":
        return None
    claim = create_fbs_claim(ctx, params)
    return {"fordringId": claim["fordringId"], "laanerId": claim["laanerId"]}


def create_fbs_claim(ctx: ProviderContext, params: dict[str, Any]) -> dict[str, Any]:
    """A borrower and a claim created through FBS's public API (`ctx` points at FBS); FBS's answer.

    `params` are a provider state's: `kommuneCvr`, `cpr`, optionally `navn`, `type`, `beloebOere`,
    `tekst`, `forfaldsdato`. Raises on a refusal (the state server records it)."""
    cvr = str(params.get("kommuneCvr", ""))
    borrower = ctx.post("/laanere", {"cpr": params["cpr"], "navn": params.get("navn", "Test Borger")}, cvr=cvr)
    borrower.raise_for_status()
    claim = ctx.post(
        "/fordringer",
        {
            "laanerId": borrower.json()["laanerId"],
            "type": params.get("type", "GEBYR"),
            "beloebOere": int(params.get("beloebOere", 12000)),
            "tekst": params.get("tekst", "Gebyr for sen aflevering"),
            "forfaldsdato": params.get("forfaldsdato", "2026-01-05"),
        },
        cvr=cvr,
    )
    claim.raise_for_status()
    return dict(claim.json())


DEBTOR_ACCOUNT_STATES = ("a debtor account with a claim exists", "a citizen has a payable sub-claim")
NEW_BORROWER_STATE = "a new borrower"
_IDENT_MAX = 64  # the longest id `contracts.wire.ID_PATTERN` allows


def _fresh_id(base: str, suffix: str) -> str:
    """`base` with `suffix` appended, kept within the Ident pattern's 64 characters."""
    return f"{base[: _IDENT_MAX - len(suffix) - 1]}-{suffix}"


def _fresh_cpr() -> str:
    """A valid synthetic CPR, seeded at random: a stateful provider never saw it before."""
    from contracts.synthetic import SyntheticData  # Faker loads only when a debtor state needs it

    return SyntheticData(uuid.uuid4().int).cpr()


def _fresh_identities(params: dict[str, Any]) -> dict[str, Any]:
    """Fresh ids and CPRs for one interaction, from the state's example ids plus a random suffix.

    A real debtor system keeps everything earlier certifications registered; the pacts inject these
    values (`${debitorkontoId}`, `${fordringId}`, `${delfordringId}`, `${cpr}`, `${nyCpr}`,
    `${betalingId}`) so every verification works on identities nobody used before."""
    suffix = uuid.uuid4().hex[:10]
    claim_id = _fresh_id(str(params.get("fordringId", "FORDRING")), suffix)
    values: dict[str, Any] = {
        "debitorkontoId": _fresh_id(str(params.get("debitorkontoId", "KONTO")), suffix),
        "fordringId": claim_id,
        "delfordringId": _fresh_id(str(params.get("delfordringId", claim_id)), suffix),
        "cpr": _fresh_cpr(),
    }
    if "nyCpr" in params:
        values["nyCpr"] = _fresh_cpr()
    if "betalingId" in params:
        values["betalingId"] = _fresh_id(str(params["betalingId"]), suffix)
    return values


def _registration(params: dict[str, Any]) -> dict[str, Any]:
    claim_id = str(params["fordringId"])
    return {
        "debitorkontoId": params["debitorkontoId"],
        "haeftelse": {"cpr": params["cpr"], "navn": params.get("navn", "Test Borger")},
        "fordringer": [
            {
                "fordringId": claim_id,
                "produktkode": params.get("produktkode", "BIB-GEBYR"),
                "tekst": params.get("tekst", "Gebyr for sen aflevering"),
                "stiftelsesdato": params.get("stiftelsesdato", "2026-01-05"),
                "forfaldsdato": params.get("forfaldsdato", "2026-01-05"),
                "anerkendt": False,
                "delfordringer": [
                    {
                        "delfordringId": params.get("delfordringId", f"{claim_id}-1"),
                        "beloebOere": int(params.get("beloebOere", 12000)),
                        "tekst": params.get("tekst", "Gebyr for sen aflevering"),
                    }
                ],
            }
        ],
    }


def _debtor_states(ctx: ProviderContext, state: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """Fresh identities per interaction (see `_fresh_identities`); an account state registers them."""
    if state == NEW_BORROWER_STATE:
        return _fresh_identities(params)  # the interaction itself registers the borrower
    if state not in DEBTOR_ACCOUNT_STATES:
        return None
    values = _fresh_identities(params)
    response = ctx.post("/debitorkonti", _registration({**params, **values}), cvr=params.get("kommuneCvr"))
    if response.status_code not in (200, 201):
        raise RuntimeError(f"OpretDebitorkonto answered {response.status_code}: {response.text[:300]}")
    if state == "a citizen has a payable sub-claim" and not ctx.advance_simulated_clock(1):
        ctx.unreached.add(state)  # B_03: a new claim shows the day after (B03-NEXT-DAY); real time cannot wait
    if "virkningsdato" in params:  # a liability change takes effect from the day the provider's liability began
        account = httpx.get(
            f"{ctx.base_url.rstrip('/')}/debitorkonti/{values['debitorkontoId']}",
            headers=ctx.headers(params.get("kommuneCvr")),
            timeout=15.0,
            verify=wire_client.tls(),
        )
        account.raise_for_status()
        values["virkningsdato"] = account.json()["haeftelse"]["fra"]
    return values


def _psrm_states(ctx: ProviderContext, state: str, params: dict[str, Any]) -> dict[str, Any] | None:
    if state not in ("a delivery was just submitted", "a delivery's receipt is finished"):
        return None
    action = {**params["aktion"], "mfAktionId": f"MFA-{uuid.uuid4()}"}
    response = ctx.post("/fordringsindberetninger", {"aktioner": [action]}, cvr=params.get("kommuneCvr"))
    response.raise_for_status()
    if state == "a delivery's receipt is finished" and not ctx.advance_simulated_clock(1):
        ctx.unreached.add(state)  # PSRM builds receipts minutes to hours later
    return {"leveranceId": response.json()["leveranceId"]}


DEFAULT_STATES: dict[str, Callable[[ProviderContext, str, dict[str, Any]], dict[str, Any] | None]] = {
    "fbs": _fbs_states,
    "oir-debitor-v3": _debtor_states,
    "psrm-fordringshaver": _psrm_states,
}


class StateServer:
    """The verifier's state-change URL: runs a handler, answers its values as JSON, never fails."""

    def __init__(self, handler: StateHandler, errors: list[str]) -> None:
        outer = self

        class _Request(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                values: dict[str, Any] = {}
                try:
                    change = json.loads(self.rfile.read(length) or b"{}")
                    state = str(change.get("state") or "")
                    if state and change.get("action", "setup") == "setup":
                        values = outer.handler(state, dict(change.get("params") or {})) or {}
                except Exception as error:  # total: a failed set-up shows as the interaction failing
                    outer.errors.append(f"{type(error).__name__}: {str(error)[:300]}")
                payload = json.dumps(values).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                return

        self.handler = handler
        self.errors = errors
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        # shutdown() waits for the serving loop's next look at its flag: every 0.05 s, not the default 0.5 s
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="pact-states", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
