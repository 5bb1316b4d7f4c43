"""Runs: leased once (a lapsed lease of a dead instance is taken over), each certified by its own
`oir certify` process with the vendor's token in its environment only; started through the HTTP API,
watched to the end, its report served to its organisation alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from harness.service import Service, Workers, create_app
from harness.service.runner import claim_run, renew_lease
from tests.support.service_world import QUICK, Clock, make_service, sign_in, user


def test_a_run_is_leased_once_and_taken_over_when_its_lease_lapses(tmp_path: Path) -> None:
    clock = Clock(datetime.now(UTC))
    service = make_service(tmp_path / "service", clock=clock, lease_s=60)
    vendor = user(service, "vendor@eg.example")
    system = service.register_system(vendor, name="EG", profile="eg", debtor_url="simulated")
    run = service.start_run(vendor, system.id)
    winners: list[int | None] = []
    start = threading.Barrier(6)

    def worker(name: str) -> None:
        start.wait()
        winners.append(claim_run(service, name))

    threads = [threading.Thread(target=worker, args=(f"instance-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(winners, key=str) == [run.id, *[None] * 5]  # one of six workers took it, the others nothing
    owner = service.run(vendor, run.id).lease_owner
    assert owner is not None and renew_lease(service, run.id, owner)
    assert claim_run(service, "another") is None  # leased: nobody else takes it
    clock.moment += timedelta(seconds=61)  # the owner died: its lease lapses
    assert claim_run(service, "another") == run.id
    assert not renew_lease(service, run.id, owner)  # the old owner learns it lost the run
    assert service.run(vendor, run.id).attempts == 2


def test_a_vendor_systems_token_reaches_the_run_in_its_environment_only(tmp_path: Path) -> None:
    service = make_service(tmp_path / "service")
    vendor = user(service, "vendor@eg.example")
    system = service.register_system(
        vendor, name="EG", profile="eg", debtor_url="https://eg.example/oir", debtor_token="tok-4711"
    )
    run = service.start_run(vendor, system.id)
    argv, env = Workers(service, 1).command(run, tmp_path / "out")
    assert argv[argv.index("--debtor-url") + 1] == "https://eg.example/oir" and "--no-wait" in argv
    assert not any("tok-4711" in a for a in argv)
    assert env["OIR_DEBTOR_TOKEN"] == "tok-4711" and env["OIR_HOME"] == str(service.runner_home)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, TestClient]]:
    service = make_service(tmp_path_factory.mktemp("service-runs"), certify_args=QUICK, poll_s=0.2)
    with TestClient(create_app(service, Workers(service, 1)), follow_redirects=False) as web:
        yield service, web


def _wait_for_end(web: TestClient, run: int, headers: dict[str, str], timeout: float = 300.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        body = web.get(f"/api/runs/{run}", headers=headers).json()
        if body["status"] not in ("queued", "running"):
            return dict(body)
        assert time.monotonic() < deadline, f"run {run} still {body['status']} after {timeout} s"
        time.sleep(0.2)  # polling a condition with a deadline


def test_a_run_started_through_the_api_certifies_in_a_worker_and_is_shown_to_its_organisation_only(
    running: tuple[Service, TestClient],
) -> None:
    service, web = running
    vendor = user(service, "vendor@eg.example")
    system = service.register_system(vendor, name="EG quick", profile="eg", debtor_url="simulated")
    headers = {"Authorization": f"Bearer {service.create_token('vendor@eg.example', 'ci')}"}
    assert [s["name"] for s in web.get("/api/systems", headers=headers).json()] == ["EG quick"]
    started = web.post(f"/api/systems/{system.id}/runs", headers=headers)
    assert started.status_code == 202 and started.json()["status"] in ("queued", "running")
    result = _wait_for_end(web, started.json()["id"], headers)
    assert (result["status"], result["verdict"], result["exitCode"], result["review"]) == (
        "finished",
        "CERTIFIED",
        0,
        "pending",
    )
    checks = {c["check"]: c["status"] for c in result["checks"]}  # type: ignore[union-attr]
    assert checks["registration"] == "passed" and len(checks) > 10
    run = int(str(result["id"]))
    sign_in(web, "vendor@eg.example")
    page = web.get(f"/runs/{run}").text
    assert 'id="status" class="status-finished">finished' in page and "eg: CERTIFIED" in page  # the log
    assert 'http-equiv="refresh"' not in page  # a finished run's page stops refreshing
    assert "<h1" in web.get(f"/runs/{run}/files/index.html").text  # its report
    web.cookies.clear()
    sign_in(web, "vendor@kmd.example")
    assert web.get(f"/runs/{run}/files/index.html").status_code == 404
    kmd = {"Authorization": f"Bearer {service.create_token('vendor@kmd.example', 'ci')}"}
    assert web.get(f"/api/runs/{run}", headers=kmd).status_code == 404
