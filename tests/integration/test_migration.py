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


def _go_live_world(
    world: dict[str, str], tmp_path: Path, *, with_events: bool, disputed: bool = False
) -> tuple[Path, str | None, str, str]:
    """A municipality's claim made, partly paid at the desk and written down in FBS before go-live, and
    FBS's extract of it (without the `haendelser` it includes when `with_events` is false)."""
    session = f"g-{uuid.uuid4().hex[:8]}"
    fbs = SimClient(world["fbs"], session)
    copenhagen = for_vendor("kmd-opus")[0]
    person = SyntheticData(seed=77).person()
    borrower = fbs.post("/laanere", {"cpr": person.cpr, "navn": person.name}, cvr=copenhagen.cvr).json()
    claim = fbs.post(
        "/fordringer",
        {"laanerId": borrower["laanerId"], "type": "GEBYR", "beloebOere": 30000, "tekst": "Gebyr"},
        cvr=copenhagen.cvr,
    ).json()
    for amount, reason in ((5000, "DIREKTE_BETALING"), (10000, "AENDRET_GRUNDLAG")):
        written = fbs.post(
            f"/fordringer/{claim['fordringId']}/nedskrivninger",
            {"beloebOere": amount, "virkningsdato": "2026-01-05", "aarsag": reason},
            cvr=copenhagen.cvr,
        )
        assert written.status_code == 200, written.text
    if disputed:
        body = {"begrundelse": "Bogen er afleveret"}
        assert fbs.post(f"/fordringer/{claim['fordringId']}/indsigelse", body, cvr=copenhagen.cvr).status_code == 200
    answer = fbs.get("/migrering/udtraek", cvr=copenhagen.cvr)
    assert answer.status_code == 200, answer.text
    extract = answer.json()
    (line,) = extract["fordringer"]
    assert [w["beloebOere"] for w in line["nedskrivninger"]] == [5000, 10000]
    assert len(line["haendelser"]) == 3 + disputed
    line["sidsteRettidigeBetalingsdato"] = "2026-01-05"
    line["rykkere"] = [{"nummer": 1, "dato": "2026-01-05"}]
    if not with_events:
        line["haendelser"] = []
    path = tmp_path / "extract.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    return path, extract["afskaeringsCursor"], session, claim["fordringId"]


def _debtor_claim(world: dict[str, str], session: str, claim_id: str) -> dict[str, Any]:
    debtor = SimClient(world["kmd-opus"], session, cvr=for_vendor("kmd-opus")[0].cvr)
    (entry,) = [e for e in debtor.journal("OpretDebitorkonto") if e["status"] == 201]
    account = debtor.get(f"/debitorkonti/{entry['requestBody']['debitorkontoId']}").json()
    return next(c for c in account["fordringer"] if c["fordringId"] == claim_id)


def test_go_live_registers_the_history_once_and_the_feed_sends_none_of_it_again(
    world: dict[str, str], tmp_path: Path
) -> None:
    """The extract's events are recorded as read: even a feed read from its very start sends nothing twice."""
    extract, _, session, claim_id = _go_live_world(world, tmp_path, with_events=True)
    engine = _engine(world, tmp_path / "e.sqlite", session)
    report = final_extract(extract, engine)  # no cut-off given: the feed starts at the beginning
    assert (report.taken, report.delivered, report.pending, report.feed_from) == (1, 3, 0, None)
    engine.cycle()
    engine.cycle()
    seen = _debtor_claim(world, session, claim_id)
    assert seen["saldoOere"] == 15000  # 300 kr less 50 kr paid at the desk and 100 kr forgiven, once each
    assert [r["dato"] for r in seen["rykkere"]] == ["2026-01-05"]
    assert seen["sidsteRettidigeBetalingsdato"] == "2026-01-05"
    debtor = SimClient(world["kmd-opus"], session)
    assert len(debtor.journal("OpretDebitorkonto")) == 1
    writes_down = [e for e in debtor.journal(direction="in") if e["method"] == "POST" and "/tilstand" in e["path"]]
    assert [e["requestBody"]["beloebOere"] for e in writes_down] == [5000, 10000]  # once each


def test_go_live_starts_the_feed_at_the_extracts_cut_off(world: dict[str, str], tmp_path: Path) -> None:
    """Without the events in the lines, the cut-off alone keeps the feed from sending the claim again."""
    extract, cut_off, session, claim_id = _go_live_world(world, tmp_path, with_events=False)
    assert cut_off is not None
    engine = _engine(world, tmp_path / "e.sqlite", session)
    report = final_extract(extract, engine, feed_from=cut_off)
    assert report.feed_from == cut_off
    engine.cycle()
    assert _debtor_claim(world, session, claim_id)["saldoOere"] == 15000
    assert len(SimClient(world["kmd-opus"], session).journal("OpretDebitorkonto")) == 1


def test_a_historic_claim_with_nothing_open_is_refused(world: dict[str, str], tmp_path: Path) -> None:
    extract, _, session, _ = _go_live_world(world, tmp_path, with_events=True)
    line = json.loads(extract.read_text(encoding="utf-8"))
    line["nedskrivninger"].append({"beloebOere": 15000, "virkningsdato": "2026-01-05", "aarsag": "ANDET"})
    extract.write_text(json.dumps(line) + "\n", encoding="utf-8")
    report = trial_extract(extract, _engine(world, tmp_path / "e.sqlite", session).routes)
    assert [r["code"] for r in report.rejected_lines] == ["MIGRATION-NOT-OPEN"]


def test_a_claim_disputed_at_the_cut_off_goes_live_on_a_payment_hold(world: dict[str, str], tmp_path: Path) -> None:
    """FBS's extract carries a dispute still open at the cut-off; the final extract puts the claim on a payment
    hold without end date at the debtor (the feed that starts at the cut-off never sends the dispute)."""
    extract, cut_off, session, claim_id = _go_live_world(world, tmp_path, with_events=True, disputed=True)
    line = json.loads(extract.read_text(encoding="utf-8"))
    assert line["indsigelse"] == {"dato": "2026-01-05", "begrundelse": "Bogen er afleveret"}
    engine = _engine(world, tmp_path / "e.sqlite", session)
    report = final_extract(extract, engine, feed_from=cut_off)
    assert (report.taken, report.delivered, report.pending) == (1, 4, 0)
    engine.cycle()
    hold = _debtor_claim(world, session, claim_id)["betalingsstandsning"]
    assert hold["aarsag"] == "INDSIGELSE" and "til" not in hold
