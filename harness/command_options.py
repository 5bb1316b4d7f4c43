"""Reading the options several `oir` commands share: NAME=VALUE pairs, secrets given inline or in a
file, output paths (refused before any work when they cannot be written), `--output` and `--version`. A
malformed one is a usage error: one line on stderr (a secret never shown) and exit 2.

An environment variable that is set but empty is what CI passes when a secret or variable is missing:
click would take it as unset and fall back to a default (the harness key, the public callback token),
so `refuse_empty_env` makes it a usage error instead."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)  # whole lines: operators grep them


def pairs(values: list[str] | None, what: str, *, several: bool = False) -> dict[str, str]:
    """NAME=VALUE pairs; with `several`, one value may hold several separated by commas or whitespace
    (as an environment variable or a file of tokens does)."""
    found = {}
    for value in [item for v in values or [] for item in v.replace(",", " ").split()] if several else values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key or not rest:
            shown = value if "token" not in what else f"{key}{sep}***"
            err.print(f"[red]{what} takes NAME=VALUE, got {shown!r}[/red]")
            raise typer.Exit(2)
        found[key] = rest
    return found


def secret_file(path: Path, what: str) -> str:
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


def secret(value: str | None, file: Path | None, option: str) -> str | None:
    if value and file:
        err.print(f"[red]give {option} or {option}-file, not both[/red]")
        raise typer.Exit(2)
    return secret_file(file, f"{option}-file") if file else value


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


OUTPUT = typer.Option(
    OutputFormat.text, "--output", help="text for people, json for machines (one JSON document on stdout)"
)


def refuse_empty_env(*names: str) -> None:
    """Exit 2 with one line if one of these environment variables is set but empty (or blank)."""
    for name in names:
        value = os.environ.get(name)
        if value is not None and not value.strip():
            err.print(
                f"[red]error: {name} is set but empty (a CI secret or variable that is missing?); "
                f"give it a value or unset it[/red]"
            )
            raise typer.Exit(2)


def show_version(value: bool) -> None:
    """`oir --version`: the harness's version (and Python's), then exit 0."""
    if not value:
        return
    import platform
    from importlib.metadata import PackageNotFoundError, version

    try:
        mine = version("oir-harness")
    except PackageNotFoundError:  # run from a checkout that was never installed
        mine = "unknown (not installed)"
    typer.echo(f"oir-harness {mine} (Python {platform.python_version()})")
    raise typer.Exit(0)


def writable(path: Path, option: str, *, folder: bool = False) -> None:
    """Refuse, before any work, an output `path` that cannot be written: its folder is missing (for a
    file) or it is the wrong kind of thing (a folder given for a file, a file given for a folder)."""
    if folder:
        if path.exists() and not path.is_dir():
            err.print(f"error: {option} {path} is a file, not a folder", markup=False)
            raise typer.Exit(2)
        parent = next((p for p in (path, *path.parents) if p.exists()), Path("."))
        if not parent.is_dir():
            err.print(f"error: {option} {path}: {parent} is a file, not a folder", markup=False)
            raise typer.Exit(2)
        return
    if path.is_dir():
        err.print(f"error: {option} {path} is a folder; give a file name", markup=False)
        raise typer.Exit(2)
    if not path.parent.is_dir():
        err.print(f"error: {option} {path}: no folder {path.parent}", markup=False)
        raise typer.Exit(2)
