"""Contract checks from the command line and certification: Pact verification and schemathesis fuzzing.

`contracts.checks.pact.verify_provider` replays the committed pacts against one URL; this module
starts what a verification needs when no URL is given (the simulators as real servers on 127.0.0.1),
maps each provider to the pacts it must honour — the debtor pacts against every profile, B_03 only
where the profile has a payment solution — and runs the schemathesis command line against a contract
the way certification does.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from contracts.checks.pact import B03_CONSUMER, PactVerification, verify_provider
from contracts.municipalities import for_vendor
from contracts.specs import spec_path
from simulators import factory
from simulators.debtor.profile import PROFILE_NAMES, load_profile

from .certification.run import FuzzResult, vendor_contract
from .certification.run import _fuzz as run_schemathesis
from .servers import ServerThread

DEV_TOKEN = "oir-dev-token"
# `--provider` names: the simulated systems whose pacts are verified.
SIMULATED_PROVIDERS = ("fbs", "psrm", *(f"debtor-{p}" for p in PROFILE_NAMES))
# `--spec` names for fuzzing, with the simulator that implements each.
FUZZ_SPECS = {"oir-debitor-v3": "debtor", "fbs": "fbs", "psrm-fordringshaver": "psrm", "payment": "payment"}


class ContractCheckError(ValueError):
    """A usage error: an unknown provider or spec name."""


def debtor_consumers(profile: str) -> tuple[str, ...]:
    """Whose pacts a debtor profile must honour: the engine's always, the payment solution's with B_03."""
    return ("oir-engine", B03_CONSUMER) if load_profile(profile).capabilities.b03_payment else ("oir-engine",)


def verify_simulated(provider: str) -> PactVerification:
    """Start the provider's simulator on 127.0.0.1 and verify its pacts in a fresh session."""
    if provider not in SIMULATED_PROVIDERS:
        raise ContractCheckError(f"unknown provider {provider!r}; known: {', '.join(SIMULATED_PROVIDERS)}")
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


def verify_url(provider: str, url: str, token: str, *, municipality_cvr: str | None = None) -> PactVerification:
    """Verify a real system (a vendor's debtor system, or any provider) at `url`."""
    contract = {"fbs": "fbs", "psrm": "psrm-fordringshaver"}.get(provider, "oir-debitor-v3")
    consumers = debtor_consumers(provider.removeprefix("debtor-")) if provider.startswith("debtor-") else None
    if provider not in SIMULATED_PROVIDERS:
        raise ContractCheckError(f"unknown provider {provider!r}; known: {', '.join(SIMULATED_PROVIDERS)}")
    if municipality_cvr is None and provider.startswith("debtor-"):
        municipality_cvr = for_vendor(provider.removeprefix("debtor-"))[0].cvr
    result = verify_provider(contract, url, token, municipality_cvr=municipality_cvr, consumers=consumers)
    result.provider = provider
    return result


@dataclass
class FuzzRun:
    spec: str
    url: str
    result: FuzzResult
    log: Path


def fuzz(spec: str, url: str | None, out: Path, *, max_examples: int, seed: int) -> FuzzRun:
    """The schemathesis command line against a contract: at `url`, or a freshly started simulator."""
    if spec not in FUZZ_SPECS:
        raise ContractCheckError(f"unknown spec {spec!r}; known: {', '.join(FUZZ_SPECS)}")
    out.mkdir(parents=True, exist_ok=True)
    contract = vendor_contract(out / f"{spec}.vendor.yaml") if spec == "oir-debitor-v3" else spec_path(spec)
    if url:
        return FuzzRun(spec, url, run_schemathesis(contract, url, out, seed, max_examples), out / "schemathesis.log")
    kwargs = {"profile": "kmd-opus"} if FUZZ_SPECS[spec] == "debtor" else {}
    with ServerThread(factory(FUZZ_SPECS[spec])(**kwargs), name=spec, log_level="error") as server:
        result = run_schemathesis(contract, server.url, out, seed, max_examples)
        return FuzzRun(spec, server.url, result, out / "schemathesis.log")


def default_fuzz_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="oir-fuzz-"))
