"""What `oir certify` and `oir verify-certificate` do, kept out of cli.py so the command line stays a
thin list of options. Each function returns the exit code: 0 certified/valid, 1 not, 2 usage error;
a usage or configuration error is a clear message, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from contracts.profile import PROFILE_NAMES

from .certificate import read_certificate, rfc3339, verify
from .errors import CertificationError
from .judge import CERTIFIED, CERTIFIED_WITH_DEVIATIONS, NOT_CERTIFIED
from .keys import harness_key, key_id, public_pem, signing_key, trusted_key
from .run import STEPS, certify_profile
from .target import CALLBACK_TOKEN, DEV_TOKEN, Counterparts, Target, check_reachable, check_test_control

_STYLE = {CERTIFIED: "green", CERTIFIED_WITH_DEVIATIONS: "yellow", NOT_CERTIFIED: "red"}


@dataclass(frozen=True)
class CertifyOptions:
    profiles: list[str]
    out: Path
    seed: int
    max_examples: int
    debtor_url: str | None
    debtor_token: str | None
    callback_token: str
    callback_port: int
    psrm_port: int
    callback_timeout: float
    signing_key: str | None
    validity_days: int
    scenarios: bool = True  # run the profile's bundled scenarios (against a vendor: those that can meet one)
    test_control: bool = False  # the vendor's test system offers oir-testkontrol-v1 (--test-control)


def _usage(console: Console, message: str) -> int:
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    return 2


def run_certify(console: Console, options: CertifyOptions, now: datetime) -> int:
    chosen = options.profiles or list(PROFILE_NAMES)
    unknown = [name for name in chosen if name not in PROFILE_NAMES]
    if unknown:
        return _usage(console, f"unknown profile {', '.join(unknown)}; known: {', '.join(PROFILE_NAMES)}")
    if options.debtor_url and len(chosen) != 1:
        return _usage(
            console,
            f"--debtor-url needs exactly one --profile (the one the vendor's system implements), got {len(chosen)}",
        )
    if options.callback_port and options.callback_port == options.psrm_port:
        return _usage(console, f"--callback-port and --psrm-port are both {options.callback_port}")
    if options.test_control and not options.debtor_url:
        return _usage(console, "--test-control is a vendor's declaration: it needs --debtor-url")
    try:
        key = signing_key(options.signing_key)
        url = check_reachable(options.debtor_url) if options.debtor_url else None
        if url and options.test_control:
            business_date = check_test_control(url, options.debtor_token or DEV_TOKEN)
            console.print(f"test control: the vendor's business date is {business_date}; it will move forward")
    except CertificationError as exc:
        return _usage(console, str(exc))
    target = Target(
        debtor_url=url,
        token=options.debtor_token or DEV_TOKEN,
        callback_token=options.callback_token or CALLBACK_TOKEN,
        callback_port=options.callback_port,
        psrm_port=options.psrm_port,
        test_control=options.test_control,
    )
    table = Table(title="ØiR certification")
    columns = ("profile", "verdict", "failed checks", "verified", "failed", "accepted deviations")
    for column in (*columns, "not applicable", "not verified", "report"):
        table.add_column(column, overflow="fold")
    all_certified = True
    for name in chosen:
        from .report import write_report

        folder = options.out / name
        try:
            with Progress(
                TextColumn("[bold]{task.fields[profile]}[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("starting", total=STEPS, profile=name)

                def step(description: str, task_id: TaskID = task, bar: Progress = progress) -> None:
                    if bar.tasks[0].description != "starting":
                        bar.advance(task_id)
                    bar.update(task_id, description=description)

                result = certify_profile(
                    name,
                    folder,
                    seed=options.seed,
                    max_examples=options.max_examples,
                    callback_timeout=options.callback_timeout,
                    target=target,
                    now=now,
                    announce=None if target.simulated else lambda c: _announce(console, c, target),
                    progress=step,
                    scenarios=options.scenarios,
                )
            certificate = write_report(result, folder, key=key, validity_days=options.validity_days)
        except CertificationError as exc:
            return _usage(console, str(exc))
        all_certified &= result.certified
        failed = [name for name, _ in result.checks() if result.status(name) == "failed"]
        accepted = [d.requirement for d in result.judgement.accepted]
        style = _STYLE[result.verdict]
        console.print(f"{name}: [{style}]{result.verdict}[/{style}] ({result.seconds} s) → {certificate}")
        judgement = result.judgement
        table.add_row(
            name,
            f"[{style}]{result.verdict}[/{style}]",
            ", ".join(failed) or "-",
            f"{len(judgement.passed)} ({judgement.how})",
            ", ".join(judgement.failed) or "-",
            ", ".join(accepted) or "-",
            ", ".join(judgement.not_applicable) or "-",
            ", ".join(judgement.not_verified) or "-",
            str(folder / "index.html"),
        )
    console.print(table)
    return 0 if all_certified else 1


def _announce(console: Console, counterparts: Counterparts, target: Target) -> None:
    token = (
        counterparts.callback_token
        if counterparts.callback_token == CALLBACK_TOKEN
        else "(the value of --callback-token / OIR_CALLBACK_TOKEN)"
    )
    console.print(
        Panel(
            f"PSRM URL:            {counterparts.psrm_url}\n"
            f"callback (fagsystem) {counterparts.callback_url}  (DækningAfskrivning: "
            f"{counterparts.callback_url}/daekningafskrivning)\n"
            f"callback token:      {token}\n"
            f"debtor system:       {target.debtor_url}\n"
            "The harness runs FBS, PSRM, the payment solution, the other vendors' debtor systems and, for each\n"
            "scenario, a real integration engine behind the callback URL.",
            title="Configure the debtor system with these for this run",
        )
    )


def run_verify(
    console: Console, file: Path | None, public_key: str | None, export_public_key: Path | None, now: datetime
) -> int:
    """Check a certificate offline: signature (trusted key), digests (this harness) and dates."""
    try:
        if export_public_key:
            key = harness_key().public_key()
            export_public_key.write_bytes(public_pem(key))
            console.print(f"harness public key {key_id(key)} written to {export_public_key}")
            if file is None:
                return 0
        if file is None:
            return _usage(console, "give the certificate file to verify (or --export-public-key FILE)")
        document = read_certificate(file)
        trusted = trusted_key(public_key)
    except (CertificationError, OSError) as exc:
        return _usage(console, str(exc))
    result = verify(document, trusted, now)
    certificate = result.certificate
    subject = (
        f"{certificate.get('profile')} ({certificate.get('product')}), verdict {certificate.get('verdict')}, "
        f"issued {certificate.get('issued')}, expires {certificate.get('expires')}"
    )
    for note in result.notes:
        console.print(f"note: {note}", soft_wrap=True)
    if result.valid:
        console.print(
            f"[green]VALID[/green]: {file}: {subject}; signed by {key_id(trusted)}; checked {rfc3339(now)}",
            soft_wrap=True,
        )
        return 0
    console.print(f"[red]INVALID[/red]: {file}: {subject}", soft_wrap=True)
    for problem in result.problems:
        console.print(f"  - {problem}", soft_wrap=True)
    return 1
