"""`oir service serve` and `oir service admin …`: options to exit code. A bad option is one line on stderr
and exit 2, before anything is started or written; a password comes from stdin or a file, never from an
argument (`ps` and shell history would show it); an API token is printed once and stored only hashed."""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..certification.target import is_wildcard
from ..command_options import err, secret_file, writable
from .core import EMAIL, Service, ServiceConfig, ServiceError, default_data_dir


def _usage(message: str) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(2)


def config(data_dir: Path | None, database_url: str | None, workers: int = 2, trial: bool = False) -> ServiceConfig:
    """The configuration from the options, each checked (exit 2 naming the option)."""
    folder = data_dir or default_data_dir()
    writable(folder, "--data-dir", folder=True)
    if database_url is not None:
        try:
            url = make_url(database_url)
        except ArgumentError as exc:
            raise _usage(
                f"--database-url {database_url!r} is no SQLAlchemy URL (sqlite:///file, postgresql://…)"
            ) from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise _usage(f"--database-url {database_url!r}: SQLite or PostgreSQL")
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).parent.is_dir():
            raise _usage(f"--database-url {database_url!r}: no folder {Path(url.database).parent}")
    return ServiceConfig(data_dir=folder, database_url=database_url, workers=workers, trial=trial)


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")  # a DNS name: no scheme, port or path


def remote(
    options: ServiceConfig, advertise_host: str | None, run_ports: str | None, run_bind: str | None
) -> ServiceConfig:
    """`serve --advertise-host H --run-ports A-B [--run-bind ADDR]`: where vendors' systems elsewhere reach the
    runs. Each checked (exit 2 naming the option); the three go together or not at all."""
    if advertise_host is not None:
        try:
            ipaddress.ip_address(advertise_host.strip("[]"))
        except ValueError:
            if not _HOST.match(advertise_host):
                raise _usage(
                    f"--advertise-host {advertise_host!r} is no host name or IP address (no scheme, port or path: "
                    "e.g. certificering.kombit.example)"
                ) from None
        if is_wildcard(advertise_host):
            raise _usage(f"--advertise-host {advertise_host!r}: the address vendors' systems reach, not a wildcard")
    pool = None
    if run_ports is not None:
        first, _, last = run_ports.partition("-")
        if not (first.strip().isdigit() and last.strip().isdigit()):
            raise _usage(f"--run-ports {run_ports!r}: a range FIRST-LAST, e.g. 9100-9199")
        pool = (int(first), int(last))
        if not 1024 <= pool[0] < pool[1] <= 65535:
            raise _usage(f"--run-ports {run_ports!r}: 1024 <= FIRST < LAST <= 65535 (two ports per test system)")
    if run_bind is not None:
        try:
            socket.getaddrinfo(run_bind, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise _usage(f"--run-bind {run_bind!r} is no address to listen on: {exc}") from exc
    if (advertise_host is None) != (run_ports is None):
        raise _usage(
            "--advertise-host and --run-ports go together: the host vendors' systems reach and the ports "
            "their runs listen on"
        )
    if run_bind is not None and advertise_host is None:
        raise _usage("--run-bind is where runs listen for vendors' systems: it needs --advertise-host and --run-ports")
    if advertise_host is None:
        return options
    return replace(options, advertise_host=advertise_host.strip("[]"), run_ports=pool, run_bind=run_bind or "0.0.0.0")


def _open(options: ServiceConfig) -> Service:
    try:
        return Service(options)
    except (SQLAlchemyError, OSError) as exc:
        raise _usage(f"cannot open the service's database or data dir: {exc}") from exc


def run_serve(console: Console, options: ServiceConfig, bind: str, port: int) -> int:
    try:  # resolved once: checked here, bound below
        family, _, _, _, address = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (OSError, UnicodeError) as exc:
        raise _usage(f"--bind {bind!r} is no address to listen on: {exc}") from exc
    if options.run_ports and options.run_ports[0] <= port <= options.run_ports[1]:
        raise _usage(
            f"--port {port} lies in --run-ports {options.run_ports[0]}-{options.run_ports[1]}: the runs' ports"
        )
    import uvicorn

    from .app import create_app
    from .runner import Workers

    # Bound here and handed to uvicorn as it is: port 0 becomes a port that can be printed, and no other
    # process can take it between a probe and uvicorn's own bind (as it could when it was probed and let go).
    # The address is the first `getaddrinfo` gives; an IPv6 socket is IPv6 only, as uvicorn's own would be.
    try:  # listening at once (uvicorn's backlog): a connection made once the address is printed waits
        listening = socket.create_server(address[:2], family=family, backlog=2048)
    except OSError as exc:
        raise _usage(f"cannot listen on {bind} port {port}: {exc.strerror or exc}") from exc
    with listening:  # closed on every way out, a failed start-up included
        port = listening.getsockname()[1]
        service = _open(options)
        app = create_app(service, Workers(service, options.workers))
        reach = (
            f" · runs listen on {options.run_bind}, ports {options.run_ports[0]}-{options.run_ports[1]}, "
            f"advertised as {options.advertised(options.run_ports[0]).rsplit(':', 1)[0]}"
            if options.run_ports
            else ""
        )
        host = f"[{address[0]}]" if family == socket.AF_INET6 else address[0]
        console.print(
            f"ØiR certification service on http://{host}:{port} · data {options.data_dir} · "
            f"{options.workers} worker(s){' · TRIAL' if options.trial else ''}{reach}",
            soft_wrap=True,
        )
        server = uvicorn.Server(uvicorn.Config(app, host=bind, port=port, log_level="warning", access_log=False))
        server.run(sockets=[listening])
    return 0


def run_create_org(console: Console, options: ServiceConfig, name: str, kind: str) -> int:
    try:
        _open(options).create_org(name, kind)
    except ServiceError as exc:
        raise _usage(str(exc)) from exc
    console.print(f"organisation {name} ({kind}) created")
    return 0


def run_create_user(
    console: Console, options: ServiceConfig, email: str, org: str, role: str, password_file: Path | None
) -> int:
    if not EMAIL.match(email.strip()):
        raise _usage(f"{email!r} is not an e-mail address")
    if password_file is not None:
        password = secret_file(password_file, "--password-file")
    else:
        if sys.stdin.isatty():
            import getpass

            password = getpass.getpass(f"password for {email}: ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise _usage("no password: give it on stdin or with --password-file")
    try:
        _open(options).create_user(email, org, role, password)
    except ServiceError as exc:
        raise _usage(str(exc)) from exc
    console.print(f"user {email.strip().lower()} ({org}, {role}) created")
    return 0


def run_create_token(console: Console, options: ServiceConfig, user: str, name: str) -> int:
    if not EMAIL.match(user.strip()):
        raise _usage(f"--user {user!r} is not an e-mail address")
    try:
        token = _open(options).create_token(user, name)
    except ServiceError as exc:
        raise _usage(str(exc)) from exc
    err.print(f"API token {name!r} for {user} (shown once, stored only hashed; use it as 'Authorization: Bearer …'):")
    console.out(token, highlight=False)
    return 0
