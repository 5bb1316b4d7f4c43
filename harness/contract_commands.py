"""What `oir contracts verify` and `oir contracts fuzz` do, kept out of cli.py so the command line stays
a thin list of options. Each function returns the exit code: 0 every check held, 1 a check failed,
2 a usage error (unknown provider, profile or spec, `--url` without saying what it is, a URL that does
not answer) — a clear message, never a traceback.

`--provider` takes a contract name (`oir-debitor-v3`, `fbs`, `psrm-fordringshaver`, `oir-fagsystem-v3`)
or a locally started system (`debtor-<profile>`, `fbs`, `psrm`, `engine`); for a debtor system the
profile's capabilities choose the consumer pacts (B_03 only with a payment solution).
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from contracts.checks.pact import PactCheckError, PactVerification
from contracts.identity import mask_cpr_in_text
from contracts.municipalities import by_cvr
from contracts.profile import PROFILE_NAMES

from .command_options import writable
from .contract_checks import (
    CONTRACT_PROVIDERS,
    ENGINE,
    FUZZ_SPECS,
    LOCAL_PROVIDERS,
    ContractCheckError,
    FuzzRun,
    check_url,
    default_fuzz_folder,
    fuzz,
    verify_local,
    verify_url,
)


def _usage(console: Console, message: str) -> int:
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return 2


def _debtor_profile(provider: str, profile: str | None) -> str | None:
    """The profile a debtor provider name implies, checked against --profile; None for other providers."""
    if provider.startswith("debtor-"):
        named = provider.removeprefix("debtor-")
        if profile and profile != named:
            raise ContractCheckError(f"--provider {provider} and --profile {profile} disagree")
        return named
    return profile if provider == "oir-debitor-v3" else None


def _local_providers(provider: str | None, profile: str | None) -> list[str]:
    if provider is None:
        return [f"debtor-{profile}"] if profile else list(LOCAL_PROVIDERS)
    if provider in LOCAL_PROVIDERS and provider not in CONTRACT_PROVIDERS:
        _debtor_profile(provider, profile)
        return [provider]
    if provider in CONTRACT_PROVIDERS:
        chosen = _debtor_profile(provider, profile)
        return [f"debtor-{chosen}"] if chosen else list(CONTRACT_PROVIDERS[provider])
    raise ContractCheckError(_unknown_provider(provider))


def _unknown_provider(provider: str) -> str:
    names = sorted({*CONTRACT_PROVIDERS, *LOCAL_PROVIDERS})
    return f"unknown provider {provider!r}; known: {', '.join(names)}"


def _url_provider(provider: str | None, profile: str | None) -> str:
    """The one provider a --url is verified as."""
    if provider is None:
        raise ContractCheckError(
            f"--url needs --provider: which contract the system at the URL implements ({', '.join(CONTRACT_PROVIDERS)})"
        )
    if provider in ("oir-fagsystem-v3", ENGINE):
        return ENGINE  # verify_url explains why that needs no --url
    if provider in ("psrm", "psrm-fordringshaver"):
        return "psrm"
    if provider == "fbs":
        return "fbs"
    if provider == "oir-debitor-v3" or provider.startswith("debtor-"):
        if provider.startswith("debtor-") and provider.removeprefix("debtor-") not in PROFILE_NAMES:
            raise ContractCheckError(_unknown_provider(provider))
        chosen = _debtor_profile(provider, profile)
        if not chosen:
            raise ContractCheckError(
                "--provider oir-debitor-v3 with --url needs --profile: the profile's capabilities choose the "
                f"consumer pacts (B_03 only with a payment solution); profiles: {', '.join(PROFILE_NAMES)}"
            )
        return f"debtor-{chosen}"
    raise ContractCheckError(_unknown_provider(provider))


def _print_verification(console: Console, result: PactVerification) -> None:
    held = len(result.interactions) - len(result.failed)
    mark = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
    console.print(
        f"{mark} {escape(result.provider)} at {escape(result.target)}: {held}/{len(result.interactions)} "
        f"interactions held ({result.seconds} s)",
        soft_wrap=True,
    )
    for interaction in result.interactions:
        status = "ok  " if interaction.passed else "[red]FAIL[/red]"
        console.print(
            f"  {status} {escape(interaction.consumer)}: {escape(interaction.description)} "
            f"[{escape(', '.join(interaction.requirements))}]",
            soft_wrap=True,
        )
        for mismatch in interaction.mismatches:
            console.print(f"         {escape(mask_cpr_in_text(mismatch))}", soft_wrap=True)
    for error in result.state_errors:
        console.print(f"  provider state set-up failed: {escape(mask_cpr_in_text(error))}", soft_wrap=True)


def run_verify(
    console: Console,
    *,
    provider: str | None,
    profile: str | None,
    url: str | None,
    token: str,
    municipality_cvr: str | None,
    report: Path | None,
) -> int:
    """Verify the committed pacts: against locally started providers, or the one system at `url`."""
    if profile is not None and profile not in PROFILE_NAMES:
        return _usage(console, f"unknown profile {profile!r}; known: {', '.join(PROFILE_NAMES)}")
    if municipality_cvr is not None and by_cvr(municipality_cvr) is None:
        return _usage(console, f"--municipality-cvr {municipality_cvr!r} is the CVR of none of the 98 municipalities")
    if report is not None:
        writable(report, "--report")
    try:
        if url:
            name = _url_provider(provider, profile)
            if name == ENGINE:
                verify_url(name, url, token)  # raises the explanation
            target = check_url(url)
            results = [verify_url(name, target, token, municipality_cvr=municipality_cvr)]
        else:
            providers = _local_providers(provider, profile)
            results = []
            for name in providers:
                with console.status(f"verifying the pacts of {name} …"):
                    results.append(verify_local(name))
    except (ContractCheckError, PactCheckError) as exc:
        return _usage(console, str(exc))
    for result in results:
        _print_verification(console, result)
    if report:
        document = [result.as_json() for result in results]
        report.write_text(mask_cpr_in_text(json.dumps(document, indent=2, ensure_ascii=False)), encoding="utf-8")
        console.print(f"report: {report}")
    return 0 if all(result.passed for result in results) else 1


def _print_fuzz(console: Console, run: FuzzRun) -> None:
    result = run.result
    mark = "[red]ERROR[/red]" if result.error else "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
    said = result.error or result.summary  # an error: the one line saying why nothing was exercised
    console.print(f"{mark} {run.spec} at {escape(run.url)}: {escape(said)}", soft_wrap=True)
    for failure in result.failures:
        console.print(
            f"  [red]FAIL[/red] {escape(failure.operation)} {failure.check}: {escape(failure.title)} "
            f"[{', '.join(failure.requirements)}]",
            soft_wrap=True,
        )
        for line in failure.message.splitlines():
            if line.strip():
                console.print(f"         {escape(line.strip())}", soft_wrap=True)
        if failure.curl:
            console.print(f"         reproduce: {escape(failure.curl)}", soft_wrap=True)
    for warning in result.warnings:
        console.print(f"  warning: {escape(warning)}", soft_wrap=True)
    console.print(f"  log: {run.log}", soft_wrap=True)


def run_fuzz(
    console: Console,
    *,
    spec: str | None,
    url: str | None,
    token: str,
    max_examples: int,
    seed: int,
    out: Path | None,
) -> int:
    """Fuzz a contract with schemathesis: the system at `url`, or the simulators (every spec by default)."""
    if spec is not None and spec not in FUZZ_SPECS:
        return _usage(console, f"unknown spec {spec!r}; known: {', '.join(FUZZ_SPECS)}")
    if url and spec is None:
        return _usage(console, f"--url needs --spec: which contract to fuzz the system with ({', '.join(FUZZ_SPECS)})")
    if out is not None:
        writable(out, "--out", folder=True)
    folder = out or default_fuzz_folder()
    try:
        target = check_url(url) if url else None
        runs = []
        for name in [spec] if spec else list(FUZZ_SPECS):
            with console.status(f"fuzzing {name} …"):
                runs.append(fuzz(name, target, folder / name, max_examples=max_examples, seed=seed, token=token))
    except ContractCheckError as exc:
        return _usage(console, str(exc))
    for run in runs:
        _print_fuzz(console, run)
    if any(run.result.error for run in runs):
        return 2  # a run that could not exercise the system (e.g. every answer 401/403): never a pass
    return 0 if all(run.result.passed for run in runs) else 1
