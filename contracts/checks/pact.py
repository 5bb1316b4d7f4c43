"""Pact provider verification: replay the committed consumer pacts against a provider's URL.

The consumer tests (`tests/pact/consumer/`) record what the engine, the payment solution and the
debtor system really send and expect; the pact files land in `contracts/pacts/`. This module replays
them against any provider — a simulator in CI, a vendor's test system in certification — and says,
per interaction, whether it held and which requirement IDs (`requirements.yaml`) it covers.

Provider states are reached only through the provider's public API (an account the interaction
needs is registered with OpretDebitorkonto first), so a vendor needs no test-only hooks. The one
exception is time: a state that needs a day to pass (B_03 shows new claims the day after, PSRM builds
receipts later) moves the simulator's clock where the provider offers the simulator control plane;
against a real system that cannot be done, and the interaction is reported as NOT RUN: whatever the
system answers then proves nothing either way.
State handlers are total: an unknown state or a failing set-up call is a no-op that is recorded,
never an exception (a failing handler stalls the Rust verifier for about two minutes).

The handlers answer on a small local HTTP server (the verifier's URL form, a few ms per state), and
return the values the pacts inject into requests (`${fordringId}`): the ids the provider assigned, or,
for a debtor system, fresh ids and CPRs made for the interaction — a vendor's real system keeps what
every earlier certification registered, so each verification works on identities nobody used before.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import httpx

from .. import wire_client

PACT_DIR = Path(__file__).resolve().parents[1] / "pacts"

# Provider names in the pact files: the contract each provider implements.
PROVIDERS = ("fbs", "oir-debitor-v3", "psrm-fordringshaver", "oir-fagsystem-v3")

# Every interaction the consumer tests record, by its description, with the requirement IDs it covers.
# A consumer test that adds an interaction adds its row here; tests/pact check that none is missing.
INTERACTION_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    # oir-engine -> fbs
    "a read of the claim-event feed from the start": ("FBS-FEED", "FBS-CLAIM-TYPES", "MSG-HEADER-BLOCK"),
    "a read of the claim-event feed after the last cursor": ("FBS-FEED",),
    "a DAEKNING posting from a debtor system's callback": ("B01R-PAYMENT", "FBS-POSTING-ONCE", "MSG-MONEY-OERE"),
    "a status notice that a claim was handed over to PSRM": ("B01R-COLLECTION-STATUS", "FBS-POSTING-ONCE"),
    "a rejection of a claim the debtor system refused": ("B01-REJECT-WITH-REASON", "FBS-REJECTION-CORRECTED"),
    "a look-up of a claim for reconciliation": ("FBS-NO-PAYMENTS", "B01R-RETRY"),
    # oir-engine -> oir-debitor-v3
    "OpretDebitorkonto for a borrower's new fee": (
        "B01-CREATE-ACCOUNT",
        "MSG-HEADER-BLOCK",
        "MSG-MUNICIPALITY-CVR",
        "MSG-MONEY-OERE",
        "ID-CPR-FORMAT",
        "B01-SORTIMENT",
    ),
    "RetFordringTilstand writing a claim down": ("B01-WRITE-DOWN", "MSG-MONEY-OERE"),
    "RetFordringTilstand annulling a claim": ("B01-ANNUL",),
    "AendrHaeftelse after a CPR change": ("B01-CHANGE-LIABLE", "ID-CPR-FORMAT"),
    "HentDebitorkonto for reconciliation": ("B02-LOOKUP", "B01R-RETRY"),
    # betalingsloesning -> oir-debitor-v3 (B_03)
    "SoegDelfordringTilIndbetaling for a citizen": ("B03-SEARCH", "B03-NEXT-DAY", "PROFILE-B03-CAPABILITY"),
    "ForetagIndbetaling of a payable sub-claim": ("B03-PAY", "MSG-MONEY-OERE"),
    # debitorsystem -> psrm-fordringshaver
    "MFFordringIndberet of a claim past its SRB": (
        "PSRM-SYNC-ANSWER",
        "PSRM-SRB-PASSED",
        "PSRM-NOTICE-GIVEN",
        "PSRM-MIN-100KR",
    ),
    "MFKvitteringHent before the receipt is ready": ("PSRM-SLOW-RECEIPT",),
    "MFKvitteringHent of a finished receipt": ("PSRM-RECEIPT-STATES",),
    "MFUnderretSamlingHent for the last three months": ("PSRM-NOTIFY-3-MONTHS", "PSRM-SETTLEMENT"),
    # debitorsystem -> oir-fagsystem-v3 (the engine as provider)
    "DaekningAfskrivning reporting a payment": ("B01R-PAYMENT", "B01R-EXACTLY-ONCE", "MSG-HEADER-BLOCK"),
    "DaekningAfskrivning reporting a closed account": ("B01R-ACCOUNT-CLOSED", "B01R-EXACTLY-ONCE"),
}

# Interactions that only a debtor system with a payment solution (B_03) must honour.
B03_CONSUMER = "betalingsloesning"

StateHandler = Callable[[str, dict[str, Any]], dict[str, Any] | None]


class PactCheckError(RuntimeError):
    """The pact files are missing or unreadable; a provider failing them is a result, not an error."""


@dataclass
class InteractionResult:
    consumer: str
    description: str
    passed: bool
    requirements: list[str]
    states: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    # False: a provider state needed time to pass and the provider has no clock to move (a real system
    # lives in real time); whatever it answered proves nothing, so it is neither a pass nor a failure
    ran: bool = True


@dataclass
class PactVerification:
    provider: str
    target: str
    interactions: list[InteractionResult]
    output: str
    seconds: float
    state_errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        ran = [i for i in self.interactions if i.ran]
        return bool(ran) and all(i.passed for i in ran)

    @property
    def failed(self) -> list[InteractionResult]:
        return [i for i in self.interactions if i.ran and not i.passed]

    @property
    def not_run(self) -> list[InteractionResult]:
        return [i for i in self.interactions if not i.ran]

    def requirements(self) -> dict[str, bool]:
        """Each requirement ID the pacts that ran cover, and whether every interaction citing it held."""
        covered: dict[str, bool] = {}
        for result in self.interactions:
            if not result.ran:
                continue
            for requirement in result.requirements:
                covered[requirement] = covered.get(requirement, True) and result.passed
        return covered

    def summary(self) -> str:
        lines = [
            f"{self.provider} at {self.target}: "
            f"{len(self.interactions) - len(self.failed)}/{len(self.interactions)} interactions held"
        ]
        for result in self.failed:
            lines.append(f"  FAILED {result.consumer}: {result.description} [{', '.join(result.requirements)}]")
            lines.extend(f"    {m}" for m in result.mismatches)
        for result in self.not_run:
            lines.append(
                f"  NOT RUN {result.consumer}: {result.description} [{', '.join(result.requirements)}]: "
                f"{NOT_RUN_REASON}"
            )
        lines.extend(f"  state set-up: {e}" for e in self.state_errors)
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed, "requirements": self.requirements()}


NOT_RUN_REASON = (
    "its provider state needs time to pass (a day), and the provider has no simulator clock to move: "
    "a real system lives in real time, so its answer now proves nothing either way"
)


# ---- the pact files -------------------------------------------------------------------------------------
def pact_files(provider: str, *, directory: Path = PACT_DIR, consumers: tuple[str, ...] | None = None) -> list[Path]:
    """The committed pact files whose provider is `provider` (optionally only these consumers)."""
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise PactCheckError(f"{path}: not a readable pact file: {error}") from error
        if document.get("provider", {}).get("name") != provider:
            continue
        if consumers is not None and document.get("consumer", {}).get("name") not in consumers:
            continue
        found.append(path)
    return found


def _interactions(files: list[Path]) -> list[tuple[str, str, list[str]]]:
    rows = []
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        consumer = document["consumer"]["name"]
        for interaction in document.get("interactions", []):
            states = [s.get("name", "") for s in interaction.get("providerStates", [])]
            rows.append((consumer, interaction["description"], states))
    return rows


# ---- provider states through the public API --------------------------------------------------------------
@dataclass
class ProviderContext:
    """Where and as whom the state handlers reach the provider: the same as the verifier."""

    base_url: str
    token: str
    municipality_cvr: str | None = None
    session: str | None = None
    errors: list[str] = field(default_factory=list)
    unreached: set[str] = field(default_factory=set)  # states that needed a clock the provider does not offer

    def headers(self, cvr: str | None = None) -> dict[str, str]:
        return wire_client.headers(
            self.token, session=self.session, at=wire_client.FIXED_SENT_AT, cvr=self.municipality_cvr or cvr
        )

    def post(self, path: str, body: Any, *, cvr: str | None = None) -> httpx.Response:
        return httpx.post(self.base_url.rstrip("/") + path, json=body, headers=self.headers(cvr), timeout=15.0)

    def advance_simulated_clock(self, days: int) -> bool:
        """Let a day pass on a simulator (its control plane); a real system has none: False."""
        try:
            response = wire_client.control(
                self.base_url,
                "POST",
                "/clock/advance",
                token=self.token,
                session=self.session,
                body={"days": days},
                timeout=60.0,
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


class _StateServer:
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
        self._thread = threading.Thread(target=self._server.serve_forever, name="pact-states", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---- verification ---------------------------------------------------------------------------------------
def verify_provider(
    provider: str,
    base_url: str,
    token: str,
    *,
    municipality_cvr: str | None = None,
    session: str | None = None,
    files: list[Path] | None = None,
    consumers: tuple[str, ...] | None = None,
    states: StateHandler | None = None,
    request_timeout_ms: int = 15_000,
    quiet: bool = True,
) -> PactVerification:
    """Verify the committed pacts of `provider` against `base_url`, as the bearer `token`.

    `municipality_cvr` replaces the pacts' municipality (a vendor proves it for one it serves);
    `session` sends `X-Sim-Session` so a run against a shared simulator starts from a clean world;
    `states` replaces the built-in provider-state handlers (the engine's states need FBS and a debtor);
    `quiet` keeps the Rust verifier from printing its report to the process's stdout (it is in `output`).
    """
    # The verifier would report usage to an outside analytics host; this harness talks to nothing but the
    # systems under test (and the machines it runs on may have no other network), so never let it.
    os.environ["PACT_DO_NOT_TRACK"] = "true"
    from pact import Verifier  # the Rust core loads on first use

    chosen = files if files is not None else pact_files(provider, consumers=consumers)
    if not chosen:
        raise PactCheckError(f"no pact files for provider {provider!r} in {PACT_DIR}")
    ctx = ProviderContext(base_url, token, municipality_cvr, session)
    default = DEFAULT_STATES.get(provider)

    def handler(state: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if states is not None:
            return states(state, params)
        return default(ctx, state, params) if default else None

    started = time.monotonic()  # real time: how long the verification took
    with _StateServer(handler, ctx.errors) as server:
        verifier = Verifier(provider, host="127.0.0.1").add_transport(url=base_url)
        for path in chosen:
            verifier.add_source(str(path))
        verifier.state_handler(server.url, body=True)
        verifier.set_request_timeout(request_timeout_ms)
        verifier.add_custom_header("Authorization", f"Bearer {token}")
        if municipality_cvr:
            verifier.add_custom_header("X-Kommune-Cvr", municipality_cvr)
        if session:
            verifier.add_custom_header("X-Sim-Session", session)
        verifier.set_coloured_output(enabled=False)
        try:
            with _quiet_stdout(quiet):
                verifier.verify()
        except RuntimeError:
            pass  # the details are in results and output
        results = verifier.results
        output = str(verifier.output(strip_ansi=True))
    rows = _interactions(chosen)
    failures = _failures(results, [description for _, description, _ in rows])
    interactions = [
        InteractionResult(
            consumer=consumer,
            description=description,
            passed=description not in failures and not set(states_) & ctx.unreached,
            requirements=list(INTERACTION_REQUIREMENTS.get(description, ("UNMAPPED",))),
            states=states_,
            mismatches=failures.get(description, []),
            ran=not set(states_) & ctx.unreached,
        )
        for consumer, description, states_ in rows
    ]
    return PactVerification(
        provider=provider,
        target=base_url,
        interactions=interactions,
        output=output,
        seconds=round(time.monotonic() - started, 2),
        state_errors=ctx.errors,
    )


@contextmanager
def _quiet_stdout(quiet: bool) -> Iterator[None]:
    """Point file descriptor 1 at /dev/null while the Rust core runs: it prints past Python's sys.stdout."""
    if not quiet:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _failures(results: dict[str, Any], descriptions: list[str]) -> dict[str, list[str]]:
    """Interaction description -> readable mismatches, from the verifier's JSON results.

    The verifier names an interaction "Verifying a pact between C and P [Given S] - description".
    """
    failures: dict[str, list[str]] = {}
    for error in results.get("errors", []) or []:
        named = str(error.get("interaction", ""))
        description = next((d for d in descriptions if named == d or named.endswith(f" - {d}")), named)
        mismatch = error.get("mismatch", {})
        texts = []
        for item in mismatch.get("mismatches", []) or []:
            texts.append(str(item.get("mismatch") or item.get("description") or item)[:300])
        if not texts:
            texts.append(str(mismatch.get("message") or mismatch)[:300])
        failures.setdefault(description, []).extend(texts)
    return failures
