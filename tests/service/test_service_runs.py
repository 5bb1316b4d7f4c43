"""Runs: leased once (a lapsed lease of a dead instance is taken over), each certified by its own
`oir certify` process with the vendor's token in its environment only; started from CI (`oir service
start-run`, through the HTTP API), followed to the end, its report served to its organisation alone."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from harness.cli import app
from harness.servers import ServerThread
from harness.service import Service, Workers, create_app
from harness.service.models import Run
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
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str]]:
    """The service with one worker, listening on a free port (CI reaches it over HTTP)."""
    service = make_service(tmp_path_factory.mktemp("service-runs"), certify_args=QUICK, poll_s=0.2)
    server = ServerThread(create_app(service, Workers(service, 1)), name="service").start()
    try:
        yield service, server.url
    finally:
        server.stop()


def test_ci_starts_a_run_which_certifies_in_a_worker_and_is_shown_to_its_organisation_only(
    running: tuple[Service, str], tmp_path: Path
) -> None:
    service, url = running
    vendor = user(service, "vendor@eg.example")
    system = service.register_system(vendor, name="EG quick", profile="eg", debtor_url="simulated")
    token = service.create_token("vendor@eg.example", "ci")
    headers = {"Authorization": f"Bearer {token}"}
    assert [s["name"] for s in httpx.get(f"{url}/api/systems", headers=headers).json()] == ["EG quick"]
    (tmp_path / "token").write_text(token + "\n")
    started = CliRunner().invoke(
        app,
        ["service", "start-run", "--url", url, "--system", str(system.id), "--token-file", str(tmp_path / "token")],
        env={"OIR_SERVICE_TOKEN": None},
    )
    assert started.exit_code == 0, started.output  # certified; it now waits for KOMBIT's review
    run = int(started.output.split()[1])
    assert f"run {run}: finished, verdict CERTIFIED, review pending" in started.output
    result = httpx.get(f"{url}/api/runs/{run}", headers=headers).json()
    assert (result["status"], result["verdict"], result["exitCode"], result["review"]) == (
        "finished",
        "CERTIFIED",
        0,
        "pending",
    )
    checks = {c["check"]: c["status"] for c in result["checks"]}
    assert checks["registration"] == "passed" and len(checks) > 10
    with httpx.Client(base_url=url, follow_redirects=False) as web:
        sign_in(web, "vendor@eg.example")
        page = web.get(f"/runs/{run}").text
        assert 'id="status" class="status-finished">finished' in page and "eg: CERTIFIED" in page  # the log
        assert 'http-equiv="refresh"' not in page  # a finished run's page stops refreshing
        assert "<h1" in web.get(f"/runs/{run}/files/index.html").text  # its report
    with httpx.Client(base_url=url, follow_redirects=False) as web:
        sign_in(web, "vendor@kmd.example")
        assert web.get(f"/runs/{run}/files/index.html").status_code == 404
    kmd = {"Authorization": f"Bearer {service.create_token('vendor@kmd.example', 'ci')}"}
    assert httpx.get(f"{url}/api/runs/{run}", headers=kmd).status_code == 404
    refused = CliRunner().invoke(
        app, ["service", "start-run", "--url", url, "--system", str(system.id)], env={"OIR_SERVICE_TOKEN": "oirs_x"}
    )
    assert refused.exit_code == 2 and "answered 401" in refused.output


def test_a_run_that_hangs_is_stopped_at_the_limit_and_fails(tmp_path: Path) -> None:
    class _Hanging(Workers):
        def command(self, run: Run, out: Path) -> tuple[list[str], dict[str, str]]:
            return [
                sys.executable,
                "-c",
                "import time; print('eg [1/2] probe x (0 s)', flush=True); time.sleep(600)",
            ], {}

    service = make_service(tmp_path / "service", run_timeout_s=0.5, lease_s=3)
    vendor = user(service, "vendor@eg.example")
    run = service.start_run(vendor, service.register_system(vendor, name="EG", profile="eg", debtor_url="simulated").id)
    workers = _Hanging(service, 1)
    assert claim_run(service, workers.name) == run.id
    workers.execute(run.id, workers.name)  # returns once the process is stopped
    ended = service.run(vendor, run.id)
    assert (ended.status, ended.review) == ("failed", None)
    assert "stopped after 0 s (the service's limit for a run)" in service.log_file(ended).read_text()


def test_a_running_runs_page_shows_each_check_reached_and_refreshes_itself(
    client: TestClient, service: Service
) -> None:
    vendor = user(service, "vendor@eg.example")
    run = service.start_run(vendor, service.register_system(vendor, name="EG", profile="eg", debtor_url="simulated").id)
    service.runs_dir.joinpath(str(run.id)).mkdir(parents=True)
    service.log_file(run).write_text(
        "eg [1/17] contract fuzzing (schemathesis, oir-debitor-v3) (0 s)\neg [2/17] probe registration (8 s)\n"
    )
    sign_in(client, "vendor@eg.example")
    page = client.get(f"/runs/{run.id}").text
    assert '<meta http-equiv="refresh" content="2">' in page
    steps = re.findall(r"<li>([^<]+) <span class=\"muted\">(\w+)</span></li>", page)
    assert steps == [("contract fuzzing (schemathesis, oir-debitor-v3)", "done"), ("probe registration", "running")]
