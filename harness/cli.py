"""The `oir` command line."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="ØiR certification harness: simulators, engine, scenarios and certification.",
    no_args_is_help=True,
    add_completion=False,
)
sim = typer.Typer(
    help="The simulators of FBS, the five debtor-system profiles, PSRM and the payment solution.", no_args_is_help=True
)
app.add_typer(sim, name="sim")
engine_app = typer.Typer(help="The ØiR integration engine.", no_args_is_help=True)
app.add_typer(engine_app, name="engine")
contracts_app = typer.Typer(
    help="Contract checks: Pact verification and schemathesis fuzzing, against the simulators or a URL.",
    no_args_is_help=True,
)
app.add_typer(contracts_app, name="contracts")
console = Console()
err = Console(stderr=True, soft_wrap=True)  # whole lines: operators grep them


@sim.command("serve")
def sim_serve(
    port_base: int = typer.Option(
        0, help="First of eight fixed ports (fbs, psrm, five debtors, payment); 0 = free ports"
    ),
    callback_url: str = typer.Option(None, help="Where debtor simulators deliver DækningAfskrivning callbacks"),
    urls_file: Path = typer.Option(None, help="Also write {system: URL} as JSON to this file once all listen"),
) -> None:
    """Start every simulator as a real server on 127.0.0.1 and print its URL; Ctrl-C stops them."""
    from contracts.profile import PROFILE_NAMES

    from .topology import start_world

    names = ["fbs", "psrm", *[f"debtor-{p}" for p in PROFILE_NAMES], "payment"]
    ports = {name: port_base + i for i, name in enumerate(names)} if port_base else None
    world = start_world(callback_url=callback_url, ports=ports)
    table = Table(title="Simulators (bearer token: oir-dev-token)", caption="Contract of each: URL/openapi.json")
    table.add_column("system", no_wrap=True)
    table.add_column("URL", no_wrap=True)
    table.add_column("contract", no_wrap=True)
    for name, server in world.servers.items():
        contract = (
            "oir-debitor-v3"
            if name.startswith("debtor-")
            else {"fbs": "fbs", "psrm": "psrm-fordringshaver", "payment": "payment"}[name]
        )
        table.add_row(name, server.url, contract)
    console.print(table)
    if urls_file:
        urls_file.write_text(json.dumps({name: server.url for name, server in world.servers.items()}, indent=2))
    console.print("Control plane of each: /_sim/ (contract at /_sim/openapi.json). Ctrl-C stops.")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    world.stop()


@app.command("certify")
def certify(
    profile: list[str] = typer.Option(None, "--profile", help="Profile(s) to certify; default: all five"),
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
) -> None:
    """Certify debtor-system profiles (their simulators, or a vendor's system with --debtor-url) and write
    signed reports; exit 0 certified, 1 not, 2 usage error."""
    from datetime import UTC, datetime

    from .certification.commands import CertifyOptions, run_certify

    if callback_token_file:  # the file wins over the default (and over OIR_CALLBACK_TOKEN)
        callback_token = _secret_file(callback_token_file, "--callback-token-file")
    options = CertifyOptions(
        profiles=profile or [],
        out=out,
        seed=seed,
        max_examples=max_examples,
        debtor_url=debtor_url,
        debtor_token=_secret(debtor_token, debtor_token_file, "--debtor-token"),
        callback_token=callback_token,
        callback_port=callback_port,
        psrm_port=psrm_port,
        callback_timeout=callback_timeout,
        signing_key=signing_key,
        validity_days=validity_days,
        scenarios=scenarios,
    )
    raise typer.Exit(run_certify(console, options, now=datetime.now(UTC)))  # real time: when the run happens


@app.command("verify-certificate")
def verify_certificate(
    file: Path = typer.Argument(None, help="certificate.json to verify", show_default=False),
    public_key: str = typer.Option(
        None,
        envvar="OIR_PUBLIC_KEY",
        show_default=False,
        help="Trusted Ed25519 public key (PEM file or text); default: this harness's own key",
    ),
    export_public_key: Path = typer.Option(
        None, show_default=False, help="Write this harness's public key (PEM) to this file"
    ),
) -> None:
    """Check a certificate offline: signature, digests against this harness, expiry; exit 0 valid, 1 invalid."""
    from datetime import UTC, datetime

    from .certification.commands import run_verify

    now = datetime.now(UTC)  # real time: validity is judged at the moment of checking
    raise typer.Exit(run_verify(console, file, public_key, export_public_key, now))


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
) -> None:
    """The rollout board: per municipality and wave, certificate, route, sortiment and readiness."""
    from datetime import UTC, datetime

    from .rollout import run_rollout

    now = datetime.now(UTC)  # real time: certificates are judged valid or expired as of now
    raise typer.Exit(run_rollout(console, reports, routes, html, public_key, now))


def _pairs(values: list[str] | None, what: str, *, several: bool = False) -> dict[str, str]:
    """NAME=VALUE pairs; with `several`, one value may hold several separated by commas or whitespace
    (as an environment variable or a file of tokens does)."""
    pairs = {}
    for value in [item for v in values or [] for item in v.replace(",", " ").split()] if several else values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            shown = value if "token" not in what else f"{key}{sep}***"
            err.print(f"[red]{what} takes NAME=VALUE, got {shown!r}[/red]")
            raise typer.Exit(2)
        pairs[key] = rest
    return pairs


def _secret_file(path: Path, what: str) -> str:
    """A secret kept in a file (never on the command line, where `ps` shows it); surrounding blanks dropped."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]cannot read {what} {path}: {getattr(exc, 'strerror', None) or exc}[/red]")
        raise typer.Exit(2) from exc
    if not text:
        err.print(f"[red]{what} {path} is empty[/red]")
        raise typer.Exit(2)
    return text


def _secret(value: str | None, file: Path | None, option: str) -> str | None:
    if value and file:
        err.print(f"[red]give {option} or {option}-file, not both[/red]")
        raise typer.Exit(2)
    return _secret_file(file, f"{option}-file") if file else value


@dataclass(frozen=True)
class _EngineSecrets:
    """The engine's secret options, gathered so every engine command takes them alike."""

    token: str | None
    token_file: Path | None
    callback_tokens_file: Path | None
    dev: bool


def _engine_setup(
    db: str,
    fbs_url: str,
    debtor_url: list[str] | None,
    callback_token: list[str] | None,
    header: list[str] | None,
    secrets: _EngineSecrets,
    worker: str | None = None,
    concurrency: int | None = None,
) -> Any:
    from integration import EngineSettings

    callback_tokens = {}
    if secrets.callback_tokens_file:
        lines = _secret_file(secrets.callback_tokens_file, "--callback-tokens-file").splitlines()
        callback_tokens = _pairs(
            [line for line in lines if not line.lstrip().startswith("#")], "--callback-tokens-file", several=True
        )
    callback_tokens.update(_pairs(callback_token, "--callback-token", several=True))
    settings = EngineSettings(
        database_url=db,
        fbs_url=fbs_url,
        debtor_urls=_pairs(debtor_url, "--debtor-url"),
        callback_tokens=callback_tokens,
        extra_headers=_pairs(header, "--header"),
        token=_secret(secrets.token, secrets.token_file, "--token"),
        dev=secrets.dev,
    )
    if worker:  # an option left unsaid keeps the settings' default
        settings.worker = worker
    if concurrency is not None:
        settings.concurrency = concurrency
    return settings


def _build_engine(setup: Any) -> Any:
    """The engine, or exit 2 naming what is missing; a development engine warns on stderr first."""
    problems = setup.problems()
    if problems:
        err.print("[red]refusing to start the engine:[/red]")
        for problem in problems:
            err.print(f"[red]  - {problem}[/red]")
        err.print(
            "Give every secret (or set OIR_ENGINE_TOKEN, OIR_CALLBACK_TOKENS); "
            "for a local world of simulators only: --dev (OIR_DEV=1)."
        )
        raise typer.Exit(2)
    for warning in setup.warnings():
        err.print(f"[bold yellow]WARNING: {warning}[/bold yellow]")
    from integration import build_engine

    return build_engine(setup)


_DB = typer.Option("sqlite:///oir-engine.sqlite", help="SQLAlchemy URL of the engine's database")
_FBS = typer.Option(..., help="FBS base URL")
_DEBTORS = typer.Option(None, "--debtor-url", help="PROFILE=URL of each vendor's debtor system (repeat)")
_TOKENS = typer.Option(
    None,
    "--callback-token",
    envvar="OIR_CALLBACK_TOKENS",
    show_default=False,
    help="PROFILE=TOKEN each vendor presents on callbacks (repeat); required for every --debtor-url",
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
    debtor_url: list[str] = _DEBTORS,
    callback_token: list[str] = _TOKENS,
    callback_tokens_file: Path = _TOKENS_FILE,
    token: str = _TOKEN,
    token_file: Path = _TOKEN_FILE,
    dev: bool = _DEV,
    header: list[str] = _HEADERS,
    concurrency: int = _CONCURRENCY,
) -> None:
    """Run one cycle (read FBS's feed, deliver what is due) and print what it did."""
    secrets = _EngineSecrets(token, token_file, callback_tokens_file, dev)
    setup = _engine_setup(db, fbs_url, debtor_url, callback_token, header, secrets, None, concurrency)
    report = _build_engine(setup).cycle()
    console.print(json.dumps(report.__dict__))


@engine_app.command("reconcile")
def engine_reconcile(
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor_url: list[str] = _DEBTORS,
    callback_token: list[str] = _TOKENS,
    callback_tokens_file: Path = _TOKENS_FILE,
    token: str = _TOKEN,
    token_file: Path = _TOKEN_FILE,
    dev: bool = _DEV,
    header: list[str] = _HEADERS,
    report: Path = typer.Option(Path("reconciliation.json"), help="Where to write the report"),
) -> None:
    """Compare FBS with the debtor systems (B_02), repair lost callbacks, and write a report."""
    secrets = _EngineSecrets(token, token_file, callback_tokens_file, dev)
    engine = _build_engine(_engine_setup(db, fbs_url, debtor_url, callback_token, header, secrets))
    result = engine.reconcile()
    engine.cycle()  # deliver the repairs
    report.write_text(json.dumps(result.as_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    console.print(
        f"{result.claims_checked} claims checked, {len(result.differences)} differences, "
        f"{len(result.unreachable)} unreachable, {len(result.quarantined)} quarantined; report: {report}"
    )


@engine_app.command("quarantine")
def engine_quarantine(
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor_url: list[str] = _DEBTORS,
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
    secrets = _EngineSecrets(token, token_file, callback_tokens_file, dev)
    engine = _build_engine(_engine_setup(db, fbs_url, debtor_url, callback_token, header, secrets))
    try:
        if replay or replay_id:
            sent_back = engine.replay_quarantined(None if replay else list(replay_id))
            report = engine.cycle()
            console.print(f"{sent_back} replayed: {report.delivered} delivered, {report.quarantined} refused again")
        remaining = engine.quarantine_listing()
    finally:
        engine.close()
    print(json.dumps(remaining, indent=2, ensure_ascii=False))
    raise typer.Exit(1 if remaining else 0)


@engine_app.command("migrate")
def engine_migrate(
    extract: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines of open claims"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Trial extract: validate and report only (no tokens needed)"),
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor_url: list[str] = _DEBTORS,
    callback_token: list[str] = _TOKENS,
    callback_tokens_file: Path = _TOKENS_FILE,
    token: str = _TOKEN,
    token_file: Path = _TOKEN_FILE,
    dev: bool = _DEV,
    header: list[str] = _HEADERS,
    report: Path = typer.Option(Path("migration.json"), help="Where to write the report"),
) -> None:
    """Migrate historic open claims: a trial extract (--dry-run) or the final extract (each claim once)."""
    from rich.progress import Progress

    from integration.claim_migration import trial_extract
    from integration.routing import RoutingTable

    secrets = _EngineSecrets(token, token_file, callback_tokens_file, dev)
    setup = _engine_setup(db, fbs_url, debtor_url, callback_token, header, secrets)
    if dry_run:  # sends nothing and serves nothing: the routes alone, no credentials
        result = trial_extract(extract, RoutingTable.from_vendor_urls(setup.debtor_urls))
    else:
        engine = _build_engine(setup)
        with Progress(console=console) as progress:
            task = progress.add_task("final extract", total=None)
            result = engine.migrate(
                extract, progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
    report.write_text(json.dumps(result.as_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    table = Table(title="trial extract (nothing sent)" if dry_run else "final extract")
    for column in ("municipality", "send", "reject", "amount (kr)", "reasons"):
        table.add_column(column, overflow="fold")
    for name, tally in sorted(result.municipalities.items()):
        table.add_row(
            name,
            str(tally.send),
            str(tally.reject),
            f"{tally.amount_oere / 100:.2f}",
            ", ".join(f"{k} ×{v}" for k, v in tally.reasons.items()),
        )
    console.print(table)
    console.print(
        f"report: {report}" + ("" if dry_run else f"; delivered {result.delivered}, pending {result.pending}")
    )
    if not dry_run and result.pending:
        raise typer.Exit(1)


@engine_app.command("serve")
def engine_serve(
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor_url: list[str] = _DEBTORS,
    callback_token: list[str] = _TOKENS,
    callback_tokens_file: Path = _TOKENS_FILE,
    token: str = _TOKEN,
    token_file: Path = _TOKEN_FILE,
    dev: bool = _DEV,
    header: list[str] = _HEADERS,
    host: str = typer.Option("127.0.0.1", help="Where the callback API listens"),
    port: int = typer.Option(0, help="Port of the callback API (0: a free one)"),
    interval: float = typer.Option(1.0, help="Seconds between cycles"),
    worker: str = typer.Option(
        None,
        help="This worker's name among several sharing one database; a restart under the same name "
        "takes its leases back at once",
    ),
    concurrency: int = _CONCURRENCY,
) -> None:
    """Cycle continuously and serve the callback API (oir-fagsystem-v3) until SIGTERM.

    Refuses to start without --token and a --callback-token for every --debtor-url, unless --dev."""
    import logging

    from integration import serve_forever

    from .servers import ServerThread

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    secrets = _EngineSecrets(token, token_file, callback_tokens_file, dev)
    setup = _engine_setup(db, fbs_url, debtor_url, callback_token, header, secrets, worker, concurrency)
    engine = _build_engine(setup)
    api = ServerThread(engine.api(), name="engine-api", host=host, port=port)
    serve_forever(engine, interval=interval, api=api)


@app.command("run")
def run(
    paths: list[Path] = typer.Argument(..., help="Scenario files or folders (e.g. scenarios/suites)"),
    profile: list[str] = typer.Option(None, "--profile", help="Profile(s) to run against; default: all five"),
    report: Path = typer.Option(None, help="Write index.html, results.json and evidence/*.har here"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every step"),
) -> None:
    """Run scenarios against the simulated world; exit 0 all passed, 1 not, 2 an authoring or usage error."""
    from .scenario_run import run_paths

    raise typer.Exit(run_paths(console, paths, profile, report, verbose))


@contracts_app.command("verify")
def contracts_verify(
    provider: str = typer.Option(
        None,
        show_default=False,
        help="Contract (oir-debitor-v3, fbs, psrm-fordringshaver, oir-fagsystem-v3) or local system "
        "(debtor-PROFILE, fbs, psrm, engine); default: every provider, started locally",
    ),
    profile: str = typer.Option(
        None, show_default=False, help="Debtor profile whose capabilities choose the pacts (B_03 only with payment)"
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

    token = _secret_file(token_file, "--token-file") if token_file else token
    raise typer.Exit(
        run_verify(
            console,
            provider=provider,
            profile=profile,
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
    failed. Exit 0 pass, 1 fail, 2 usage error."""
    from .contract_commands import run_fuzz

    token = _secret_file(token_file, "--token-file") if token_file else token
    raise typer.Exit(run_fuzz(console, spec=spec, url=url, token=token, max_examples=max_examples, seed=seed, out=out))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
