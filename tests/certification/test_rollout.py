"""`oir rollout`: the 98 municipalities in their waves, each with its vendor's latest verified
certificate, its route and sortiment, and READY or the reasons it is not."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contracts.profile import profile_path
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
) -> None:
    certificate = build_certificate(
        profile=profile,
        product=profile,
        debtor_url=url,
        simulated=False,
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


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    _certificate(root / "old" / "kmd-opus", "kmd-opus", "NOT_CERTIFIED", age_days=30)  # superseded
    _certificate(root / "kmd-opus", "kmd-opus", "CERTIFIED", not_verified=["B01R-PAYMENT"])
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
    # what the certification could not verify is told to the acceptance testers, not hidden in READY
    assert rows["kmd-opus"].ready and rows["kmd-opus"].notes == ["not verified by the certification: B01R-PAYMENT"]
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
    assert any("NOT_CERTIFIED" in r and "failed: MSG-PROBLEM-JSON" in r for r in rows["prisme-2015"].reasons)


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
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "http" not in html.replace(OPUS_URL, "")
    assert "Wave 3 – Fujitsu Prisme (2015 with payment, 2015, 2009) – 7 of 25 ready" in html
    assert html.count("<tr data-code=") == 98 and "København" in html and "NOT READY" in html


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
