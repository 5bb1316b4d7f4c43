"""The `oir` command line."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="ØiR certification harness: simulators, engine, scenarios and certification.",
                  no_args_is_help=True, add_completion=False)
sim = typer.Typer(help="The simulators of FBS, the five debtor-system profiles, PSRM and the payment solution.",
                  no_args_is_help=True)
app.add_typer(sim, name="sim")
console = Console()


@sim.command("serve")
def sim_serve(
    port_base: int = typer.Option(0, help="First of eight fixed ports (fbs, psrm, five debtors, payment); 0 = free ports"),
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
        contract = "oir-debitor-v3" if name.startswith("debtor-") else {
            "fbs": "fbs", "psrm": "psrm-fordringshaver", "payment": "payment"}[name]
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
