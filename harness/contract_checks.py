"""Contract checks from the command line and certification: Pact verification and schemathesis fuzzing.

`contracts.checks.pact.verify_provider` replays the committed pacts against one URL; this module
starts what a verification needs when no URL is given (the simulators, and the real integration
engine for the debtor system's callback pact, as real servers on 127.0.0.1), maps each provider to
the pacts it must honour — the debtor pacts against every profile, B_03 only where the profile has a
payment solution — and runs the schemathesis command line against a contract the way certification
does (`contracts.checks.fuzz.run_schemathesis`, the one home of fuzzing).

The engine's provider state ("the engine registered a claim for a municipality") is reached the way
production reaches it: the borrower and claim are created in the FBS simulator, one engine cycle
reads FBS's feed and registers the claim at a debtor simulator, and the ids are read back from the
debtor's public HentDebitorkonto. Nothing is written into the engine's database directly.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from contracts.checks.fuzz import FuzzResult, run_schemathesis, vendor_contract
from contracts.checks.pact import PactVerification, ProviderContext, create_fbs_claim, verify_provider
from contracts.municipalities import for_vendor
from contracts.profile import PROFILE_NAMES
from contracts.specs import spec_path
from integration import Engine, EngineSettings, ManualClock
from simulators import factory

from .certification.errors import TargetUnreachableError
from .certification.pacts import debtor_consumers
from .certification.target import check_reachable
from .errors import HarnessError
from .servers import ServerThread

DEV_TOKEN = "oir-dev-token"
ENGINE = "engine"
ENGINE_CALLBACK_TOKEN = "pact-callback-token"
ENGINE_STATE = "the engine registered a claim for a municipality"
# `--provider` names of the systems started locally: the simulators and the real engine.
SIMULATED_PROVIDERS = ("fbs", "psrm", *(f"debtor-{p}" for p in PROFILE_NAMES))
LOCAL_PROVIDERS = (*SIMULATED_PROVIDERS, ENGINE)
# Contract names a `--provider` may also be given as, and the local provider(s) each means.
CONTRACT_PROVIDERS = {
    "fbs": ("fbs",),
    "psrm-fordringshaver": ("psrm",),
    "oir-debitor-v3": tuple(f"debtor-{p}" for p in PROFILE_NAMES),
    "oir-fagsystem-v3": (ENGINE,),
}
# `--spec` names for fuzzing, with the simulator that implements each.
# (`oir-testkontrol-v1` against a vendor moves its business date: only ever at a test environment.)
FUZZ_SPECS = {
    "oir-debitor-v3": "debtor",
    "oir-testkontrol-v1": "debtor",
    "fbs": "fbs",
    "psrm-fordringshaver": "psrm",
    "payment": "payment",
}
__all__ = [
    "CONTRACT_PROVIDERS",
    "ENGINE",
    "FUZZ_SPECS",
    "LOCAL_PROVIDERS",
    "SIMULATED_PROVIDERS",
    "ContractCheckError",
    "EngineWorld",
    "FuzzRun",
    "debtor_consumers",
    "engine_world",
    "fuzz",
    "verify_engine",
    "verify_local",
    "verify_simulated",
    "verify_url",
]


class ContractCheckError(HarnessError, ValueError):
    """A usage error: an unknown provider or spec name, or a URL that does not answer."""


def verify_simulated(provider: str) -> PactVerification:
    """Start the provider's simulator on 127.0.0.1 and verify its pacts in a fresh session."""
    if provider not in SIMULATED_PROVIDERS:
        raise ContractCheckError(f"unknown provider {provider!r}; known: {', '.join(LOCAL_PROVIDERS)}")
    session = f"pact-{uuid.uuid4().hex[:8]}"
    if provider == "fbs":
        with ServerThread(factory("fbs")(), name="fbs") as fbs:
            return verify_provider("fbs", fbs.url, DEV_TOKEN, session=session)
    if provider == "psrm":
        with ServerThread(factory("psrm")(), name="psrm") as psrm:
            return verify_provider("psrm-fordringshaver", psrm.url, DEV_TOKEN, session=session)
    profile = provider.removeprefix("debtor-")
    with (
        ServerThread(factory("psrm")(), name="psrm") as psrm,
        ServerThread(factory("debtor")(profile=profile, psrm_url=psrm.url), name=provider) as debtor,
    ):
        result = verify_provider(
            "oir-debitor-v3",
            debtor.url,
            DEV_TOKEN,
            municipality_cvr=for_vendor(profile)[0].cvr,
            session=session,
            consumers=debtor_consumers(profile),
        )
    result.provider = provider
    return result


def verify_local(provider: str) -> PactVerification:
    """A simulator's pacts against the simulator, or (`engine`) the callback pact against the real engine."""
    return verify_engine() if provider == ENGINE else verify_simulated(provider)


# ---- the engine as provider ------------------------------------------------------------------------------
@dataclass
class EngineWorld:
    """FBS and a debtor simulator the engine under verification syncs with, and the engine itself."""

    fbs_url: str
    debtor_url: str
    engine: Engine
    errors: list[str] = field(default_factory=list)

    def registered_claim(self, state: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The provider state, through public APIs only; any other state is a no-op (handlers are total)."""
        if state != ENGINE_STATE:
            return None
        claim = create_fbs_claim(ProviderContext(self.fbs_url, DEV_TOKEN), params)
        report = self.engine.cycle()  # reads FBS's feed, registers the claim at the debtor
        if report.delivered < 1:
            raise RuntimeError(f"the engine did not register {claim['fordringId']}: {report}")
        account_id = f"FBS-{claim['kommuneKode']}-{claim['laanerId']}"
        account = httpx.get(
            f"{self.debtor_url}/debitorkonti/{account_id}",
            headers=ProviderContext(self.debtor_url, DEV_TOKEN).headers(claim["kommuneCvr"]),
            timeout=15.0,
        )
        account.raise_for_status()
        registered = next(f for f in account.json()["fordringer"] if f["fordringId"] == claim["fordringId"])
        return {
            "fordringId": claim["fordringId"],
            "debitorkontoId": account_id,
            "delfordringId": registered["delfordringer"][0]["delfordringId"],
        }


@contextmanager
def engine_world(folder: Path) -> Iterator[tuple[EngineWorld, str]]:
    """FBS, one debtor simulator serving every municipality, and the real engine (its database in
    `folder`) with its callback API on 127.0.0.1; yields the world and the API's URL. Every route's
    callback token is ENGINE_CALLBACK_TOKEN."""
    with (
        ServerThread(factory("fbs")(), name="fbs", log_level="error") as fbs,
        ServerThread(
            factory("debtor")(profile="kmd-opus", serve_all_municipalities=True), name="debtor", log_level="error"
        ) as debtor,
    ):
        settings = EngineSettings(
            fbs_url=fbs.url,
            debtor_urls=dict.fromkeys(PROFILE_NAMES, debtor.url),
            database_url=f"sqlite:///{folder / 'engine.sqlite'}",
            callback_tokens=dict.fromkeys(PROFILE_NAMES, ENGINE_CALLBACK_TOKEN),
            backoff_base_s=0.0,
        )
        engine = Engine(settings, clock=ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)), seed=1)
        try:
            with ServerThread(engine.api(), name="engine-api", log_level="error") as api:
                yield EngineWorld(fbs.url, debtor.url, engine), api.url
        finally:
            engine.close()


def verify_engine() -> PactVerification:
    """The debtor systems' callback pact (`oir-fagsystem-v3`) against the real engine on a fresh SQLite file."""
    with tempfile.TemporaryDirectory(prefix="oir-pact-engine-") as tmp, engine_world(Path(tmp)) as (world, url):
        result = verify_provider("oir-fagsystem-v3", url, ENGINE_CALLBACK_TOKEN, states=world.registered_claim)
    result.provider = ENGINE
    return result


# ---- a system at a URL -----------------------------------------------------------------------------------
def check_url(url: str, timeout: float = 10.0) -> str:
    """The URL without a trailing slash if anything answers HTTP there; else a ContractCheckError."""
    try:
        return check_reachable(url, timeout, option="--url", what="the provider")
    except TargetUnreachableError as exc:
        raise ContractCheckError(str(exc)) from exc


def verify_url(provider: str, url: str, token: str, *, municipality_cvr: str | None = None) -> PactVerification:
    """Verify a real system (a vendor's debtor system, FBS or PSRM) at `url`; `debtor-<profile>` chooses
    the consumer pacts that apply by the profile's capabilities."""
    if provider not in SIMULATED_PROVIDERS:
        if provider == ENGINE:
            raise ContractCheckError(
                "the engine's pact is verified only against an engine this command starts (its provider state "
                "needs FBS and a debtor system the engine syncs with): leave out --url"
            )
        raise ContractCheckError(f"unknown provider {provider!r}; known: {', '.join(SIMULATED_PROVIDERS)}")
    contract = {"fbs": "fbs", "psrm": "psrm-fordringshaver"}.get(provider, "oir-debitor-v3")
    consumers = debtor_consumers(provider.removeprefix("debtor-")) if provider.startswith("debtor-") else None
    if municipality_cvr is None and provider.startswith("debtor-"):
        municipality_cvr = for_vendor(provider.removeprefix("debtor-"))[0].cvr
    result = verify_provider(contract, url, token, municipality_cvr=municipality_cvr, consumers=consumers)
    result.provider = provider
    return result


# ---- fuzzing ---------------------------------------------------------------------------------------------
@dataclass
class FuzzRun:
    spec: str
    url: str
    result: FuzzResult
    log: Path


def fuzz(spec: str, url: str | None, out: Path, *, max_examples: int, seed: int, token: str = DEV_TOKEN) -> FuzzRun:
    """The schemathesis command line against a contract: at `url`, or a freshly started simulator."""
    if spec not in FUZZ_SPECS:
        raise ContractCheckError(f"unknown spec {spec!r}; known: {', '.join(FUZZ_SPECS)}")
    out.mkdir(parents=True, exist_ok=True)
    contract = vendor_contract(out / f"{spec}.vendor.yaml") if spec == "oir-debitor-v3" else spec_path(spec)
    if url:
        result = run_schemathesis(contract, url, out, seed, max_examples, token)
        return FuzzRun(spec, url, result, out / "schemathesis.log")
    kwargs = {"profile": "kmd-opus"} if FUZZ_SPECS[spec] == "debtor" else {}
    with ServerThread(factory(FUZZ_SPECS[spec])(**kwargs), name=spec, log_level="error") as server:
        result = run_schemathesis(contract, server.url, out, seed, max_examples, DEV_TOKEN)
        return FuzzRun(spec, server.url, result, out / "schemathesis.log")


def default_fuzz_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="oir-fuzz-"))
