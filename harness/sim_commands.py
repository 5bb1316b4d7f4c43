"""What `oir sim serve` does, kept out of cli.py so the command line stays a thin list of options:
start every simulator as a real server on 127.0.0.1, print (and optionally write) their URLs, and
run until SIGINT or SIGTERM."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

from rich.console import Console
from rich.table import Table


def run_serve(console: Console, port_base: int, callback_url: str | None, urls_file: Path | None) -> int:
    """Serve the simulated world until stopped; 0 once it has stopped."""
    from urllib.parse import urlsplit

    from contracts.profile import PROFILE_NAMES
    from simulators.kernel.collector import keep_long_lived_out_of_sight

    from .command_options import err, writable
    from .servers import ServerError
    from .topology import start_world

    if callback_url is not None:
        parts = urlsplit(callback_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            err.print(f"error: --callback-url {callback_url!r} is not an http(s) URL", markup=False)
            return 2
    if urls_file is not None:
        writable(urls_file, "--urls-file")
    names = ["fbs", "psrm", *[f"debtor-{p}" for p in PROFILE_NAMES], "payment"]
    ports = {name: port_base + i for i, name in enumerate(names)} if port_base else None
    keep_long_lived_out_of_sight()  # this process only serves simulators, for as long as it is asked to
    try:
        world = start_world(callback_url=callback_url, ports=ports)
    except (ServerError, OSError) as exc:
        where = f" on ports {port_base}-{port_base + len(names) - 1} (--port-base)" if port_base else ""
        err.print(f"error: cannot start the simulators{where}: {exc}", markup=False)
        return 2
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
    return 0
