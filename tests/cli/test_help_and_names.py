"""What `oir --help` and friends promise: a version, flags shown as flags, the profile names wherever a
profile is chosen, one meaning per option name — and an engine that cannot set up leaves nothing behind."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from contracts.profile import PROFILE_NAMES
from harness.cli import app

CLOSED = "http://127.0.0.1:9"
runner = CliRunner()


def _commands() -> Iterator[tuple[list[str], Any]]:
    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def _help(path: list[str]) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"oir-harness \S+ \(Python 3\.\d+\.\d+\)\n", result.output), result.output


def test_every_flag_is_shown_as_a_flag_never_as_taking_a_bool() -> None:
    for path, command in _commands():
        text = _help(path)
        assert "<bool>" not in text, (path, text)
        for param in command.params:
            if getattr(param, "is_flag", False) and not param.hidden:
                shown = ", ".join(sorted(param.opts, key=len))  # -v, --verbose
                assert re.search(rf"^\s*{re.escape(shown)}(  | / | \[|$)", text, re.MULTILINE), (path, shown, text)


def test_run_shows_verbose_as_a_flag() -> None:
    assert re.search(r"^\s*-v, --verbose\s+Show every step", _help(["run"]), re.MULTILINE)


@pytest.mark.parametrize(
    "path", [["certify"], ["run"], ["contracts", "verify"], ["engine", "cycle"], ["engine", "serve"]], ids=" ".join
)
def test_the_help_lists_the_profiles_wherever_one_is_chosen(path: list[str]) -> None:
    text = " ".join(_help(path).split())  # unwrapped
    for name in PROFILE_NAMES:
        assert name in text, (path, name)


def test_a_misspelt_profile_is_refused_naming_the_profiles() -> None:
    result = runner.invoke(app, ["certify", "--profile", "kmd_opus"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "'kmd_opus' is not one of 'kmd-opus', 'prisme-2015-betaling'" in result.output


def test_debtor_url_is_a_plain_url_wherever_it_is_offered() -> None:
    """`oir certify --debtor-url URL`; the engine's PROFILE=URL option is `--debtor` (the old spelling hidden)."""
    offered = {}
    for path, command in _commands():
        for param in command.params:
            if "--debtor-url" in getattr(param, "opts", ()) and not param.hidden:
                offered[" ".join(path)] = param
    assert list(offered) == ["certify"]
    assert "PROFILE=URL" in " ".join(_help(["engine", "cycle"]).split())


def test_the_engine_s_old_debtor_url_spelling_still_works_with_a_deprecation_line(tmp_path: Path) -> None:
    extract = tmp_path / "extract.jsonl"
    extract.write_text("")
    report = tmp_path / "migration.json"
    argv = ["engine", "migrate", str(extract), "--dry-run", "--fbs-url", CLOSED, "--report", str(report)]
    old = runner.invoke(app, [*argv, "--debtor-url", f"eg={CLOSED}"])
    assert old.exit_code == 0, old.output
    assert "--debtor-url PROFILE=URL` is deprecated" in old.output and "--debtor PROFILE=URL" in old.output
    taken = runner.invoke(app, ["engine", "cycle", "--fbs-url", CLOSED, "--dev", "--debtor-url", "eg=not-a-url"])
    assert taken.exit_code == 2 and "--debtor eg= 'not-a-url' is not an http(s) URL" in taken.output


def test_an_engine_against_an_unreachable_fbs_says_so_and_leaves_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default database is ./oir-engine.sqlite
    for command in ("cycle", "reconcile"):
        result = runner.invoke(app, ["engine", command, "--fbs-url", CLOSED, "--dev"], env={"COLUMNS": "80"})
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert errors == [f"error: FBS at {CLOSED} is unreachable (ConnectError: [Errno 111] Connection refused)"]
    assert list(tmp_path.iterdir()) == []


def test_a_database_that_cannot_be_opened_is_one_line_and_no_file_is_left(tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    (folder / "engine.sqlite").mkdir()  # a folder where the database file should be
    result = runner.invoke(
        app, ["engine", "serve", "--fbs-url", CLOSED, "--dev", "--db", f"sqlite:///{folder / 'engine.sqlite'}"]
    )
    assert result.exit_code == 2, result.output
    assert f"error: cannot open the engine's database sqlite:///{folder / 'engine.sqlite'}" in result.output


def test_engine_serve_on_a_port_in_use_is_one_line_and_leaves_no_database(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "harness.cli", "engine", "serve", "--fbs-url", CLOSED, "--dev", "--port", str(port)],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert run.returncode == 2, run.stderr
    assert f"error: cannot serve the callback API on --host 127.0.0.1 --port {port}" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "oir-engine.sqlite").exists()
