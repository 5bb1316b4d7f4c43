"""The consumer pacts in certification: which pacts a debtor system must honour, and their verification
against the debtor under test as one more part of the verdict.

A debtor system is the provider of two consumers' pacts: the engine's (B_01, B_02) always, the payment
solution's (B_03) only where the profile declares a payment solution. Each interaction becomes one
check of the judgement, citing its requirement IDs, so a failing interaction fails exactly the
requirements it covers (or shows as an accepted deviation), with the verifier's mismatches as evidence.
The pact files are part of what was tested: their digests go into the certificate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contracts.checks.pact import (
    B03_CONSUMER,
    NOT_RUN_REASON,
    PACT_DIR,
    PactCheckError,
    PactVerification,
    pact_files,
    verify_provider,
)
from contracts.identity import mask_cpr_in_text
from contracts.profile import Profile, load_profile

from .errors import PactFilesError

DEBTOR_CONTRACT = "oir-debitor-v3"
ENGINE_CONSUMER = "oir-engine"
CHECK_PREFIX = "pact"
__all__ = [
    "PactPart",
    "debtor_consumers",
    "debtor_pact_files",
    "pact_digests",
    "verify_debtor_pacts",
]


def debtor_consumers(profile: str | Profile) -> tuple[str, ...]:
    """Whose pacts a debtor profile must honour: the engine's always, the payment solution's with B_03."""
    loaded = profile if isinstance(profile, Profile) else load_profile(profile)
    return (ENGINE_CONSUMER, B03_CONSUMER) if loaded.capabilities.b03_payment else (ENGINE_CONSUMER,)


def debtor_pact_files(profile: str | Profile) -> list[Path]:
    return pact_files(DEBTOR_CONTRACT, consumers=debtor_consumers(profile))


def pact_digests(profile: str | Profile) -> dict[str, str]:
    """sha256 of each pact file that applies to the profile, by file stem (for the certificate: a key
    without dots, like every other digest's)."""
    return {path.stem: "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() for path in debtor_pact_files(profile)}


@dataclass
class PactInteraction:
    check: str  # the check's name in the judgement: "pact <consumer>: <description>"
    consumer: str
    description: str
    requirements: list[str]
    passed: bool
    evidence: list[str] = field(default_factory=list)
    ran: bool = True  # False: its provider state needed time this target cannot let pass (the evidence says so)


@dataclass
class PactPart:
    """The pact verification of one certification run, as the report and the judgement see it."""

    provider: str
    consumers: list[str]
    files: dict[str, str]
    seconds: float
    interactions: list[PactInteraction]
    state_errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        ran = [i for i in self.interactions if i.ran]
        return bool(ran) and all(i.passed for i in ran)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def _check_name(consumer: str, description: str) -> str:
    return f"{CHECK_PREFIX} {consumer}: {description}"


def _part(verification: PactVerification, consumers: tuple[str, ...], files: dict[str, str]) -> PactPart:
    interactions = []
    for result in verification.interactions:
        evidence = list(result.mismatches)
        if not result.passed and verification.state_errors:
            evidence += [f"provider state set-up: {e}" for e in verification.state_errors]
        interactions.append(
            PactInteraction(
                check=_check_name(result.consumer, result.description),
                consumer=result.consumer,
                description=result.description,
                requirements=list(result.requirements),
                passed=result.passed,
                evidence=[NOT_RUN_REASON]
                if not result.ran
                else evidence or ([] if result.passed else ["the verifier reported a failure without details"]),
                ran=result.ran,
            )
        )
    return PactPart(
        provider=DEBTOR_CONTRACT,
        consumers=list(consumers),
        files=files,
        seconds=verification.seconds,
        interactions=interactions,
        state_errors=list(verification.state_errors),
    )


def verify_debtor_pacts(
    profile: Profile,
    debtor_url: str,
    token: str,
    *,
    municipality_cvr: str,
    session: str | None,
    log: Path | None = None,
    request_timeout_s: float = 15.0,
    shown_url: str | None = None,
    advance: Callable[[int], bool] | None = None,
) -> PactPart:
    """Replay the pacts that apply to `profile` against the debtor system at `debtor_url`.

    `log` receives the verifier's full output, CPR numbers masked, with `debtor_url` shown as `shown_url`
    (the vendor's own URL where the verifier went through the harness's timing proxy);
    `request_timeout_s` is how long the verifier waits for each answer (the profile's patience).
    Raises PactFilesError when the harness's own pact files are missing or unreadable; a debtor failing
    them is a result."""
    consumers = debtor_consumers(profile)
    try:
        files = pact_files(DEBTOR_CONTRACT, consumers=consumers)
        if not files:
            raise PactCheckError(f"no pact files for {DEBTOR_CONTRACT} in {PACT_DIR}")
        digests = pact_digests(profile)
        verification = verify_provider(
            DEBTOR_CONTRACT,
            debtor_url,
            token,
            municipality_cvr=municipality_cvr,
            session=session,
            files=files,
            request_timeout_ms=int(request_timeout_s * 1000),
            advance=advance,  # a vendor's test control lets a state's day pass
        )
    except PactCheckError as error:
        raise PactFilesError(f"cannot verify the consumer pacts: {error}") from error
    if log is not None:
        output = verification.output.replace(debtor_url, shown_url) if shown_url else verification.output
        log.write_text(mask_cpr_in_text(output), encoding="utf-8")
    return _part(verification, consumers, digests)
