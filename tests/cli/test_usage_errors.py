"""Every `oir` command and every option, given a bad value: exit 2 with one clear line about that option,
never a traceback — and refused before any work starts (the work itself is replaced by a tripwire here).

The commands and options are read from the typer app itself, so a new option without bad values listed
below fails `test_every_option_has_bad_values`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from harness.cli import app

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing answers HTTP there
MISSING = "/nonexistent-oir/x"
A_FILE = "{tmp}/a-file.txt"  # an existing regular file, where a folder is expected (or a folder's parent)

# What each command needs to get past its required arguments: with these (and no bad value) it would
# go to work, which the tripwires below stop.
BASE = {
    "certify": ["--profile", "eg", "--out", "{tmp}/reports"],
    "verify-certificate": ["{tmp}/certificate.json"],
    "rollout": ["--reports", "{tmp}"],
    "run": ["{tmp}/fee.scenario.yaml"],
    "sim serve": [],
    "engine": ["--fbs-url", CLOSED, "--token", "engine-secret", "--db", "sqlite:///{tmp}/engine.sqlite"],
    "contracts verify": ["--provider", "fbs", "--url", CLOSED],
    "contracts fuzz": ["--spec", "fbs", "--url", CLOSED],
    "service serve": ["--data-dir", "{tmp}/service"],
    "service start-run": ["--url", CLOSED, "--system", "1", "--token", "ci-token"],
    # the first word of a `service admin` base is its argument
    "service admin create-org": ["KMD", "--kind", "vendor", "--data-dir", "{tmp}/service"],
    "service admin create-user": ["a@kmd.example", "--org", "KMD", "--role", "vendor", "--data-dir", "{tmp}/service"],
    "service admin create-token": ["--user", "a@kmd.example", "--data-dir", "{tmp}/service"],
}
_SERVICE = {
    "--data-dir": [A_FILE, A_FILE + "/service"],
    "--database-url": ["garbage", "mysql://db/service", "sqlite:////nonexistent-oir/service.db"],
}

_ENGINE = {
    "--db": ["garbage", "sqlite:////nonexistent-oir/engine.sqlite"],
    "--fbs-url": ["not-a-url", "ftp://fbs"],
    "--debtor": ["no-equals-sign", f"nope={CLOSED}", "kmd-opus=not-a-url"],
    "--debtor-url": ["no-equals-sign", f"nope={CLOSED}"],  # the deprecated spelling
    "--callback-token": ["no-equals-sign"],
    "--callback-tokens-file": [MISSING],
    "--token": [],  # any text is a token: nothing to refuse
    "--token-file": [MISSING],
    "--dev": ["--dev=maybe"],
    "--header": ["no-equals-sign"],
}
BAD: dict[str, dict[str, list[str]]] = {
    "certify": {
        "--profile": ["nope"],
        "--out": [A_FILE, A_FILE + "/reports"],
        "--seed": ["x"],
        "--max-examples": ["0", "x"],
        "--debtor-url": ["not-a-url", CLOSED],
        "--debtor-token": [],  # any text is a token
        "--debtor-token-file": [MISSING],
        "--callback-token": [],  # any text is a token (an empty one: the preflight work of issue 12)
        "--callback-token-file": [MISSING],
        "--callback-port": ["70000", "-1", "x"],
        "--psrm-port": ["70000", "x"],
        "--callback-timeout": ["0", "x"],
        "--signing-key": ["not-a-key"],
        "--validity-days": ["0", "x"],
        "--scenarios": ["--scenarios=maybe"],
        "--only": ["no-such-check", "scenario no-such-*"],
        "--last-failed": ["--last-failed=maybe"],  # without an earlier report: tests/certification
        "--bind": ["256.1.1.1"],
        "--callback-url": ["not-a-url"],
        "--psrm-url": ["not-a-url"],
        "--wait": ["--wait=maybe"],
        "--resume": ["no-such-session"],
        "--resume-early": ["--resume-early=maybe"],
        "--new-session": ["--new-session=maybe"],
        "--test-control": ["--test-control=maybe"],  # without --debtor-url: tests/certification
        "--foreign-token": [],  # any text is a token
        "--foreign-token-file": [MISSING],
        "--service": ["not-a-url", "ftp://service"],
        "--system": ["x"],  # without --service
        "--token": [],  # any text is a token (without --service it is not used: OIR_SERVICE_TOKEN may be set)
        "--token-file": [MISSING],
    },
    "verify-certificate": {
        "file": [MISSING, A_FILE],
        "--public-key": ["not-a-key"],
        "--export-public-key": [MISSING],
        "--output": ["xml"],
    },
    "rollout": {
        "--reports": [A_FILE],
        "--routes": [MISSING],
        "--html": [MISSING],
        "--output": ["xml"],
        "--wave": ["x", "9"],
        "--public-key": ["not-a-key"],
    },
    "run": {
        "paths": [MISSING, A_FILE],
        "--profile": ["nope"],
        "-k": ["fee and", "(fee", "and"],
        "--tag": ["no-such-tag"],
        "--fail-fast": ["--fail-fast=maybe"],
        "--report": [A_FILE],
        "--junit": [MISSING, "{tmp}"],
        "--verbose": ["--verbose=maybe"],
    },
    "sim serve": {
        "--port-base": ["70000", "-1", "x"],
        "--callback-url": ["not-a-url"],
        "--urls-file": [MISSING],
    },
    "engine cycle": {**_ENGINE, "--concurrency": ["0", "x"]},
    "engine reconcile": {**_ENGINE, "--report": [MISSING, "{tmp}"]},
    "engine quarantine": {**_ENGINE, "--replay": ["--replay=maybe"], "--replay-id": ["x"]},
    "engine migrate": {
        **_ENGINE,
        "extract": [MISSING, "{tmp}"],
        "--dry-run": ["--dry-run=maybe"],
        "--report": [MISSING],
        "--feed-from": ["x", "c-12"],
    },
    "engine serve": {
        **_ENGINE,
        "--host": ["256.1.1.1"],
        "--port": ["70000", "x"],
        "--interval": ["0", "x"],
        "--worker": [],  # any name
        "--concurrency": ["0"],
    },
    "contracts verify": {
        "--provider": ["nope"],
        "--profile": ["nope"],
        "--url": ["not-a-url"],
        "--token": [],  # any text is a token
        "--token-file": [MISSING],
        "--municipality-cvr": ["12345678", "x"],
        "--report": [MISSING],
    },
    "contracts fuzz": {
        "--spec": ["nope"],
        "--url": ["not-a-url"],
        "--token": [],
        "--token-file": [MISSING],
        "--max-examples": ["0"],
        "--seed": ["x"],
        "--out": [A_FILE],
    },
    "service serve": {
        **_SERVICE,
        "--bind": ["256.1.1.1"],
        "--port": ["70000", "x"],
        "--workers": ["0", "x"],
        "--trial": ["--trial=maybe"],
        "--advertise-host": ["http://cert.example", "a host", "0.0.0.0"],
        "--run-ports": ["x", "9100", "9101-9100", "9100-9100", "9100-70000", "80-90"],
        "--run-bind": ["256.1.1.1"],
    },
    "service start-run": {
        "--url": ["not-a-url", "ftp://service"],
        "--system": ["0", "x"],
        "--token": [],  # any text is a token
        "--token-file": [MISSING],
        "--wait": ["--wait=maybe"],
        "--timeout": ["0", "x"],
    },
    "service admin create-org": {**_SERVICE, "name": [], "--kind": ["nope"]},  # any name
    "service admin create-user": {
        **_SERVICE,
        "email": ["not-an-email"],
        "--org": [],  # any name: whether it exists, the database says
        "--role": ["nope"],
        "--password-file": [MISSING],
    },
    "service admin create-token": {**_SERVICE, "--user": ["not-an-email"], "--name": []},  # any name
}


def _commands() -> Iterator[tuple[str, Any]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield " ".join(path), command

    yield from walk(typer.main.get_command(app), ())


def _option_name(param: Any) -> str:
    if param.param_type_name == "argument":
        return str(param.name)
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])


def _cases() -> Iterator[Any]:
    for command, click_command in _commands():
        for param in click_command.params:
            option = _option_name(param)
            for value in BAD.get(command, {}).get(option, []):
                yield pytest.param(command, param, value, id=f"{command} {option} {value}")


def test_every_option_has_bad_values() -> None:
    """A command or option added without saying how it can be misused fails here."""
    found = {command: {_option_name(p) for p in c.params} for command, c in _commands()}
    assert found == {command: set(options) for command, options in BAD.items()}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Files the base arguments name, and tripwires where each command's work would begin."""
    (tmp_path / "a-file.txt").write_text("not a folder\n")
    (tmp_path / "certificate.json").write_text(json.dumps({"certificate": {}, "signature": {}}))
    (tmp_path / "fee.scenario.yaml").write_text(
        "scenario: a-fee\ntitle: A fee\ncovers: [B01-CREATE-ACCOUNT]\ntags: [fees]\n"
        "steps:\n  - fbs.new_borrower: {as: anna}\n"
    )

    def tripwire(*_: Any, **__: Any) -> Any:
        raise AssertionError("the command went to work with a bad value")

    import harness.certification.commands
    import harness.contract_commands
    import harness.scenario_world
    import harness.topology
    import integration

    monkeypatch.setattr(harness.certification.commands, "certify_profile", tripwire)
    monkeypatch.setattr(harness.topology, "start_world", tripwire)
    monkeypatch.setattr(harness.scenario_world.SimulatedWorlds, "start", tripwire)
    for name in ("verify_local", "verify_url", "fuzz"):
        monkeypatch.setattr(harness.contract_commands, name, tripwire)
    monkeypatch.setattr(integration, "serve_forever", tripwire)
    import harness.service.commands

    monkeypatch.setattr(harness.service.commands, "Service", tripwire)  # opening the service's database
    import harness.service.client

    monkeypatch.setattr(harness.service.client, "start_run", tripwire)
    for variable in (
        "OIR_SERVICE_TOKEN",
        "OIR_CALLBACK_TOKENS",
        "OIR_ENGINE_TOKEN",
        "OIR_DEV",
        "OIR_CALLBACK_TOKEN",
        "OIR_SIGNING_KEY",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OIR_HOME", str(tmp_path / "oir-home"))  # the harness's key: never in ~/.config
    from harness.certification.keys import harness_key

    harness_key()  # made now, so that what a bad value meets is the bad value, not a missing key
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _argv(command: str, param: Any, value: str, tmp: Path) -> list[str]:
    base = BASE.get(command) or BASE.get(command.split()[0], [])
    base = [a.format(tmp=tmp) for a in base]
    value = value.format(tmp=tmp)
    option = _option_name(param)
    if param.param_type_name == "argument":  # the bad value replaces the base's argument
        base = [a for a in base if not a.endswith((".json", ".yaml"))]
        base = base[1:] if command.startswith("service admin") else base
        return [*command.split(), *base, value]
    if option in base:  # the bad value replaces the base's
        at = base.index(option)
        base = base[:at] + base[at + 2 :]
    given = [value] if value.startswith("--") else [param.opts[0], value]
    if command == "engine migrate":
        base = [*base, str(tmp / "a-file.txt")]
    return [*command.split(), *base, *given]


@pytest.mark.parametrize(("command", "param", "value"), list(_cases()))
def test_a_bad_value_is_one_line_and_exit_2(world: Path, command: str, param: Any, value: str) -> None:
    argv = _argv(command, param, value, world)
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "80"})
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.exception, output)
    assert "Traceback" not in output, output
    assert result.exit_code == 2, (argv, output)
    lines = [
        line
        for line in output.splitlines()
        if line.strip() and not line.startswith(("Usage:", "Try '", "warning:", "WARNING:"))
    ]
    assert len(lines) == 1, (argv, output)  # one line, not wrapped at 80 columns, no panel
    option = _option_name(param)
    shown = value.format(tmp=world)
    named = (option, shown, "'" + option.upper() + "'", "extract", "paths", "PATHS", "EXTRACT")
    if option == "--debtor-url" and command.startswith("engine"):
        named += ("--debtor",)  # the deprecated spelling: the warning names it, the error its new name
    assert any(n in lines[0] for n in named), (argv, lines[0])  # the line is about that option
    if command.startswith("engine"):
        assert not (world / "engine.sqlite").exists(), "a failed set-up left its new database behind"
