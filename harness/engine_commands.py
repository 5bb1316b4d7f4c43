"""What `oir engine serve|cycle|reconcile|quarantine|migrate` do, kept out of cli.py so the command line
stays a thin list of options. Each function takes the parsed options and returns the exit code:
0 done, 1 something remains (a quarantined message, a claim of the final extract still pending),
2 a usage or configuration error — a missing secret (refused unless --dev, naming what is missing), a
malformed NAME=VALUE option or URL, an unknown profile, a database that cannot be opened, an FBS that
does not answer (the one-shot commands need it; `serve` keeps retrying) — with one line on stderr,
never a traceback. A command that fails before its first cycle leaves no new database file behind.

`--debtor PROFILE=URL` names each vendor's debtor system (`--debtor-url`, its old spelling, still works
with a deprecation line: `oir certify --debtor-url` takes a plain URL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from .command_options import err, pairs, secret, secret_file, writable

_T = TypeVar("_T")


def debtors(new: list[str] | None, old: list[str] | None) -> list[str]:
    """The `--debtor PROFILE=URL` options, and those given with the old spelling `--debtor-url`."""
    if old:
        err.print(
            "warning: `oir engine … --debtor-url PROFILE=URL` is deprecated (in `oir certify`, --debtor-url "
            "is a plain URL); write --debtor PROFILE=URL"
        )
    return [*(new or []), *(old or [])]


def _usage(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(2)


def _http_url(url: str, option: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _usage(f"{option} {url!r} is not an http(s) URL")
    return url.rstrip("/")


def _sqlite_file(db: str) -> Path | None:
    """The file a SQLite database URL names (None: another database, or in memory)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db)
    except ArgumentError as exc:
        raise _usage(f"--db {db!r} is not a SQLAlchemy database URL (e.g. sqlite:///oir-engine.sqlite)") from exc
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    file = Path(url.database)
    if not file.parent.is_dir():
        raise _usage(f"--db {db}: no folder {file.parent} for the database file")
    return file


@contextmanager
def _new_database_removed_on_failure(db: str) -> Iterator[None]:
    """A SQLite file this command creates is removed again when setting up fails: an operator who got
    the options wrong finds no stray `oir-engine.sqlite`."""
    file = _sqlite_file(db)
    existed = file is None or file.exists()
    try:
        yield
    except BaseException:
        if not existed and file is not None:
            for leftover in (file, *(file.with_name(file.name + s) for s in ("-journal", "-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
        raise


def _opened(build: Callable[[], _T], db: str) -> _T:
    """`build()` (the engine, which opens and migrates its database), or exit 2 saying why it could not."""
    from sqlalchemy.exc import SQLAlchemyError

    with _new_database_removed_on_failure(db):
        try:
            return build()
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise _usage(f"cannot open the engine's database {db}: {detail}") from exc


def _fbs_answers(fbs_url: str) -> None:
    """The one-shot commands read FBS at once: one that does not answer is a configuration error."""
    from .certification.errors import TargetUnreachableError
    from .certification.target import check_reachable

    try:
        check_reachable(fbs_url, option="--fbs-url", what="FBS")
    except TargetUnreachableError as exc:
        raise _usage(str(exc)) from exc


@contextmanager
def _talking(action: str) -> Iterator[None]:
    """A counterpart that stops answering part-way (FBS answered the check, then went away) ends the
    command with one line and exit 1 (what it was doing remains to be done), never a traceback."""
    import httpx

    try:
        yield
    except httpx.HTTPError as exc:
        err.print(f"error: {action} stopped: {type(exc).__name__}: {exc or 'no answer'}", markup=False)
        raise typer.Exit(1) from exc


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
    from contracts.profile import PROFILE_NAMES
    from integration import EngineSettings

    debtor_urls = pairs(options.debtor_url, "--debtor")
    unknown = sorted(set(debtor_urls) - set(PROFILE_NAMES))
    if unknown:
        raise _usage(f"--debtor: unknown profile {', '.join(unknown)}; known: {', '.join(PROFILE_NAMES)}")
    debtor_urls = {name: _http_url(url, f"--debtor {name}=") for name, url in debtor_urls.items()}
    _sqlite_file(options.db)  # a malformed --db is a usage error before anything is read

    callback_tokens = {}
    if options.callback_tokens_file:
        lines = secret_file(options.callback_tokens_file, "--callback-tokens-file").splitlines()
        callback_tokens = pairs(
            [line for line in lines if not line.lstrip().startswith("#")], "--callback-tokens-file", several=True
        )
    callback_tokens.update(pairs(options.callback_token, "--callback-token", several=True))
    settings = EngineSettings(
        database_url=options.db,
        fbs_url=_http_url(options.fbs_url, "--fbs-url"),
        debtor_urls=debtor_urls,
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


def _build_engine(setup: Any, *, fbs: bool = True) -> Any:
    """The engine, or exit 2 naming what is missing (a secret, a database that cannot be opened, with
    `fbs` an FBS that does not answer); a development engine warns on stderr first."""
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
    if fbs:
        _fbs_answers(setup.fbs_url)
    from integration import build_engine

    return _opened(lambda: build_engine(setup), setup.database_url)


def run_cycle(console: Console, options: EngineOptions, concurrency: int) -> int:
    """One cycle (read FBS's feed, deliver what is due); prints what it did."""
    setup = _engine_setup(options, None, concurrency)
    engine = _build_engine(setup)
    try:
        with _talking("the cycle"):
            report = engine.cycle()
    finally:
        engine.close()
    console.print(json.dumps(report.__dict__))
    return 0


def run_reconcile(console: Console, options: EngineOptions, report: Path) -> int:
    """Compare FBS with the debtor systems (B_02), repair lost callbacks, and write a report."""
    writable(report, "--report")
    engine = _build_engine(_engine_setup(options))
    try:
        with _talking("reconciliation"):
            result = engine.reconcile()
            engine.cycle()  # deliver the repairs
    finally:
        engine.close()
    report.write_text(json.dumps(result.as_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    console.print(
        f"{result.claims_checked} claims checked, {len(result.differences)} differences, "
        f"{len(result.unreachable)} unreachable, {len(result.quarantined)} quarantined; report: {report}"
    )
    return 0


def run_quarantine(console: Console, options: EngineOptions, replay: bool, replay_id: list[int] | None) -> int:
    """List what FBS refused (and with `replay`/`replay_id` send it again); 1 while any remain."""
    engine = _build_engine(_engine_setup(options), fbs=bool(replay or replay_id))  # a listing reads no FBS
    try:
        if replay or replay_id:
            with _talking("the replay"):
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

    writable(report, "--report")
    setup = _engine_setup(options)
    if dry_run:  # sends nothing and serves nothing: the routes alone, no credentials
        result = trial_extract(extract, RoutingTable.from_vendor_urls(setup.debtor_urls))
    else:
        engine = _build_engine(setup)
        try:
            with _talking("the final extract"), Progress(console=console) as progress:
                task = progress.add_task("final extract", total=None)
                result = engine.migrate(
                    extract,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                    feed_from=feed_from,
                )
        finally:
            engine.close()
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
    import socket

    from integration import serve_forever

    from .servers import ServerError, ServerThread

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise _usage(f"--host {host!r} is no address to listen on: {exc}") from exc
    setup = _engine_setup(options, worker, concurrency)
    # Only setting up may remove a database it created: once the engine has served, its state is kept.
    with _new_database_removed_on_failure(setup.database_url):
        engine = _build_engine(setup, fbs=False)  # a service waits for FBS: a failed cycle is retried
        api = ServerThread(engine.api(), name="engine-api", host=host, port=port)
        try:
            api.start()
        except (ServerError, OSError) as exc:
            engine.close()
            raise _usage(f"cannot serve the callback API on --host {host} --port {port}: {exc}") from exc
    serve_forever(engine, interval=interval, api=_Started(api))  # stops the API, then closes the engine
    return 0


class _Started:
    """A server already started (so that a port in use was a set-up error), for `serve_forever` to stop."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url = server.url

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.server.stop()
