"""Review and sign-off: only an approved run gets a certificate, signed with the service's key and accepted
by `oir verify-certificate` with the service's published public key; a rejected run gets none; a failed
requirement blocks approval unless the reviewer accepts a deviation for it; the board counts only
certificates the service signed, and flags a wave due soon that is not ready. And the tables that
compare: vendors side by side, and one system's requirements over its runs."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from harness.certification.keys import PUBLIC_KEY_FILE
from harness.cli import app
from harness.service import Service
from harness.service.models import Run
from tests.support.service_world import finished_run, sign_in, user


def _verify(certificate: Path, public_key: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify-certificate", str(certificate), "--public-key", str(public_key)])
    return result.exit_code, result.output


def _in_days(service: Service, days: int) -> str:
    return (service.now().date() + timedelta(days=days)).isoformat()


def test_an_approved_run_gets_a_certificate_the_service_key_verifies(
    client: TestClient, service: Service, tmp_path: Path
) -> None:
    run = finished_run(service, "vendor@eg.example", not_verified=("B01-ADD-CLAIMS", "ID-CVR-MOD11"))
    csrf = sign_in(client, "reviewer@kombit.example")
    assert f"/runs/{run}" in client.get("/review").text  # the finished run waits in the review queue
    page = client.get(f"/runs/{run}").text
    assert "B01-ADD-CLAIMS ID-CVR-MOD11" in page  # what the reviewer may accept
    answer = client.post(
        f"/runs/{run}/review",
        data={
            "csrf": csrf,
            "decision": "approve",
            "comment": "looks right",
            "deviation_requirements": "B01-ADD-CLAIMS, ID-CVR-MOD11",
            "deviation_reason": "no multi-claim accounts in EG's first release",
            "deviation_expires": _in_days(service, 90),
        },
    )
    assert answer.status_code == 303, answer.text
    assert f"/runs/{run}" not in client.get("/review").text
    document = client.get(f"/runs/{run}/certificate.json")
    assert document.status_code == 200
    certificate = tmp_path / "certificate.json"
    certificate.write_bytes(document.content)
    public = tmp_path / "kombit.pub.pem"
    public.write_bytes(client.get("/public-key.pem").content)
    code, output = _verify(certificate, public)
    assert code == 0, output
    signed = json.loads(document.content)["certificate"]
    assert signed["verdict"] == "CERTIFIED_WITH_DEVIATIONS"
    assert signed["requirements"]["notVerified"] == []
    assert [(d["requirement"], d["owner"], d["expires"]) for d in signed["requirements"]["acceptedDeviations"]] == [
        ("B01-ADD-CLAIMS", "reviewer@kombit.example", _in_days(service, 90)),
        ("ID-CVR-MOD11", "reviewer@kombit.example", _in_days(service, 90)),
    ]
    assert signed["issuer"]["reviewer"] == "reviewer@kombit.example" and signed["issuer"]["run"] == run
    # it rests on the deviations, so it ends with them (not 180 days on)
    assert signed["expires"] == f"{(service.now().date() + timedelta(days=91)).isoformat()}T00:00:00Z"
    # the run's own key (the runner's) is not KOMBIT's: the same certificate fails with it
    code, _ = _verify(certificate, service.runner_home / PUBLIC_KEY_FILE)
    assert code == 1
    vendor = TestClient(client.app, follow_redirects=False)
    sign_in(vendor, "vendor@eg.example")
    assert vendor.get(f"/runs/{run}/certificate.json").content == document.content  # the vendor gets it too


def test_a_rejected_run_gets_no_certificate(client: TestClient, service: Service) -> None:
    run = finished_run(service, "vendor@eg.example")
    csrf = sign_in(client, "reviewer@kombit.example")
    answer = client.post(f"/runs/{run}/review", data={"csrf": csrf, "decision": "reject", "comment": "no"})
    assert answer.status_code == 303
    assert client.get(f"/runs/{run}/certificate.json").status_code == 404
    assert not list(service.approved_dir.rglob("certificate.json"))
    assert 'class="rejected"' in client.get(f"/runs/{run}").text
    again = client.post(f"/runs/{run}/review", data={"csrf": csrf, "decision": "approve", "comment": "changed mind"})
    assert again.status_code == 400 and "not waiting for review" in again.text


def test_a_failed_requirement_blocks_approval_unless_a_deviation_accepts_it(
    client: TestClient, service: Service
) -> None:
    run = finished_run(service, "vendor@eg.example", failed=("B01-ANNUL",))
    csrf = sign_in(client, "reviewer@kombit.example")
    refused = client.post(f"/runs/{run}/review", data={"csrf": csrf, "decision": "approve", "comment": "ok"})
    assert refused.status_code == 400 and "B01-ANNUL failed" in refused.text
    assert client.get(f"/runs/{run}/certificate.json").status_code == 404
    approved = client.post(
        f"/runs/{run}/review",
        data={
            "csrf": csrf,
            "decision": "approve",
            "comment": "annulment fixed in the next release",
            "deviation_requirements": "B01-ANNUL",
            "deviation_reason": "fix promised for release 4.2",
            "deviation_expires": _in_days(service, 60),
        },
    )
    assert approved.status_code == 303, approved.text
    signed = client.get(f"/runs/{run}/certificate.json").json()["certificate"]
    assert signed["verdict"] == "CERTIFIED_WITH_DEVIATIONS" and signed["requirements"]["failed"] == []


def test_a_vendor_cannot_review_and_a_deviation_needs_a_future_expiry(client: TestClient, service: Service) -> None:
    run = finished_run(service, "vendor@eg.example")
    vendor_csrf = sign_in(client, "vendor@eg.example")
    assert (
        client.post(
            f"/runs/{run}/review", data={"csrf": vendor_csrf, "decision": "approve", "comment": "mine"}
        ).status_code
        == 404
    )
    assert client.get("/review").status_code == 404
    reviewer = TestClient(client.app, follow_redirects=False)
    csrf = sign_in(reviewer, "reviewer@kombit.example")
    past = (service.now().date() - timedelta(days=1)).isoformat()
    answer = reviewer.post(
        f"/runs/{run}/review",
        data={
            "csrf": csrf,
            "decision": "approve",
            "comment": "c",
            "deviation_requirements": "B01-ANNUL",
            "deviation_reason": "r",
            "deviation_expires": past,
        },
    )
    assert answer.status_code == 400 and "not in the future" in answer.text
    assert reviewer.get(f"/runs/{run}/certificate.json").status_code == 404


def test_the_board_counts_the_approved_certificate_and_flags_a_wave_due_soon(
    client: TestClient, service: Service
) -> None:
    csrf = sign_in(client, "reviewer@kombit.example")
    board = client.get("/board").text
    assert 'id="m-101"' in board and "No approved certificate." in board
    soon = (service.now().date() + timedelta(days=7)).isoformat()
    assert client.post("/board/waves/4", data={"csrf": csrf, "planned": soon}).status_code == 303
    board = client.get("/board").text
    assert '<section id="wave-4" class="near">' in board and f"planned {soon}" in board
    assert '<section id="wave-3" class="">' in board
    bad = client.post("/board/waves/4", data={"csrf": csrf, "planned": "next tuesday"})
    assert bad.status_code == 400 and "next tuesday" in bad.text
    # an approved run of a simulated system: rollout.py's rule blocks it (it proves the harness, not EG's system)
    run = finished_run(service, "vendor@eg.example")
    client.post(f"/runs/{run}/review", data={"csrf": csrf, "decision": "approve", "comment": "fine"})
    board = client.get("/board").text
    assert "the certificate is of the harness&#39;s simulator" in board
    assert "CERTIFIED (simulator), expires" in board
    vendor = TestClient(client.app, follow_redirects=False)
    vendor_csrf = sign_in(vendor, "vendor@eg.example")
    assert vendor.get("/board").status_code == 200  # everybody reads the board
    assert vendor.post("/board/waves/4", data={"csrf": vendor_csrf, "planned": soon}).status_code == 404


def test_vendors_side_by_side_highlights_where_approved_runs_differ(client: TestClient, service: Service) -> None:
    eg = finished_run(service, "vendor@eg.example", not_verified=("B01-ADD-CLAIMS", "ID-CVR-MOD11"))
    kmd = finished_run(
        service, "vendor@kmd.example", failed=("B01-ADD-CLAIMS",), passed=("B01-CREATE-ACCOUNT", "ID-CVR-MOD11")
    )
    csrf = sign_in(client, "reviewer@kombit.example")
    for run in (eg, kmd):
        answer = client.post(
            f"/runs/{run}/review",
            data={
                "csrf": csrf,
                "decision": "approve",
                "comment": "ok",
                "deviation_requirements": "B01-ADD-CLAIMS",
                "deviation_reason": "not in the first release",
                "deviation_expires": _in_days(service, 30),
            },
        )
        assert answer.status_code == 303, answer.text
    page = client.get("/compare").text
    assert "EG · EG test · eg" in page and "KMD · EG test · eg" in page
    rows = {name: (cells, marked == "near") for marked, name, cells in _matrix_rows(page)}
    assert rows["B01-CREATE-ACCOUNT"] == (["passed", "passed"], False)
    assert rows["B01-ADD-CLAIMS"] == (["accepted deviation", "accepted deviation"], False)  # a gap, a failure
    assert sorted(rows["ID-CVR-MOD11"][0]) == ["not verified", "passed"] and rows["ID-CVR-MOD11"][1]  # differs
    vendor = TestClient(client.app, follow_redirects=False)
    sign_in(vendor, "vendor@eg.example")
    assert vendor.get("/compare").status_code == 404  # one vendor's results are not another's to see


def _matrix_rows(page: str) -> list[tuple[str, str, list[str]]]:
    table = page[page.index('id="compare-requirements"') : page.index('id="compare-checks"')]
    found = []
    for marked, body in re.findall(r'<tr class="(near|)">(.*?)</tr>', table, re.S):
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", body)
        found.append((marked, cells[0], cells[1:-1]))
    return found


def test_a_systems_page_shows_each_requirement_over_its_runs(client: TestClient, service: Service) -> None:
    vendor = user(service, "vendor@eg.example")
    system = service.register_system(vendor, name="EG", profile="eg", debtor_url="simulated")
    outcomes = [
        {"passed": ["B01-CREATE-ACCOUNT"], "failed": ["B01-ANNUL"], "notVerified": [], "notApplicable": []},
        {"passed": ["B01-CREATE-ACCOUNT", "B01-ANNUL"], "failed": [], "notVerified": [], "notApplicable": []},
    ]
    for requirements in outcomes:
        run = service.start_run(vendor, system.id)
        folder = service.report_folder(run)
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps({"verdict": "CERTIFIED", "requirements": requirements}))
        with service.store.begin() as db:
            row = db.get(Run, run.id)
            assert row is not None
            row.status = "finished"
    sign_in(client, "vendor@eg.example")
    page = client.get(f"/systems/{system.id}").text
    table = page[page.index('id="trend"') :]
    rows = {
        name: (marked == "near", re.findall(r"<td[^>]*>([^<]*)</td>", cells))
        for marked, name, cells in re.findall(r'<tr class="(near|)"><td>([^<]+)</td>(.*?)</tr>', table, re.S)
    }
    assert rows["B01-ANNUL"] == (True, ["failed", "passed"])  # fixed in the second run: highlighted
    assert rows["B01-CREATE-ACCOUNT"] == (False, ["passed", "passed"])
