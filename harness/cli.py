"""The `oir` command line."""

from __future__ import annotations

import json
import signal
import threading
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


@sim.command("serve")
def sim_serve(
    port_base: int = typer.Option(
        0, help="First of eight fixed ports (fbs, psrm, five debtors, payment); 0 = free ports"
    ),
    callback_url: str = typer.Option(None, help="Where debtor simulators deliver DækningAfskrivning callbacks"),
    urls_file: Path = typer.Option(None, help="Also write {system: URL} as JSON to this file once all listen"),
) -> None:
    """Start every simulator as a real server on 127.0.0.1 and print its URL; Ctrl-C stops them."""
    from simulators.debtor.profile import PROFILE_NAMES

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
    callback_token: str = typer.Option(
        "certification-callback-token",
        envvar="OIR_CALLBACK_TOKEN",
        help="Token the debtor system must present on DækningAfskrivning callbacks",
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

    options = CertifyOptions(
        profiles=profile or [],
        out=out,
        seed=seed,
        max_examples=max_examples,
        debtor_url=debtor_url,
        debtor_token=debtor_token,
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


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            console.print(f"[red]{what} takes NAME=VALUE, got {value!r}[/red]")
            raise typer.Exit(2)
        pairs[key] = rest
    return pairs


def _engine_setup(
    db: str,
    fbs_url: str,
    debtor_url: list[str] | None,
    callback_token: list[str] | None,
    header: list[str] | None,
    worker: str | None = None,
    concurrency: int | None = None,
) -> Any:
    from integration.runner import EngineSetup

    return EngineSetup(
        database_url=db,
        fbs_url=fbs_url,
        debtor_urls=_pairs(debtor_url, "--debtor-url"),
        callback_tokens=_pairs(callback_token, "--callback-token"),
        extra_headers=_pairs(header, "--header"),
        worker=worker,
        concurrency=concurrency,
    )


_DB = typer.Option("sqlite:///oir-engine.sqlite", help="SQLAlchemy URL of the engine's database")
_FBS = typer.Option(..., help="FBS base URL")
_DEBTORS = typer.Option(None, "--debtor-url", help="PROFILE=URL of each vendor's debtor system (repeat)")
_TOKENS = typer.Option(None, "--callback-token", help="PROFILE=TOKEN each vendor presents on callbacks (repeat)")
_HEADERS = typer.Option(None, "--header", help="NAME=VALUE added to every outgoing call, e.g. X-Sim-Session=s1")
_CONCURRENCY = typer.Option(8, min=1, help="Deliveries in flight at once (1: one message at a time)")


@engine_app.command("cycle")
def engine_cycle(
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor_url: list[str] = _DEBTORS,
    callback_token: list[str] = _TOKENS,
    header: list[str] = _HEADERS,
    concurrency: int = _CONCURRENCY,
) -> None:
    """Run one cycle (read FBS's feed, deliver what is due) and print what it did."""
    report = _engine_setup(db, fbs_url, debtor_url, callback_token, header, None, concurrency).build().cycle()
    console.print(json.dumps(report.__dict__))


@engine_app.command("reconcile")
def engine_reconcile(
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor_url: list[str] = _DEBTORS,
    callback_token: list[str] = _TOKENS,
    header: list[str] = _HEADERS,
    report: Path = typer.Option(Path("reconciliation.json"), help="Where to write the report"),
) -> None:
    """Compare FBS with the debtor systems (B_02), repair lost callbacks, and write a report."""
    from integration.reconcile import reconcile

    engine = _engine_setup(db, fbs_url, debtor_url, callback_token, header).build()
    result = reconcile(engine)
    engine.cycle()  # deliver the repairs
    report.write_text(json.dumps(result.as_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    console.print(
        f"{result.claims_checked} claims checked, {len(result.differences)} differences, "
        f"{len(result.unreachable)} unreachable; report: {report}"
    )


@engine_app.command("migrate")
def engine_migrate(
    extract: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines of open claims"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Trial extract: validate and report only"),
    db: str = _DB,
    fbs_url: str = _FBS,
    debtor_url: list[str] = _DEBTORS,
    callback_token: list[str] = _TOKENS,
    header: list[str] = _HEADERS,
    report: Path = typer.Option(Path("migration.json"), help="Where to write the report"),
) -> None:
    """Migrate historic open claims: a trial extract (--dry-run) or the final extract (each claim once)."""
    from rich.progress import Progress

    from integration.migration import final_extract, trial_extract

    engine = _engine_setup(db, fbs_url, debtor_url, callback_token, header).build()
    if dry_run:
        result = trial_extract(extract, engine.routes)
    else:
        with Progress(console=console) as progress:
            task = progress.add_task("final extract", total=None)
            result = final_extract(
                extract, engine, lambda done, total: progress.update(task, completed=done, total=total)
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
    """Cycle continuously and serve the callback API (oir-fagsystem-v3) until SIGTERM."""
    import logging

    from integration.api import create_engine_api
    from integration.runner import serve_forever

    from .servers import ServerThread

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    engine = _engine_setup(db, fbs_url, debtor_url, callback_token, header, worker, concurrency).build()
    api = ServerThread(create_engine_api(engine), name="engine-api", host=host, port=port)
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
    municipality_cvr: str = typer.Option(
        None, show_default=False, help="Municipality the system at --url serves (default: one of the profile's)"
    ),
    report: Path = typer.Option(None, show_default=False, help="Also write the results as JSON to this file"),
) -> None:
    """Verify the committed consumer pacts; per interaction what failed, with requirement IDs.
    Exit 0 all held, 1 one failed, 2 usage error."""
    from .contract_commands import run_verify

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
    max_examples: int = typer.Option(10, min=1, help="Examples per operation"),
    seed: int = typer.Option(20261124, help="Seed, so a run can be reproduced"),
    out: Path = typer.Option(None, show_default=False, help="Folder for the logs (default: a temporary folder)"),
) -> None:
    """Fuzz a contract with schemathesis (all checks) against the simulators or --url; per operation what
    failed. Exit 0 pass, 1 fail, 2 usage error."""
    from .contract_commands import run_fuzz

    raise typer.Exit(run_fuzz(console, spec=spec, url=url, token=token, max_examples=max_examples, seed=seed, out=out))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
