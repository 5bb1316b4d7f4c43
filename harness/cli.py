"""The `oir` command line: only the declarations (options, help texts, environment variables), each
command one call to its options-to-exit-code function — `certification/commands.py`,
`contract_commands.py`, `engine_commands.py`, `sim_commands.py`, `scenario_run.py`, `rollout.py`,
`service/commands.py`."""

from __future__ import annotations

import gc
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from contracts.profile import PROFILE_NAMES

from .command_options import OUTPUT, OutputFormat, refuse_empty_env, secret, secret_file, show_version

if TYPE_CHECKING:
    ProfileName = str
else:  # a choice: --help lists the profiles, and a misspelt one is a usage error naming them
    ProfileName = StrEnum("ProfileName", {name: name for name in PROFILE_NAMES})
PROFILES = ", ".join(PROFILE_NAMES)

# Plain help and errors (rich_markup_mode=None: no rich panels): a flag is shown as a flag (`-v, --verbose`,
# never `<bool>`), and a usage error is one `Error: …` line that a CI log keeps whole.
app = typer.Typer(
    help="ØiR certification harness: simulators, engine, scenarios and certification.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
sim = typer.Typer(
    help="The simulators of FBS, the five debtor-system profiles, PSRM and the payment solution.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(sim, name="sim")
engine_app = typer.Typer(help="The ØiR integration engine.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(engine_app, name="engine")
contracts_app = typer.Typer(
    help="Contract checks: Pact verification and schemathesis fuzzing, against the simulators or a URL.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(contracts_app, name="contracts")
console = Console()


@app.callback()
def _oir(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=show_version, help="Show the harness's version and exit."
    ),
) -> None:
    """ØiR certification harness: simulators, engine, scenarios and certification."""


@sim.command("serve")
def sim_serve(
    port_base: int = typer.Option(
        0,
        min=0,
        max=65535 - 7,
        help="First of eight fixed ports (fbs, psrm, five debtors, payment); 0 = free ports",
    ),
    callback_url: str = typer.Option(None, help="Where debtor simulators deliver DækningAfskrivning callbacks"),
    urls_file: Path = typer.Option(None, help="Also write {system: URL} as JSON to this file once all listen"),
) -> None:
    """Start every simulator as a real server on 127.0.0.1 and print its URL; Ctrl-C stops them."""
    from .sim_commands import run_serve

    raise typer.Exit(run_serve(console, port_base, callback_url, urls_file))


@app.command("certify")
def certify(
    profile: list[ProfileName] = typer.Option(
        None, "--profile", metavar="PROFILE", help=f"Profile(s) to certify (repeat): {PROFILES}; default: all five"
    ),
    out: Path = typer.Option(Path("reports"), help="Folder for the report folders (one per profile)"),
    seed: int = typer.Option(20261124, help="Seed for the contract fuzzing, so a run can be reproduced"),
    max_examples: int = typer.Option(10, min=1, help="Examples per operation in the contract fuzzing"),
    debtor_url: str = typer.Option(
        None, help="A vendor's debtor system to certify instead of the profile's simulator (one --profile)"
    ),
    debtor_token: str = typer.Option(
        None, envvar="OIR_DEBTOR_TOKEN", show_default=False, help="Bearer token for the vendor's debtor system"
    ),
    debtor_token_file: Path = typer.Option(
        None, dir_okay=False, show_default=False, help="Read --debtor-token from this file"
    ),
    callback_token: str = typer.Option(
        "certification-callback-token",
        envvar="OIR_CALLBACK_TOKEN",
        help="Token the debtor system must present on DækningAfskrivning callbacks",
    ),
    callback_token_file: Path = typer.Option(
        None, dir_okay=False, show_default=False, help="Read --callback-token from this file"
    ),
    callback_port: int = typer.Option(0, min=0, max=65535, help="Fixed port of the callback receiver (0: free)"),
    psrm_port: int = typer.Option(0, min=0, max=65535, help="Fixed port of the PSRM simulator (0: free)"),
    bind: str = typer.Option(
        "127.0.0.1",
        envvar="OIR_BIND",
        metavar="HOST",
        help="Address PSRM and the callback receiver listen on (0.0.0.0: every interface)",
    ),
    callback_url: str = typer.Option(
        None,
        "--callback-url",
        envvar="OIR_CALLBACK_URL",
        metavar="URL",
        show_default=False,
        help="The callback receiver's URL as the vendor's system reaches it (a tunnel, a proxy); "
        "default: the bound address; needs --callback-port",
    ),
    psrm_url: str = typer.Option(
        None,
        envvar="OIR_PSRM_URL",
        metavar="URL",
        show_default=False,
        help="PSRM's URL as the vendor's system reaches it; default: the bound address; needs --psrm-port",
    ),
    callback_timeout: float = typer.Option(20.0, min=0.1, help="Seconds to wait for a payment callback"),
    signing_key: str = typer.Option(
        None,
        envvar="OIR_SIGNING_KEY",
        show_default=False,
        help="Ed25519 private key (PEM file or PEM text) that signs certificates; default: the harness key",
    ),
    validity_days: int = typer.Option(180, min=1, help="Days a certificate stays valid"),
    scenarios: bool = typer.Option(
        True,
        "--scenarios/--no-scenarios",
        help="Also run the profile's bundled scenarios end to end (against a vendor's system: those that can meet one)",
    ),
    wait: bool = typer.Option(
        True,
        "--wait/--no-wait",
        help="Against a vendor's system: a check that needs the next business day waits for it in a session "
        "(resume with --resume); --no-wait: such checks are not run and the run completes now",
    ),
    resume: str = typer.Option(
        None,
        metavar="SESSION",
        show_default=False,
        help="Continue a waiting certification session (its profile, system, ports and report folder)",
    ),
    resume_early: bool = typer.Option(
        False, "--resume-early", help="With --resume: run the waiting checks before their resume time"
    ),
    new_session: bool = typer.Option(
        False, "--new-session", help="Start a new session although one of this profile and system waits (abandons it)"
    ),
    only: list[str] = typer.Option(
        None,
        "--only",
        metavar="CHECK",
        show_default=False,
        help="Run only this check (repeat): its name in the report (schemathesis, a probe, 'pact …', "
        "'scenario <id>' or the id) or a pattern ('pact *'); the others are not run, never passed; no certificate",
    ),
    last_failed: bool = typer.Option(
        False,
        "--last-failed",
        help="Re-run only the checks that failed in the profile's last report under --out; no certificate",
    ),
    foreign_token: str = typer.Option(
        None,
        envvar="OIR_FOREIGN_TOKEN",
        show_default=False,
        help="A token the vendor issued to another municipality or fagsystem: it must not act for this one",
    ),
    foreign_token_file: Path = typer.Option(
        None, dir_okay=False, show_default=False, help="Read --foreign-token from this file"
    ),
    test_control: bool = typer.Option(
        False,
        "--test-control",
        envvar="OIR_TEST_CONTROL",
        help="The vendor's test system offers test control (oir-testkontrol-v1): its business date moves, "
        "bank transfers and what it sent are readable, so the scenarios that need them run (with --debtor-url)",
    ),
    service: str = typer.Option(
        None,
        "--service",
        metavar="URL",
        show_default=False,
        help="Certify on KOMBIT's certification service instead of here: start a run of --system there, follow "
        "it, print its verdict (the service's settings apply; the options of a local run are not used)",
    ),
    system: str = typer.Option(
        None, "--system", metavar="NAME_OR_ID", show_default=False, help="With --service: your registered test system"
    ),
    token: str = typer.Option(
        None,
        "--token",
        envvar="OIR_SERVICE_TOKEN",
        show_default=False,
        help="With --service: its API token (oir service admin create-token)",
    ),
    token_file: Path = typer.Option(
        None, dir_okay=False, show_default=False, help="With --service: read --token from this file"
    ),
) -> None:
    """Certify debtor-system profiles (their simulators, or a vendor's system with --debtor-url) and write
    signed reports — or, with --service, a registered test system on KOMBIT's service; exit 0 certified,
    1 not, 2 usage error or a check that could not exercise the system, 3 a session waits for the next bank day."""
    from datetime import UTC, datetime

    from .certification.commands import CertifyOptions, run_certify

    if service is not None:
        from .service.client import run_certify_on_service

        refuse_empty_env("OIR_SERVICE_TOKEN")
        local = {"--debtor-url": debtor_url, "--resume": resume, "--only": only, "--last-failed": last_failed}
        given = [name for name, value in local.items() if value]
        if given or len(profile or []) > 1:
            console.print(
                f"[red]error:[/red] --service runs on the service: {', '.join(given) or 'several --profile'} "
                "belong to a local run",
                soft_wrap=True,
            )
            raise typer.Exit(2)
        chosen = str(profile[0]) if profile else None
        service_token = secret(token, token_file, "--token")
        raise typer.Exit(run_certify_on_service(console, service, service_token, system, chosen, 24 * 3600.0))
    if system is not None or token_file is not None:
        console.print(
            f"[red]error:[/red] {'--system' if system is not None else '--token-file'} is for a run on KOMBIT's "
            "service: it needs --service URL",
            soft_wrap=True,
        )
        raise typer.Exit(2)

    refuse_empty_env("OIR_DEBTOR_TOKEN", "OIR_CALLBACK_TOKEN", "OIR_SIGNING_KEY")  # a missing CI secret
    if callback_token_file:  # the file wins over the default (and over OIR_CALLBACK_TOKEN)
        callback_token = secret_file(callback_token_file, "--callback-token-file")
    options = CertifyOptions(
        profiles=[str(p) for p in profile or []],
        out=out,
        seed=seed,
        max_examples=max_examples,
        debtor_url=debtor_url,
        debtor_token=secret(debtor_token, debtor_token_file, "--debtor-token"),
        callback_token=callback_token,
        callback_port=callback_port,
        psrm_port=psrm_port,
        callback_timeout=callback_timeout,
        signing_key=signing_key,
        validity_days=validity_days,
        scenarios=scenarios,
        wait=wait,
        resume=resume,
        resume_early=resume_early,
        new_session=new_session,
        bind=bind,
        callback_url=callback_url,
        psrm_url=psrm_url,
        only=tuple(only or ()),
        last_failed=last_failed,
        foreign_token=secret(foreign_token, foreign_token_file, "--foreign-token"),
        test_control=test_control,
    )
    raise typer.Exit(run_certify(console, options, now=datetime.now(UTC)))  # real time: when the run happens


@app.command("verify-certificate")
def verify_certificate(
    file: Path = typer.Argument(None, help="certificate.json to verify", show_default=False),
    public_key: str = typer.Option(
        None,
        envvar="OIR_PUBLIC_KEY",
        show_default=False,
        help="Trusted Ed25519 public key (PEM file or text); default: this harness's own public key file "
        "($OIR_HOME/signing-key.pub.pem; the private key is never read)",
    ),
    export_public_key: Path = typer.Option(
        None, show_default=False, help="Write this harness's public key (PEM) to this file"
    ),
    output: OutputFormat = OUTPUT,
) -> None:
    """Check a certificate offline: signature, digests against this harness, expiry, and whether its verdict
    is a pass. Exit 0 valid and a pass, 1 invalid, 3 valid but not a pass (NOT_CERTIFIED), 2 usage error."""
    from datetime import UTC, datetime

    from .certification.commands import run_verify

    refuse_empty_env("OIR_PUBLIC_KEY")
    now = datetime.now(UTC)  # real time: validity is judged at the moment of checking
    raise typer.Exit(run_verify(console, file, public_key, export_public_key, now, output.value))


@app.command("rollout")
def rollout(
    reports: Path = typer.Option(Path("reports"), help="Folder searched for certificate.json files"),
    routes: Path = typer.Option(
        None,
        show_default=False,
        help="Routes file (YAML: vendors: {profile: URL}, municipalities: {code: overrides}); "
        "default: the simulated world, every route configured",
    ),
    html: Path = typer.Option(None, show_default=False, help="Also write the board as a self-contained HTML page"),
    public_key: str = typer.Option(
        None,
        envvar="OIR_PUBLIC_KEY",
        show_default=False,
        help="Trusted Ed25519 public key for the certificates (PEM file or text); default: this harness's own",
    ),
    wave: list[int] = typer.Option(
        None,
        "--wave",
        metavar="N",
        show_default=False,
        help="Gate on this wave (1-4, repeat): show it alone, exit 1 unless every municipality in it is READY",
    ),
    output: OutputFormat = OUTPUT,
) -> None:
    """The rollout board: per wave and vendor, certificate, route, sortiment and readiness. Exit 0 when
    made (with --wave: only when that wave is ready, else 1), 2 on a usage error."""
    from datetime import UTC, datetime

    from .command_options import writable
    from .rollout import run_rollout

    refuse_empty_env("OIR_PUBLIC_KEY")
    if html is not None:
        writable(html, "--html")  # before the board is built, not after it was printed
    now = datetime.now(UTC)  # real time: certificates are judged valid or expired as of now
    raise typer.Exit(run_rollout(console, reports, routes, html, public_key, now, wave or [], output.value))


_DB = typer.Option("sqlite:///oir-engine.sqlite", help="SQLAlchemy URL of the engine's database")
_FBS = typer.Option(..., help="FBS base URL")
_DEBTORS = typer.Option(
    None,
    "--debtor",
    metavar="PROFILE=URL",
    help=f"Each vendor's debtor system (repeat), by profile ({PROFILES})",
)
# The old spelling, kept working with a deprecation line: `--debtor-url` is a plain URL for `oir certify`.
_DEBTORS_OLD = typer.Option(None, "--debtor-url", hidden=True)
_TOKENS = typer.Option(
    None,
    "--callback-token",
    envvar="OIR_CALLBACK_TOKENS",
    show_default=False,
    help="PROFILE=TOKEN each vendor presents on callbacks (repeat); required for every --debtor",
)
_TOKENS_FILE = typer.Option(
    None, dir_okay=False, show_default=False, help="File of PROFILE=TOKEN lines (instead of --callback-token)"
)
_TOKEN = typer.Option(
    None,
    "--token",
    envvar="OIR_ENGINE_TOKEN",
    show_default=False,
    help="The engine's bearer token at FBS and every debtor system (required unless --dev)",
)
_TOKEN_FILE = typer.Option(None, dir_okay=False, show_default=False, help="Read --token from this file")
_DEV = typer.Option(
    False,
    "--dev",
    envvar="OIR_DEV",
    help="Local development against the simulators: a missing token becomes the public 'oir-dev-token' "
    "(trusted on callbacks!), with a warning on stderr, in the log and in /health",
)
_HEADERS = typer.Option(None, "--header", help="NAME=VALUE added to every outgoing call, e.g. X-Sim-Session=s1")
_CONCURRENCY = typer.Option(8, min=1, help="Deliveries in flight at once (1: one message at a time)")


@engine_app.command("cycle")
def engine_cycle(
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor: list[str] = _DEBTORS,
    debtor_url: list[str] = _DEBTORS_OLD,
    callback_token: list[str] = _TOKENS,
    callback_tokens_file: Path = _TOKENS_FILE,
    token: str = _TOKEN,
    token_file: Path = _TOKEN_FILE,
    dev: bool = _DEV,
    header: list[str] = _HEADERS,
    concurrency: int = _CONCURRENCY,
) -> None:
    """Run one cycle (read FBS's feed, deliver what is due) and print what it did."""
    from .engine_commands import EngineOptions, debtors, run_cycle

    options = EngineOptions(
        db, fbs_url, debtors(debtor, debtor_url), callback_token, callback_tokens_file, token, token_file, dev, header
    )
    raise typer.Exit(run_cycle(console, options, concurrency))


@engine_app.command("reconcile")
def engine_reconcile(
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor: list[str] = _DEBTORS,
    debtor_url: list[str] = _DEBTORS_OLD,
    callback_token: list[str] = _TOKENS,
    callback_tokens_file: Path = _TOKENS_FILE,
    token: str = _TOKEN,
    token_file: Path = _TOKEN_FILE,
    dev: bool = _DEV,
    header: list[str] = _HEADERS,
    report: Path = typer.Option(Path("reconciliation.json"), help="Where to write the report"),
) -> None:
    """Compare FBS with the debtor systems (B_02), repair lost callbacks, and write a report."""
    from .engine_commands import EngineOptions, debtors, run_reconcile

    options = EngineOptions(
        db, fbs_url, debtors(debtor, debtor_url), callback_token, callback_tokens_file, token, token_file, dev, header
    )
    raise typer.Exit(run_reconcile(console, options, report))


@engine_app.command("quarantine")
def engine_quarantine(
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor: list[str] = _DEBTORS,
    debtor_url: list[str] = _DEBTORS_OLD,
    callback_token: list[str] = _TOKENS,
    callback_tokens_file: Path = _TOKENS_FILE,
    token: str = _TOKEN,
    token_file: Path = _TOKEN_FILE,
    dev: bool = _DEV,
    header: list[str] = _HEADERS,
    replay: bool = typer.Option(False, "--replay", help="Send every quarantined message to FBS again"),
    replay_id: list[int] = typer.Option(None, "--replay-id", help="Send this quarantined message again (repeat)"),
) -> None:
    """What FBS refused (payments, write-offs, status notices), kept until replayed; exit 1 while any remain."""
    from .engine_commands import EngineOptions, debtors, run_quarantine

    options = EngineOptions(
        db, fbs_url, debtors(debtor, debtor_url), callback_token, callback_tokens_file, token, token_file, dev, header
    )
    raise typer.Exit(run_quarantine(console, options, replay, replay_id))


@engine_app.command("migrate")
def engine_migrate(
    extract: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines of open claims"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Trial extract: validate and report only (no tokens needed)"),
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor: list[str] = _DEBTORS,
    debtor_url: list[str] = _DEBTORS_OLD,
    callback_token: list[str] = _TOKENS,
    callback_tokens_file: Path = _TOKENS_FILE,
    token: str = _TOKEN,
    token_file: Path = _TOKEN_FILE,
    dev: bool = _DEV,
    header: list[str] = _HEADERS,
    report: Path = typer.Option(Path("migration.json"), help="Where to write the report"),
    feed_from: str = typer.Option(
        None,
        "--feed-from",
        metavar="CURSOR",
        show_default=False,
        envvar="OIR_FEED_FROM",
        help="The extract's cut-off (FBS's feed cursor when it wrote the extract, e.g. c-00001234): the "
        "engine's feed starts there, so nothing in the extract is sent again and nothing after it is missed",
    ),
) -> None:
    """Migrate historic open claims with their history (original amount, write-downs, SRB, reminders): a
    trial extract (--dry-run) or the final extract (each claim once)."""
    from .engine_commands import EngineOptions, debtors, run_migrate

    if feed_from is not None and not re.fullmatch(r"c-[0-9]{8}", feed_from):
        typer.echo(
            f"error: --feed-from {feed_from!r} is no FBS feed cursor (c- and 8 digits, as the extract gives it)",
            err=True,
        )
        raise typer.Exit(2)

    options = EngineOptions(
        db, fbs_url, debtors(debtor, debtor_url), callback_token, callback_tokens_file, token, token_file, dev, header
    )
    raise typer.Exit(run_migrate(console, options, extract, dry_run, report, feed_from))


@engine_app.command("serve")
def engine_serve(
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor: list[str] = _DEBTORS,
    debtor_url: list[str] = _DEBTORS_OLD,
    callback_token: list[str] = _TOKENS,
    callback_tokens_file: Path = _TOKENS_FILE,
    token: str = _TOKEN,
    token_file: Path = _TOKEN_FILE,
    dev: bool = _DEV,
    header: list[str] = _HEADERS,
    host: str = typer.Option("127.0.0.1", help="Where the callback API listens"),
    port: int = typer.Option(0, min=0, max=65535, help="Port of the callback API (0: a free one)"),
    interval: float = typer.Option(1.0, min=0.01, help="Seconds between cycles"),
    worker: str = typer.Option(
        None,
        help="This worker's name among several sharing one database; a restart under the same name "
        "takes its leases back at once",
    ),
    concurrency: int = _CONCURRENCY,
) -> None:
    """Cycle continuously and serve the callback API (oir-fagsystem-v3) until SIGTERM.

    Refuses to start without --token and a --callback-token for every --debtor, unless --dev."""
    from .engine_commands import EngineOptions, debtors, run_serve

    options = EngineOptions(
        db, fbs_url, debtors(debtor, debtor_url), callback_token, callback_tokens_file, token, token_file, dev, header
    )
    raise typer.Exit(run_serve(options, host, port, interval, worker, concurrency))


@app.command("run")
def run(
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH", help="Scenario files (named *.scenario.yaml) or folders of them (e.g. scenarios/suites)"
    ),
    profile: list[ProfileName] = typer.Option(
        None,
        "--profile",
        metavar="PROFILE",
        help=f"Profile(s) to run against (repeat): {PROFILES}; default: all five",
    ),
    keyword: str = typer.Option(
        None,
        "-k",
        metavar="EXPR",
        show_default=False,
        help="Only runs whose id[profile], file name or tags match, as pytest's -k: 'payment and not eg'",
    ),
    tag: list[str] = typer.Option(
        None, "--tag", metavar="TAG", show_default=False, help="Only scenarios with this tag (repeat: any)"
    ),
    fail_fast: bool = typer.Option(False, "--fail-fast", "-x", help="Stop at the first run that does not pass"),
    report: Path = typer.Option(None, help="Write index.html, results.json and evidence/*.har here"),
    junit: Path = typer.Option(None, show_default=False, help="Also write JUnit XML to this file"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every step"),
) -> None:
    """Run scenarios against the simulated world; every authoring error of every file is shown first.
    Exit 0 all passed, 1 not (or none chosen), 2 an authoring or usage error."""
    from .scenario_run import run_paths

    raise typer.Exit(
        run_paths(
            console,
            paths,
            [str(p) for p in profile or []],
            report,
            verbose,
            keyword=keyword,
            tags=tag,
            fail_fast=fail_fast,
            junit=junit,
        )
    )


@contracts_app.command("verify")
def contracts_verify(
    provider: str = typer.Option(
        None,
        show_default=False,
        help="Contract (oir-debitor-v3, fbs, psrm-fordringshaver, oir-fagsystem-v3) or local system "
        "(debtor-PROFILE, fbs, psrm, engine); default: every provider, started locally",
    ),
    profile: ProfileName = typer.Option(
        None,
        metavar="PROFILE",
        show_default=False,
        help=f"Debtor profile whose capabilities choose the pacts (B_03 only with payment): {PROFILES}",
    ),
    url: str = typer.Option(None, show_default=False, help="Verify the system at this URL (needs --provider)"),
    token: str = typer.Option("oir-dev-token", envvar="OIR_PROVIDER_TOKEN", help="Bearer token for --url"),
    token_file: Path = typer.Option(None, dir_okay=False, show_default=False, help="Read --token from this file"),
    municipality_cvr: str = typer.Option(
        None, show_default=False, help="Municipality the system at --url serves (default: one of the profile's)"
    ),
    report: Path = typer.Option(None, show_default=False, help="Also write the results as JSON to this file"),
) -> None:
    """Verify the committed consumer pacts; per interaction what failed, with requirement IDs.
    Exit 0 all held, 1 one failed, 2 usage error."""
    from .contract_commands import run_verify

    token = secret_file(token_file, "--token-file") if token_file else token
    raise typer.Exit(
        run_verify(
            console,
            provider=provider,
            profile=str(profile) if profile else None,
            url=url,
            token=token,
            municipality_cvr=municipality_cvr,
            report=report,
        )
    )


@contracts_app.command("fuzz")
def contracts_fuzz(
    spec: str = typer.Option(
        None, show_default=False, help="oir-debitor-v3, fbs, psrm-fordringshaver or payment; default: every spec"
    ),
    url: str = typer.Option(None, show_default=False, help="Fuzz the system at this URL (needs --spec)"),
    token: str = typer.Option("oir-dev-token", envvar="OIR_PROVIDER_TOKEN", help="Bearer token for --url"),
    token_file: Path = typer.Option(None, dir_okay=False, show_default=False, help="Read --token from this file"),
    max_examples: int = typer.Option(10, min=1, help="Examples per operation"),
    seed: int = typer.Option(20261124, help="Seed, so a run can be reproduced"),
    out: Path = typer.Option(None, show_default=False, help="Folder for the logs (default: a temporary folder)"),
) -> None:
    """Fuzz a contract with schemathesis (all checks) against the simulators or --url; per operation what
    failed, with a curl line. Exit 0 pass, 1 fail, 2 usage error or a run that could not exercise the system."""
    from .contract_commands import run_fuzz

    token = secret_file(token_file, "--token-file") if token_file else token
    raise typer.Exit(run_fuzz(console, spec=spec, url=url, token=token, max_examples=max_examples, seed=seed, out=out))


service_app = typer.Typer(
    help="KOMBIT's certification service: vendors run certifications, KOMBIT reviews and signs, the board is live.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(service_app, name="service")
service_admin = typer.Typer(help="Organisations, people and API tokens of the service.", no_args_is_help=True)
service_app.add_typer(service_admin, name="admin")


class OrgKind(StrEnum):
    vendor = "vendor"
    kombit = "kombit"


class Role(StrEnum):
    vendor = "vendor"
    reviewer = "reviewer"
    admin = "admin"


_DATA_DIR = typer.Option(
    None,
    "--data-dir",
    envvar="OIR_SERVICE_DATA",
    show_default=False,
    help="The service's folder (database, runs' report folders, keys); default: $OIR_HOME/service",
)
_DATABASE_URL = typer.Option(
    None,
    "--database-url",
    envvar="OIR_SERVICE_DATABASE_URL",
    show_default=False,
    help="SQLAlchemy URL (sqlite:///…, postgresql+psycopg://…); default: SQLite in the data dir",
)


@service_app.command("serve")
def service_serve(
    bind: str = typer.Option(
        "127.0.0.1", "--bind", metavar="HOST", help="Address to listen on (0.0.0.0: every interface)"
    ),
    port: int = typer.Option(8080, min=0, max=65535, help="Port to listen on (0: a free one)"),
    database_url: str = _DATABASE_URL,
    workers: int = typer.Option(2, min=1, max=64, help="Certification runs at once (each its own process); more wait"),
    data_dir: Path = _DATA_DIR,
    trial: bool = typer.Option(
        False, "--trial", help="A trial service: approved certificates of simulated test systems count on the board"
    ),
    advertise_host: str = typer.Option(
        None,
        "--advertise-host",
        metavar="HOST",
        show_default=False,
        help="Vendors' systems elsewhere reach the runs at this host: each test system gets two fixed ports "
        "from --run-ports, and its page shows the URLs to configure (default: runs listen on 127.0.0.1 only)",
    ),
    run_ports: str = typer.Option(
        None,
        "--run-ports",
        metavar="FIRST-LAST",
        show_default=False,
        help="The pool of the test systems' ports, e.g. 9100-9199 (two per system: callback and PSRM)",
    ),
    run_bind: str = typer.Option(
        None,
        "--run-bind",
        metavar="HOST",
        show_default=False,
        help="Address the runs' PSRM and callback receiver listen on, with --advertise-host (default 0.0.0.0)",
    ),
) -> None:
    """Start the service (pages and HTTP API) with its workers; Ctrl-C stops it."""
    from .service.commands import config, remote, run_serve

    options = remote(config(data_dir, database_url, workers, trial), advertise_host, run_ports, run_bind)
    raise typer.Exit(run_serve(console, options, bind, port))


@service_app.command("start-run")
def service_start_run(
    url: str = typer.Option(..., "--url", help="The service's URL, e.g. https://certificering.kombit.example"),
    system: int = typer.Option(..., "--system", min=1, help="The test system's id (its page, or GET /api/systems)"),
    token: str = typer.Option(
        None, envvar="OIR_SERVICE_TOKEN", show_default=False, help="API token (oir service admin create-token)"
    ),
    token_file: Path = typer.Option(None, dir_okay=False, show_default=False, help="Read --token from this file"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow the run to its end (exit 0 certified, 1 not)"),
    timeout: float = typer.Option(3600.0, min=1, help="Seconds --wait waits at most"),
) -> None:
    """Start a certification run on KOMBIT's service from CI, and (--wait) follow it to its end."""
    from .service.client import run_start_run

    refuse_empty_env("OIR_SERVICE_TOKEN")
    raise typer.Exit(run_start_run(console, url, system, secret(token, token_file, "--token"), wait, timeout))


@service_admin.command("create-org")
def service_create_org(
    name: str = typer.Argument(..., help="The organisation's name, e.g. KMD or KOMBIT"),
    kind: OrgKind = typer.Option(..., "--kind", help="vendor or kombit"),
    data_dir: Path = _DATA_DIR,
    database_url: str = _DATABASE_URL,
) -> None:
    """Create an organisation: a vendor, or KOMBIT."""
    from .service.commands import config, run_create_org

    raise typer.Exit(run_create_org(console, config(data_dir, database_url), name, kind.value))


@service_admin.command("create-user")
def service_create_user(
    email: str = typer.Argument(..., help="The person's e-mail address (their sign-in name)"),
    org: str = typer.Option(..., "--org", help="Their organisation (create-org first)"),
    role: Role = typer.Option(..., "--role", help="vendor (a vendor organisation's), reviewer or admin (KOMBIT's)"),
    password_file: Path = typer.Option(
        None, dir_okay=False, show_default=False, help="Read the password from this file (default: from stdin)"
    ),
    data_dir: Path = _DATA_DIR,
    database_url: str = _DATABASE_URL,
) -> None:
    """Create a person; the password is read from stdin or --password-file, never given as an argument."""
    from .service.commands import config, run_create_user

    raise typer.Exit(run_create_user(console, config(data_dir, database_url), email, org, role.value, password_file))


@service_admin.command("create-token")
def service_create_token(
    user: str = typer.Option(..., "--user", metavar="EMAIL", help="Whose token it is (it acts with their rights)"),
    name: str = typer.Option("ci", "--name", help="What the token is for, e.g. the CI pipeline's name"),
    data_dir: Path = _DATA_DIR,
    database_url: str = _DATABASE_URL,
) -> None:
    """Create an API token for CI: printed once on stdout, stored only hashed."""
    from .service.commands import config, run_create_token

    raise typer.Exit(run_create_token(console, config(data_dir, database_url), user, name))


def main() -> None:
    try:
        app()
    finally:
        # Every object is about to go with the process: spare the interpreter's last collections, which walk
        # them all (0.3-0.7 s of the end of a command that ran simulators). Exit handlers still run.
        gc.freeze()


if __name__ == "__main__":
    main()
