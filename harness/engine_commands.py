"""What `oir engine serve|cycle|reconcile|quarantine|migrate` do, kept out of cli.py so the command line
stays a thin list of options. Each function takes the parsed options and returns the exit code:
0 done, 1 something remains (a quarantined message, a claim of the final extract still pending),
2 a usage error — a missing secret (refused unless --dev, naming what is missing) or a malformed
NAME=VALUE option, with a message on stderr, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from .command_options import err, pairs, secret, secret_file


@dataclass(frozen=True)
class EngineOptions:
    """The options every engine command takes alike: where its database, FBS and the debtors are, and
    its secrets (inline, from the environment or from files)."""

    db: str
    fbs_url: str
    debtor_url: list[str] | None
    callback_token: list[str] | None
    callback_tokens_file: Path | None
    token: str | None
    token_file: Path | None
    dev: bool
    header: list[str] | None


def _engine_setup(options: EngineOptions, worker: str | None = None, concurrency: int | None = None) -> Any:
    from integration import EngineSettings

    callback_tokens = {}
    if options.callback_tokens_file:
        lines = secret_file(options.callback_tokens_file, "--callback-tokens-file").splitlines()
        callback_tokens = pairs(
            [line for line in lines if not line.lstrip().startswith("#")], "--callback-tokens-file", several=True
        )
    callback_tokens.update(pairs(options.callback_token, "--callback-token", several=True))
    settings = EngineSettings(
        database_url=options.db,
        fbs_url=options.fbs_url,
        debtor_urls=pairs(options.debtor_url, "--debtor-url"),
        callback_tokens=callback_tokens,
        extra_headers=pairs(options.header, "--header"),
        token=secret(options.token, options.token_file, "--token"),
        dev=options.dev,
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


def run_cycle(console: Console, options: EngineOptions, concurrency: int) -> int:
    """One cycle (read FBS's feed, deliver what is due); prints what it did."""
    setup = _engine_setup(options, None, concurrency)
    report = _build_engine(setup).cycle()
    console.print(json.dumps(report.__dict__))
    return 0


def run_reconcile(console: Console, options: EngineOptions, report: Path) -> int:
    """Compare FBS with the debtor systems (B_02), repair lost callbacks, and write a report."""
    engine = _build_engine(_engine_setup(options))
    result = engine.reconcile()
    engine.cycle()  # deliver the repairs
    report.write_text(json.dumps(result.as_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    console.print(
        f"{result.claims_checked} claims checked, {len(result.differences)} differences, "
        f"{len(result.unreachable)} unreachable, {len(result.quarantined)} quarantined; report: {report}"
    )
    return 0


def run_quarantine(console: Console, options: EngineOptions, replay: bool, replay_id: list[int] | None) -> int:
    """List what FBS refused (and with `replay`/`replay_id` send it again); 1 while any remain."""
    engine = _build_engine(_engine_setup(options))
    try:
        if replay or replay_id:
            sent_back = engine.replay_quarantined(None if replay else list(replay_id or []))
            report = engine.cycle()
            console.print(f"{sent_back} replayed: {report.delivered} delivered, {report.quarantined} refused again")
        remaining = engine.quarantine_listing()
    finally:
        engine.close()
    print(json.dumps(remaining, indent=2, ensure_ascii=False))
    return 1 if remaining else 0


def run_migrate(
    console: Console, options: EngineOptions, extract: Path, dry_run: bool, report: Path, feed_from: str | None = None
) -> int:
    """A trial extract (`dry_run`: validate and report, send nothing) or the final extract (each claim
    once; the feed then starts at `feed_from`, the extract's cut-off); 1 when it left claims pending."""
    from rich.progress import Progress

    from integration.claim_migration import trial_extract
    from integration.routing import RoutingTable

    setup = _engine_setup(options)
    if dry_run:  # sends nothing and serves nothing: the routes alone, no credentials
        result = trial_extract(extract, RoutingTable.from_vendor_urls(setup.debtor_urls))
    else:
        engine = _build_engine(setup)
        with Progress(console=console) as progress:
            task = progress.add_task("final extract", total=None)
            result = engine.migrate(
                extract,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                feed_from=feed_from,
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
        f"report: {report}"
        + ("" if dry_run else f"; delivered {result.delivered}, pending {result.pending}")
        + (f"; the feed reads from {result.feed_from}" if result.feed_from else "")
    )
    if not dry_run and result.pending:
        return 1
    return 0


def run_serve(
    options: EngineOptions, host: str, port: int, interval: float, worker: str | None, concurrency: int
) -> int:
    """Cycle continuously and serve the callback API (oir-fagsystem-v3) until SIGTERM."""
    import logging

    from integration import serve_forever

    from .servers import ServerThread

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    setup = _engine_setup(options, worker, concurrency)
    engine = _build_engine(setup)
    api = ServerThread(engine.api(), name="engine-api", host=host, port=port)
    serve_forever(engine, interval=interval, api=api)
    return 0
