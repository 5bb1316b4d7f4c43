"""Under pytest, scenario runs tagged `scale` are collected first, whatever their folder's place.

On two xdist workers the thousand-claims run, collected 234th of 244, started as the other worker was
running out of work and kept it waiting for seconds; first, it runs beside the rest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _collected(*paths: str) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--scenario-profile", "kmd-opus", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_a_scale_scenario_is_collected_before_the_folders_ahead_of_it() -> None:
    items = _collected("scenarios/suites/registration", "scenarios/suites/routing")
    assert items[0].endswith("thousand-claims-one-cycle[kmd-opus]"), items[:3]
    rest = items[1:]
    assert rest == sorted(rest, key=lambda item: item.split("/")[2])  # the others in their folders' order
    assert any("/registration/" in item for item in rest) and any("/routing/" in item for item in rest)
