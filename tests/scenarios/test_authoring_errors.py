"""Authoring mistakes in scenario files: each names the file, the line and the key, and suggests the
nearest valid name where there is one — from the loader, through pytest's collection, and `oir run`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import ScenarioError, load_scenario

GOOD = """\
scenario: a-fee
title: A fee
covers: [B01-CREATE-ACCOUNT]
steps:
  - fbs.new_borrower: {as: anna}
  - fbs.new_claim: {borrower: anna, type: GEBYR, amount: 120 kr, as: fee}
  - engine.cycle: {}
  - expect:
      debtor.claim: fee
      that: {saldoOere: 12000}
      within: 5s
"""

# (name, text replaced, replacement, line, key, message fragment, suggestion)
MISTAKES = [
    ("yaml syntax", "  - engine.cycle: {}", "  - engine.cycle: {", 8, "expect", "not valid YAML", None),
    # an indentation error is at the misindented line, not where the block it breaks began (line 5)
    (
        "yaml indentation",
        "  - engine.cycle: {}",
        "   - engine.cycle: {}",
        7,
        "engine.cycle",
        "check this line's indentation",
        None,
    ),
    # a tab is reported on its own line (libyaml, the fast parser, would name the line above)
    ("yaml tab", "      that: {saldoOere", "\t    that: {saldoOere", 10, "that", "cannot start any token", None),
    (
        "misspelt field in that (by the contract's schema)",
        "saldoOere: 12000",
        "saldoOre: 12000",
        10,
        "that.saldoOre",
        "debtor.claim answers no field 'saldoOre'",
        "saldoOere",
    ),
    (
        "misspelt nested field in that",
        "saldoOere: 12000",
        "delfordringer.0.restOre: 12000",
        10,
        "that.delfordringer.0.restOre",
        "answers no field 'restOre' (delfordringer.0 of a claim of DebitorkontoOut has",
        "restOere",
    ),
    ("unknown top-level key", "steps:", "stpes:", 4, "stpes", "unknown key", "steps"),
    ("missing required key", "covers: [B01-CREATE-ACCOUNT]\n", "", 1, "covers", "missing", None),
    ("unknown actor", "engine.cycle", "engien.cycle", 7, "engien.cycle", "unknown actor", "engine.cycle"),
    (
        "unknown action",
        "fbs.new_claim:",
        "fbs.new_claime:",
        6,
        "fbs.new_claime",
        "unknown action of fbs",
        "fbs.new_claim",
    ),
    ("missing argument", "type: GEBYR, ", "", 6, "fbs.new_claim.type", "missing argument", None),
    ("unknown argument", "amount: 120 kr", "amout: 120 kr", 6, "fbs.new_claim.amout", "unknown argument", "amount"),
    ("bad argument value", "type: GEBYR", "type: GEBIR", 6, "fbs.new_claim.type", "not one of", "GEBYR"),
    ("bad amount", "amount: 120 kr", "amount: lots", 6, "fbs.new_claim.amount", "not an amount", None),
    ("bad reference", "borrower: anna", "borrower: anne", 6, "fbs.new_claim.borrower", "never captured", "anna"),
    (
        "bad ${} reference",
        "debtor.claim: fee",
        'debtor.claim: "${fe}"',
        9,
        "debtor.claim.claim",
        "refers to nothing",
        "fee",
    ),
    ("bad duration", "within: 5s", "within: 5 parsecs", 11, "within", "not a duration", None),
    (
        "unknown requirement",
        "B01-CREATE-ACCOUNT",
        "B01-CREATE-ACOUNT",
        3,
        "covers",
        "unknown requirement ID",
        "B01-CREATE-ACCOUNT",
    ),
    (
        "unknown matcher",
        "saldoOere: 12000",
        "saldoOere: {gte: 1, lenn: 2}",
        10,
        "that.saldoOere",
        "unknown matcher",
        "len",
    ),
    ("query used as an act", "  - engine.cycle: {}", "  - fbs.claim: fee", 7, "fbs.claim", "only observes", None),
    ("capture used twice", "as: fee}", "as: anna}", 6, "as", "already captured on line 5", None),
    (
        "step covers a requirement the scenario does not",
        "      within: 5s\n",
        "      within: 5s\n      covers: [B01-CREATE-ACOUNT]\n",
        12,
        "covers",
        "not among the scenario's covers (not a requirement ID",
        "B01-CREATE-ACCOUNT",
    ),
    (
        "step covers a catalogue requirement missing from the scenario's",
        "as: fee}",
        "as: fee, covers: [B01-ANNUL]}",
        6,
        "covers",
        "add it to the scenario's covers first",
        None,
    ),
]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_unbroken_scenario_loads(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, GOOD))
    assert [s.action for s in scenario.steps] == ["fbs.new_borrower", "fbs.new_claim", "engine.cycle", "expect"]
    assert scenario.steps[1].args["amount"] == 12000 and scenario.steps[3].within == 5.0


@pytest.mark.parametrize(
    ("name", "old", "new", "line", "key", "fragment", "suggestion"), MISTAKES, ids=[m[0] for m in MISTAKES]
)
def test_each_mistake_names_file_line_and_key(
    tmp_path: Path, name: str, old: str, new: str, line: int, key: str, fragment: str, suggestion: str | None
) -> None:
    assert old in GOOD, name
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert (error.file, error.line, error.key) == (str(path), line, key), error.render()
    assert fragment in error.message
    assert error.suggestion == suggestion
    rendered = error.render()
    assert rendered.startswith(f"{path}:{line}: key '{key}'")
    if suggestion:
        assert rendered.endswith(f"(did you mean '{suggestion}'?)")


def test_at_least_twelve_kinds_of_mistake_are_covered() -> None:
    assert len({m[0] for m in MISTAKES}) >= 12


def test_pytest_reports_a_broken_scenario_as_a_collection_error_without_a_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("fbs.new_claim:", "fbs.new_claime:", 1))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2, run.stdout + run.stderr  # interrupted: 1 error during collection
    assert f"{path}:6: key 'fbs.new_claime': unknown action of fbs" in run.stdout
    assert "did you mean 'fbs.new_claim'?" in run.stdout
    assert "Traceback" not in run.stdout and "loader.py" not in run.stdout


def test_oir_run_exits_2_with_the_located_error(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("steps:", "stpes:", 1))
    run = subprocess.run(
        [str(Path(sys.executable).with_name("oir")), "run", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"{path}:4: key 'stpes': unknown key" in run.stdout.replace("\n", "")
    assert "Traceback" not in run.stdout + run.stderr


def test_pytest_states_the_suffix_of_a_yaml_file_it_was_given_that_is_no_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "fee.yaml"  # a scenario, but not named *.scenario.yaml: never silently "no tests ran"
    path.write_text(GOOD, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"{path}: key '(file)': not a scenario file: scenario files are named *.scenario.yaml" in run.stdout
