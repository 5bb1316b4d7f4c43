"""`oir rollout`: the 98 municipalities in their waves, each with its vendor's latest verified
certificate, its route and sortiment, and READY or the reasons it is not."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contracts.profile import Deviation, Profile, profile_path
from harness.certification.certificate import build_certificate, sign
from harness.certification.keys import harness_key, trusted_key
from harness.cli import app
from harness.rollout import make_board

runner = CliRunner()
NOW = datetime.now(UTC)  # real time: the board judges expiry as of now
OPUS_URL = "https://opus-test.example/oir"


def _certificate(
    folder: Path,
    profile: str,
    verdict: str,
    *,
    age_days: int = 1,
    url: str = OPUS_URL,
    not_verified: list[str] | None = None,
    not_applicable: list[str] | None = None,
    simulated: bool = False,
    results: dict[str, Any] | None = None,
) -> None:
    certificate = build_certificate(
        profile=profile,
        product=profile,
        debtor_url=url,
        simulated=simulated,
        seed=1,
        verdict=verdict,
        issued=NOW - timedelta(days=age_days),
        profile_file=profile_path(profile),
        passed=["B01-CREATE-ACCOUNT"],
        failed=[] if verdict != "NOT_CERTIFIED" else ["MSG-PROBLEM-JSON"],
        accepted_deviations=[],
        not_verified=not_verified,
        not_applicable=not_applicable,
    )
    folder.mkdir(parents=True)
    (folder / "certificate.json").write_text(json.dumps(sign(certificate, harness_key())), encoding="utf-8")
    if results is not None:  # what `oir certify` writes beside it
        (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
        (folder / "index.html").write_text("<html></html>", encoding="utf-8")


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    _certificate(root / "old" / "kmd-opus", "kmd-opus", "NOT_CERTIFIED", age_days=30)  # superseded
    _certificate(root / "kmd-opus", "kmd-opus", "CERTIFIED")
    _certificate(root / "prisme-2015-betaling", "prisme-2015-betaling", "CERTIFIED_WITH_DEVIATIONS")
    _certificate(root / "prisme-2015", "prisme-2015", "NOT_CERTIFIED")
    _certificate(root / "prisme-2009", "prisme-2009", "CERTIFIED", age_days=200)  # expired after 180 days
    return root  # and no certificate for eg


def _rows(reports: Path, routes: Path | None = None) -> dict[str, Any]:
    board = make_board(reports, routes, trusted_key(None), NOW)
    return {row.municipality.code: row for row in board.rows}


def test_waves_counts_and_readiness_in_the_simulated_world(reports: Path) -> None:
    board = make_board(reports, None, trusted_key(None), NOW)
    assert [row.municipality.code for row in board.wave(1)] == ["101"]
    assert {r.municipality.vendor for r in board.wave(2)} == {"kmd-opus"}
    assert {r.municipality.vendor for r in board.wave(3)} == {"prisme-2015-betaling", "prisme-2015", "prisme-2009"}
    assert {r.municipality.vendor for r in board.wave(4)} == {"eg"}
    assert board.summary() == {1: (1, 1), 2: (62, 62), 3: (7, 25), 4: (0, 10)}
    rows = {row.municipality.vendor: row for row in board.rows}
    assert rows["kmd-opus"].certificate and rows["kmd-opus"].certificate.verdict == "CERTIFIED"  # the latest
    assert rows["kmd-opus"].ready and rows["kmd-opus"].notes == []
    assert rows["prisme-2015-betaling"].ready and rows["prisme-2015-betaling"].notes
    assert any("NOT_CERTIFIED" in r for r in rows["prisme-2015"].reasons)
    assert any(re.match(r"certificate invalid: expired on", r) for r in rows["prisme-2009"].reasons)
    assert rows["eg"].reasons == ["no certificate for eg"]


def test_the_board_tells_what_does_not_apply_and_what_failed(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    _certificate(root / "eg", "eg", "CERTIFIED", not_applicable=["B03-NEXT-DAY", "B03-PAY", "B03-SEARCH"])
    _certificate(root / "prisme-2015", "prisme-2015", "NOT_CERTIFIED")
    rows = {row.municipality.vendor: row for row in make_board(root, None, trusted_key(None), NOW).rows}
    assert rows["eg"].ready
    assert rows["eg"].notes == ["not applicable to eg: B03-NEXT-DAY, B03-PAY, B03-SEARCH"]
    assert "NOT_CERTIFIED: failed requirements: MSG-PROBLEM-JSON" in rows["prisme-2015"].reasons


def test_a_routes_file_decides_route_sortiment_and_which_system_the_certificate_covers(
    reports: Path, tmp_path: Path
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "vendors:\n"
        f"  kmd-opus: {OPUS_URL}\n"
        "  prisme-2015-betaling: https://prisme.example/oir\n"
        "municipalities:\n"
        '  "147": {debtor_url: null}\n'
        '  "151": {products: {GEBYR: BIB-GEBYR, ERSTATNING: BIB-ERSTATNING}}\n'
        '  "153": {products: {GEBYR: BIB-GEBYR, ERSTATNING: BIB-X, ERSTATNING_ANERKENDT: BIB-ERSTATNING-ANERKENDT}}\n'
        '  "159": {debtor_url: "https://other-opus.example/oir"}\n',
        encoding="utf-8",
    )
    rows = _rows(reports, routes)
    assert rows["101"].ready and rows["101"].route == OPUS_URL
    assert "route not configured (no debtor URL for kmd-opus)" in rows["147"].reasons
    assert rows["151"].reasons == ["sortiment: FBS claim type ERSTATNING_ANERKENDT is not mapped"]
    assert rows["153"].reasons == ["sortiment: ERSTATNING maps to BIB-X, not in kmd-opus's sortiment"]
    assert rows["159"].reasons == [
        f"the certificate is for {OPUS_URL}, the route points at https://other-opus.example/oir"
    ]
    prisme = next(r for r in rows.values() if r.municipality.vendor == "prisme-2015-betaling")
    assert any("the route points at https://prisme.example/oir" in r for r in prisme.reasons)
    eg = next(r for r in rows.values() if r.municipality.vendor == "eg")
    assert "route not configured (no debtor URL for eg)" in eg.reasons


def test_the_command_prints_the_board_and_writes_a_self_contained_page(reports: Path, tmp_path: Path) -> None:
    page = tmp_path / "board.html"
    result = runner.invoke(app, ["rollout", "--reports", str(reports), "--html", str(page)], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "Wave 1 – Copenhagen (101): 1 of 1 ready" in result.output
    assert "Wave 4 – EG: 0 of 10 ready" in result.output and "no certificate for eg" in result.output
    assert "70 of 98 municipalities ready" in result.output
    assert "valid until" not in result.output  # a certificate is its verdict, and "expires …" only for a pass
    assert "prisme-2015: 0 of" in result.output and "certificate: NOT_CERTIFIED\n" in result.output
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "http" not in html.replace(OPUS_URL, "")
    assert "Wave 3 – Fujitsu Prisme (2015 with payment, 2015, 2009) – 7 of 25 ready" in html
    assert html.count("<tr data-code=") == 98 and "København" in html and "NOT READY" in html
    # links to the certificates, relative to the page, so the folder can be archived and opened offline
    assert 'href="reports/kmd-opus/certificate.json"' in html


def test_a_bad_routes_file_is_a_usage_error(reports: Path, tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    for text, message in [
        ("vendors: {opus: http://x}\n", "unknown vendor profile opus"),
        ('municipalities: {"999": {debtor_url: http://x}}\n', "no municipality with code 999"),
        ('municipalities: {"101": {url: http://x}}\n', "allowed keys are"),
        ("routes: [\n", "is not YAML"),
    ]:
        routes.write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["rollout", "--reports", str(reports), "--routes", str(routes)])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output


def test_a_requirement_not_verified_blocks_unless_the_profile_accepts_the_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """29 requirements not verified, B01R-PAYMENT among them, must not make 63 municipalities READY."""
    root = tmp_path / "reports"
    _certificate(root / "kmd-opus", "kmd-opus", "CERTIFIED", not_verified=["B01R-PAYMENT", "B01R-WRITE-OFF"])
    rows = _rows(root)
    assert not rows["101"].ready
    assert rows["101"].reasons == ["2 requirement(s) not verified by the certification: B01R-PAYMENT, B01R-WRITE-OFF"]

    import harness.rollout as rollout

    shipped = rollout.load_profile

    def accepting(name: str) -> Profile:
        profile = shipped(name)
        if name != "kmd-opus":
            return profile
        gap = Deviation(requirement="B01R-PAYMENT", owner="KOMBIT", reason="tested by hand", expires=date(2099, 1, 1))
        old = Deviation(requirement="B01R-WRITE-OFF", owner="KOMBIT", reason="lapsed", expires=date(2020, 1, 1))
        return profile.model_copy(update={"deviations": [gap, old]})

    monkeypatch.setattr(rollout, "load_profile", accepting)
    rows = _rows(root)
    assert rows["101"].reasons == ["1 requirement(s) not verified by the certification: B01R-WRITE-OFF"]
    assert rows["101"].notes == [
        "not verified, accepted by a deviation of the profile: B01R-PAYMENT (KOMBIT: tested by hand; until 2099-01-01)"
    ]


def test_a_simulator_certificate_never_makes_a_municipality_ready(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    _certificate(root / "sim" / "kmd-opus", "kmd-opus", "CERTIFIED", simulated=True)
    _certificate(root / "sim" / "eg", "eg", "CERTIFIED", simulated=True, age_days=1)
    _certificate(root / "vendor" / "eg", "eg", "CERTIFIED", age_days=3)  # older, but of EG's own system
    board = make_board(root, None, trusted_key(None), NOW)  # no --routes: the simulated world
    rows = {row.municipality.vendor: row for row in board.rows}
    assert rows["kmd-opus"].reasons == ["the certificate is of the harness's simulator, not of kmd-opus's system"]
    assert board.summary()[2] == (0, 62)
    assert rows["eg"].ready and rows["eg"].certificate and not rows["eg"].certificate.simulated


FAILED_RESULTS = {
    "fuzz": {"status": "passed"},
    "probes": [
        {"name": "problem-json-on-errors", "status": "failed", "requirements": ["MSG-PROBLEM-JSON"]},
        {"name": "payment-callback", "status": "not-run"},
    ],
    "pact": {"interactions": [{"check": "pact: a fee is registered", "status": "failed"}]},
    "scenarios": {"runs": [{"check": "scenario: routing", "status": "passed"}]},
}


def test_the_board_says_once_per_vendor_which_checks_block_with_links(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    _certificate(root / "kmd-opus", "kmd-opus", "NOT_CERTIFIED", results=FAILED_RESULTS)
    result = runner.invoke(app, ["rollout", "--reports", str(root), "--wave", "2"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    blocking = "NOT_CERTIFIED: failed checks: problem-json-on-errors, pact: a fee is registered; failed requirements:"
    assert result.output.count(blocking) == 1  # said once for the vendor, not on its 62 rows
    assert "blocks all 62" in result.output
    assert f"certificate: {root / 'kmd-opus' / 'certificate.json'}" in result.output
    assert f"report:      {root / 'kmd-opus' / 'index.html'}" in result.output
    assert "Wave 1" not in result.output and "Wave 4" not in result.output  # the chosen wave alone
    assert "wave 2: NOT READY (0 of 62 municipalities ready)" in result.output
    page = tmp_path / "board.html"
    runner.invoke(app, ["rollout", "--reports", str(root), "--html", str(page)])
    html = page.read_text(encoding="utf-8")
    assert html.count("failed checks: problem-json-on-errors") == 2  # once per group: wave 1 (101) and wave 2
    assert 'href="reports/kmd-opus/index.html"' in html


def test_json_output_and_the_wave_gate(reports: Path) -> None:
    ready = runner.invoke(app, ["rollout", "--reports", str(reports), "--wave", "1", "--output", "json"])
    assert ready.exit_code == 0, ready.output
    data = json.loads(ready.stdout)
    assert (data["ready"], data["total"], data["exitCode"]) == (1, 1, 0) and [w["wave"] for w in data["waves"]] == [1]
    vendor = data["waves"][0]["vendors"][0]
    assert vendor["profile"] == "kmd-opus" and vendor["certificate"]["verdict"] == "CERTIFIED"
    assert vendor["municipalities"] == [
        {"code": "101", "name": "København", "route": "simulated", "ready": True, "reasons": []}
    ]
    blocked = runner.invoke(
        app, ["rollout", "--reports", str(reports), "--wave", "3", "--wave", "4", "--output", "json"]
    )
    assert blocked.exit_code == 1, blocked.output
    data = json.loads(blocked.stdout)
    assert (data["ready"], data["total"]) == (7, 35)
    groups = {v["profile"]: v for w in data["waves"] for v in w["vendors"]}
    assert groups["eg"]["blocking"] == ["no certificate for eg"] and groups["eg"]["certificate"] is None
    assert groups["prisme-2009"]["certificate"]["valid"] is False
    assert all(m["reasons"] == [] for m in groups["eg"]["municipalities"])  # nothing repeated per row
    whole = runner.invoke(app, ["rollout", "--reports", str(reports)])
    assert whole.exit_code == 0  # no wave chosen: the board is information, not a gate
    assert runner.invoke(app, ["rollout", "--reports", str(reports), "--wave", "5"]).exit_code == 2


def test_a_reports_folder_that_does_not_exist_is_an_error_and_an_empty_one_a_warning(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["rollout", "--reports", str(tmp_path / "nonexistent")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x").mkdir()
    (empty / "x" / "certificate.json").write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["rollout", "--reports", str(empty)])
    assert result.exit_code == 0 and "0 of 98 municipalities ready" in result.output
    assert "warning: skipped" in result.output and "is not JSON" in result.output
    gate = runner.invoke(app, ["rollout", "--reports", str(empty), "--wave", "1"])
    assert gate.exit_code == 1  # 0 of 1 ready in the wave asked for is not a success
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    assert "warning: no certificate.json under" in runner.invoke(app, ["rollout", "--reports", str(nothing)]).output


def test_the_board_in_a_real_browser_links_the_report_and_says_what_blocks_once(tmp_path: Path) -> None:
    from tests.support.browser import rendered_dom, screenshot

    root = tmp_path / "reports"
    _certificate(root / "kmd-opus", "kmd-opus", "NOT_CERTIFIED", results=FAILED_RESULTS)
    _certificate(root / "eg", "eg", "CERTIFIED", not_applicable=["B03-PAY"])
    page = tmp_path / "board.html"
    assert runner.invoke(app, ["rollout", "--reports", str(root), "--html", str(page)]).exit_code == 0
    dom = rendered_dom(page)
    wave2 = re.search(r'<section class="vendor" data-wave="2" data-profile="kmd-opus">.*?</section>', dom, re.S)
    assert wave2 and wave2.group(0).count("failed checks: problem-json-on-errors") == 1
    assert wave2.group(0).count("NOT READY") == 62
    links = re.findall(r'href="([^"]+)"', dom)
    assert links and all((page.parent / link).is_file() for link in links)  # every link opens a file
    assert re.search(r'data-profile="eg">.*?10 of 10 ready', dom, re.S)
    png = screenshot(page, tmp_path / "board.png")
    assert png.stat().st_size > 10_000  # a rendered page, not an empty canvas
