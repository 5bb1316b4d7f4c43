"""`python -m bench`: its options and its one table (benchmarks replaced by tiny stand-ins; no timings
are judged here — figures are the benchmarks' business, never a test's)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import bench.__main__ as command
from bench.commands import passed_count
from bench.table import Goal, Row, render

ROOT = Path(__file__).resolve().parents[2]


def _fake(rows: dict[str, list[Row]]) -> dict[str, object]:
    def runner(name: str):  # type: ignore[no-untyped-def]
        def run(args: argparse.Namespace) -> list[Row]:
            if name == "engine":
                raise RuntimeError("the debtor simulator did not start\nsecond line")
            return rows.get(name, [])

        return run

    return {name: runner(name) for name in command.BENCHMARKS}


def test_only_picks_benchmarks_and_the_table_lists_every_measure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = {
        "debtor": [Row("debtor OpretDebitorkonto / bare FastAPI", Goal(">=", 0.6), 0.71, "0.71", "bare 2000/s")],
        "scenarios": [
            Row("bundled scenarios/s, serial", Goal(">=", 10, "scenarios/s"), 4.0, "4.00/s", "collect 3 s"),
            Row("bundled scenarios/s, -n 2", Goal(">=", 10, "scenarios/s"), 12.5, "12.50/s", "serial 4/s"),
        ],
    }
    monkeypatch.setattr(command, "RUNNERS", _fake(rows))
    out = tmp_path / "bench.json"
    code = command.main(["--only", "debtor,scenarios,engine", "--quick", "--json", str(out)])
    table = capsys.readouterr().out
    assert code == 1  # the engine benchmark failed: the run says so
    lines = {line.split("  ")[0]: line for line in table.splitlines()}
    assert lines["debtor OpretDebitorkonto / bare FastAPI"].split()[-1] == "yes"
    assert lines["bundled scenarios/s, serial"].split()[-1] == "no"
    assert lines["bundled scenarios/s, -n 2"].split()[-1] == "yes"
    assert "≥ 10 scenarios/s" in lines["bundled scenarios/s, -n 2"]
    # not chosen, opt-in, and failed: listed, never shown as met
    for measure in ("oir certify, 5 simulated profiles, cold", "engine, PostgreSQL, 2 workers / 1 worker"):
        assert lines[measure].split()[-2:] == ["not", "run"]
    assert "opt-in: python -m bench --only tests" in table
    assert "failed: the debtor simulator did not start" in table and "second line" not in table
    saved = json.loads(out.read_text())
    assert [row["met"] for row in saved].count("yes") == 2
    assert len(saved) == sum(len(m) for m in command.MEASURES.values())


def test_an_unknown_benchmark_is_one_line_and_exit_2() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "scenarios,speed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 2
    assert "unknown benchmark speed; known: scenarios, certify, debtor, engine, workers, tests" in run.stderr
    assert "Traceback" not in run.stderr


def test_table_renders_goals_and_notes() -> None:
    rows = [
        Row("a", Goal("<=", 60, "s"), 61.0, "61 s", "help 0.3 s", note="two profiles only"),
        Row("b", Goal("<=", 60, "s"), 59.5, "59.5 s", "help 0.3 s"),
    ]
    text = render(rows)
    assert "61 s [1]" in text and "[1] two profiles only" in text
    assert [line.split()[-1] for line in text.splitlines()[2:4]] == ["no", "yes"]


def test_passed_count_reads_pytest_summary() -> None:
    assert passed_count("==== 199 passed, 2 skipped in 198.32s (0:03:18) ====") == 199
    assert passed_count("==== 3 failed in 1.0s ====") == 0
