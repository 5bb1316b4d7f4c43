"""Pact provider verification: replay the committed consumer pacts against a provider's URL.

This replays them against any provider — a simulator in CI, a vendor's test system in certification —
and says, per interaction, whether it held and which requirement IDs it covers (requirements.py).
Provider states are set up by states.py; a state that needed time the provider cannot give makes its
interaction NOT RUN (results.py).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .requirements import INTERACTION_REQUIREMENTS, PACT_DIR, PactCheckError, pact_files, pact_interactions
from .results import InteractionResult, PactVerification
from .states import DEFAULT_STATES, ProviderContext, StateHandler, StateServer


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
    advance: Callable[[int], bool] | None = None,
) -> PactVerification:
    """Verify the committed pacts of `provider` against `base_url`, as the bearer `token`.

    `municipality_cvr` replaces the pacts' municipality (a vendor proves it for one it serves);
    `session` sends `X-Sim-Session` so a run against a shared simulator starts from a clean world;
    `states` replaces the built-in provider-state handlers (the engine's states need FBS and a debtor);
    `request_timeout_ms` is how long the verifier and the state handlers wait for an answer;
    `quiet` keeps the Rust verifier from printing its report to the process's stdout (it is in `output`);
    `advance` lets days pass at a real system that offers test control (see `ProviderContext.advance`).
    """
    # The verifier would report usage to an outside analytics host; this harness talks to nothing but the
    # systems under test (and the machines it runs on may have no other network), so never let it.
    os.environ["PACT_DO_NOT_TRACK"] = "true"
    from pact import Verifier  # the Rust core loads on first use

    chosen = files if files is not None else pact_files(provider, consumers=consumers)
    if not chosen:
        raise PactCheckError(f"no pact files for provider {provider!r} in {PACT_DIR}")
    ctx = ProviderContext(
        base_url, token, municipality_cvr, session, timeout=request_timeout_ms / 1000, advance=advance
    )
    default = DEFAULT_STATES.get(provider)

    def handler(state: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if states is not None:
            return states(state, params)
        return default(ctx, state, params) if default else None

    started = time.monotonic()  # real time: how long the verification took
    with StateServer(handler, ctx.errors) as server:
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
    rows = pact_interactions(chosen)
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
