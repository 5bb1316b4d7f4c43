"""Migration of historic open claims: the trial extract sends nothing, the final extract sends each
valid claim exactly once, even when it is interrupted and run again."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.municipalities import for_vendor, load_municipalities
from contracts.profile import PROFILE_NAMES
from contracts.synthetic import SyntheticData
from integration import Engine, ManualClock
from integration.claim_migration import final_extract, trial_extract
from tests.support.client import SimClient
from tests.support.engine_world import simulated_settings

ROOT = Path(__file__).resolve().parents[2]


def _extract(path: Path, valid: int) -> list[dict[str, Any]]:
    people = SyntheticData(seed=31)
    municipalities = load_municipalities()
    lines: list[Any] = []
    for index in range(valid):
        municipality = municipalities[index % len(municipalities)]
        claim_id = f"HIST-{municipality.code}-{index:05d}"
        lines.append(
            {
                "fordringId": claim_id,
                "kommuneCvr": municipality.cvr,
                "laaner": {"laanerId": f"L{index:07d}", "cpr": people.cpr(), "navn": "Historisk Låner"},
                "type": "ERSTATNING" if index % 4 == 0 else "GEBYR",
                "tekst": "Historisk fordring",
                "stiftelsesdato": "2025-03-01",
                "forfaldsdato": "2025-03-01",
                "delposter": [{"delpostId": f"{claim_id}-1", "beloebOere": 2000 + index, "tekst": "Gebyr"}],
            }
        )
    bad = dict(lines[0], fordringId="HIST-BAD-1", laaner={**lines[0]["laaner"], "cpr": "3299001234"})
    zero = dict(
        lines[1], fordringId="HIST-BAD-2", delposter=[{"delpostId": "HIST-BAD-2-1", "beloebOere": 0, "tekst": "x"}]
    )
    stranger = dict(lines[2], fordringId="HIST-BAD-3", kommuneCvr="12345674")
    path.write_text(
        "\n".join(
            [
                *(json.dumps(line) for line in lines),
                json.dumps(bad),
                json.dumps(zero),
                json.dumps(stranger),
                "{not json",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return lines


def _engine(
    world: dict[str, str], db: Path, session: str, overrides: dict[str, dict[str, Any]] | None = None
) -> Engine:
    settings = simulated_settings(world, f"sqlite:///{db}", session, route_overrides=overrides or {})
    return Engine(settings, clock=ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)), seed=2)


def _registered(world: dict[str, str], session: str) -> list[str]:
    ids = []
    for profile in PROFILE_NAMES:
        for entry in SimClient(world[profile], session).journal("OpretDebitorkonto"):
            if entry["status"] in (200, 201):
                ids.append(entry["requestBody"]["fordringer"][0]["fordringId"])
    return ids


def test_the_trial_extract_validates_and_reports_but_sends_nothing(world: dict[str, str], tmp_path: Path) -> None:
    extract = tmp_path / "extract.jsonl"
    lines = _extract(extract, 200)
    session = f"m-{uuid.uuid4().hex[:8]}"
    copenhagen = for_vendor("kmd-opus")[0]
    engine = _engine(
        world, tmp_path / "e.sqlite", session, overrides={copenhagen.code: {"products": {"GEBYR": "BIB-GEBYR"}}}
    )
    report = trial_extract(extract, engine.routes)
    unmapped = sum(1 for line in lines if line["kommuneCvr"] == copenhagen.cvr and line["type"] == "ERSTATNING")
    assert report.lines == 204 and unmapped == 2
    assert sum(t.send for t in report.municipalities.values()) == 200 - unmapped  # København maps no replacement
    reasons = {r["code"] for r in report.rejected_lines}
    assert reasons == {
        "INVALID-LAANER.CPR",
        "INVALID-DELPOSTER.0",
        "OIR-ROUTE-UNKNOWN-MUNICIPALITY",
        "MALFORMED-JSON",
        "OIR-ROUTE-UNMAPPED-CLAIM-TYPE",
    }
    assert report.municipalities["København"].reasons["OIR-ROUTE-UNMAPPED-CLAIM-TYPE"] == unmapped
    assert (
        report.municipalities["København"].send
        == sum(1 for line in lines if line["kommuneCvr"] == copenhagen.cvr) - unmapped
    )
    assert _registered(world, session) == []


def test_the_final_extract_sends_each_claim_once_even_when_run_again(world: dict[str, str], tmp_path: Path) -> None:
    extract = tmp_path / "extract.jsonl"
    lines = _extract(extract, 150)
    session = f"m-{uuid.uuid4().hex[:8]}"
    SimClient(world["kmd-opus"], session).fault(operation="OpretDebitorkonto", kind="error", status=503, count=40)
    first = final_extract(extract, _engine(world, tmp_path / "e.sqlite", session))
    assert first.taken == 150 and first.pending > 0  # the Opus outage leaves work pending
    restarted = _engine(world, tmp_path / "e.sqlite", session)  # a new process on the same database
    restarted.clock.advance(timedelta(hours=1))
    second = final_extract(extract, restarted)
    assert (second.taken, second.already_taken, second.pending) == (0, 150, 0)
    registered = _registered(world, session)
    assert sorted(registered) == sorted(line["fordringId"] for line in lines)
    assert len(registered) == len(set(registered))


def test_the_command_line_reports_the_trial_extract(world: dict[str, str], tmp_path: Path) -> None:
    extract = tmp_path / "extract.jsonl"
    _extract(extract, 20)
    report = tmp_path / "trial.json"
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "engine",
        "migrate",
        str(extract),
        "--dry-run",
        "--db",
        f"sqlite:///{tmp_path / 'cli.sqlite'}",
        "--fbs-url",
        world["fbs"],
        "--report",
        str(report),
    ]
    command += [arg for p in PROFILE_NAMES for arg in ("--debtor", f"{p}={world[p]}")]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "trial extract (nothing sent)" in run.stdout
    written = json.loads(report.read_text())
    assert written["final"] is False and written["lines"] == 24
    assert sum(m["send"] for m in written["municipalities"].values()) == 20
