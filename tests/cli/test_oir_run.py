"""`oir run`: every authoring error of a folder at once, the scenario file suffix stated, and the run
options CI authors expect from pytest — `-k`, `--tag`, `--fail-fast`, `--junit`."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from harness.cli import app

GOOD = """\
scenario: {id}
title: A borrower FBS knows
covers: [FBS-POSTING-ONCE]
tags: [{tag}]
steps:
  - fbs.new_borrower: {{as: anna}}
  - expect:
      fbs.borrower: anna
      that: {{saldoOere: {saldo}}}
"""


def _scenario(folder: Path, name: str, *, tag: str = "smoke", saldo: int = 0) -> Path:
    path = folder / f"{name}.scenario.yaml"
    path.write_text(GOOD.format(id=name, tag=tag, saldo=saldo), encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", *args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_every_broken_file_of_a_folder_is_reported_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.scenario_world

    def tripwire(*_: object) -> None:
        raise AssertionError("a world was started for a suite with authoring errors")

    monkeypatch.setattr(harness.scenario_world.SimulatedWorlds, "start", tripwire)
    _scenario(tmp_path, "fine-one")
    mistakes = {
        "one": ("steps:", "stpes:"),
        "two": ("fbs.new_borrower:", "fbs.new_borower:"),
        "three": ("saldoOere", "saldoOre"),
        "four": ("  - expect:", "   - expect:"),
        "five": ("FBS-POSTING-ONCE", "FBS-POSTING-ONE"),
    }
    for name, (old, new) in mistakes.items():
        _scenario(tmp_path, name).write_text(GOOD.format(id=name, tag="x", saldo=0).replace(old, new, 1))
    code, output = _run(str(tmp_path))
    assert code == 2
    for name in mistakes:
        assert sum(f"{tmp_path / name}.scenario.yaml:" in line for line in output.splitlines()) == 1, output
    assert "5 authoring errors in 5 files; nothing was run" in output


def test_a_file_not_named_scenario_yaml_is_never_silently_ignored(tmp_path: Path) -> None:
    plain = tmp_path / "fee.yaml"
    plain.write_text(GOOD.format(id="a-fee", tag="x", saldo=0))
    code, output = _run(str(plain))
    assert code == 2
    assert f"{plain}: key '(file)': not a scenario file: scenario files are named *.scenario.yaml" in output
    code, output = _run(str(tmp_path))
    assert code == 2
    assert f"note: ignored {plain}: not named *.scenario.yaml" in output
    assert f"no scenario files (*.scenario.yaml) in {tmp_path}" in output


def test_k_tag_fail_fast_and_junit(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    _scenario(suite, "a-fails", saldo=100)  # a new borrower owes nothing: this fails at once
    _scenario(suite, "b-passes")
    _scenario(suite, "c-other", tag="other")
    junit = tmp_path / "junit.xml"
    code, output = _run(str(suite), "--profile", "eg", "-k", "not other", "--fail-fast", "--junit", str(junit))
    assert code == 1, output
    assert "stopped at the first failure (--fail-fast): 1 run(s) not run" in output
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {"a-fails[eg]", "b-passes[eg]"}  # -k left c-other out
    assert cases["a-fails[eg]"].find("failure") is not None
    skipped = cases["b-passes[eg]"].find("skipped")
    assert skipped is not None and "--fail-fast" in skipped.get("message", "")
    code, output = _run(str(suite), "--profile", "eg", "--tag", "other", "--junit", str(junit))
    assert code == 0, output
    assert [case.get("name") for case in ET.parse(junit).getroot().iter("testcase")] == ["c-other[eg]"]
    assert ET.parse(junit).getroot().find("testcase/failure") is None


def test_a_tag_no_scenario_has_is_a_usage_error_with_the_nearest(tmp_path: Path) -> None:
    _scenario(tmp_path, "a-fee", tag="payments")
    code, output = _run(str(tmp_path), "--tag", "payment")
    assert code == 2
    assert "--tag 'payment' is the tag of no scenario here (did you mean 'payments'?)" in output
