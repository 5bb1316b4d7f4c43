"""A vendor's system on another machine (`oir service serve --advertise-host H --run-ports A-B`): each
registered system keeps a fixed (callback, PSRM) port pair from the pool, never another system's; its runs
listen there and tell the vendor http://H:port; its page says what to configure; and its runs execute one
at a time (the lease query passes over a run whose system is busy). Without `--advertise-host` a run
listens on free loopback ports, as before."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from typer.testing import CliRunner

from harness.callback_relay import PREFLIGHT_HEADER
from harness.cli import app
from harness.servers import ServerThread, free_ports
from harness.service import Service, ServiceError, Workers, create_app
from harness.service.runner import claim_run
from tests.support.misbehaving import AsARealSystem, vendor_debtor
from tests.support.service_world import QUICK, Clock, make_service, sign_in, user

ELSEWHERE = {"advertise_host": "cert.kombit.example", "run_ports": (9100, 9103)}


def _register(service: Service, email: str, name: str, url: str = "https://vendor.example/oir") -> int:
    person = user(service, email)
    return service.register_system(
        person, name=name, profile="eg", debtor_url=url, debtor_token="debtor-secret", callback_token="cb-secret"
    ).id


def test_each_vendor_system_keeps_its_own_port_pair_and_its_page_says_what_to_configure(tmp_path: Path) -> None:
    service = make_service(tmp_path / "service", **ELSEWHERE)
    eg, kmd = _register(service, "vendor@eg.example", "EG"), _register(service, "vendor@kmd.example", "KMD")
    simulated = service.register_system(user(service, "vendor@eg.example"), name="sim", profile="eg", debtor_url="")
    reviewer = user(service, "reviewer@kombit.example")
    ports = {s.name: (s.port("callback"), s.port("psrm")) for s in service.systems(reviewer)}
    assert ports == {"EG": (9100, 9101), "KMD": (9102, 9103), "sim": (None, None)}
    with pytest.raises(ServiceError, match="no free port pair left in the service's pool 9100-9103"):
        _register(service, "vendor@eg.example", "EG 2")
    assert [s.name for s in service.systems(reviewer)] == ["EG", "KMD", "sim"]  # nothing half-registered
    with pytest.raises(ServiceError, match="needs a callback token"):
        service.register_system(
            user(service, "vendor@eg.example"), name="x", profile="eg", debtor_url="https://x.example", debtor_token="t"
        )

    argv, _ = Workers(service, 1).command(service.start_run(user(service, "vendor@kmd.example"), kmd), tmp_path)
    expected = {
        "--bind": "0.0.0.0",
        "--callback-port": "9102",
        "--psrm-port": "9103",
        "--callback-url": "http://cert.kombit.example:9102",
        "--psrm-url": "http://cert.kombit.example:9103",
    }
    assert {option: argv[argv.index(option) + 1] for option in expected} == expected
    argv, _ = Workers(service, 1).command(service.start_run(user(service, "vendor@eg.example"), simulated.id), tmp_path)
    assert "--callback-port" not in argv and "--bind" not in argv  # a simulator per run: free loopback ports

    with TestClient(create_app(service), follow_redirects=False) as web:
        sign_in(web, "vendor@eg.example")
        page = web.get(f"/systems/{eg}").text
        assert '<code id="psrm-url">http://cert.kombit.example:9101</code>' in page
        assert '<code id="callback-url">http://cert.kombit.example:9100</code>' in page
        assert "http://cert.kombit.example:9100/daekningafskrivning" in page
        assert "cb-secret" not in page and "debtor-secret" not in page  # the tokens are hinted at, never shown
        assert "psrm-url" not in web.get(f"/systems/{simulated.id}").text
        bearer = {"Authorization": f"Bearer {service.create_token('vendor@eg.example', 'ci')}"}
        listed = {
            s["name"]: (s.get("callbackUrl"), s.get("psrmUrl")) for s in web.get("/api/systems", headers=bearer).json()
        }
        assert listed == {
            "EG": ("http://cert.kombit.example:9100", "http://cert.kombit.example:9101"),
            "sim": (None, None),
        }


def test_without_an_advertised_host_a_run_listens_on_free_loopback_ports(tmp_path: Path) -> None:
    service = make_service(tmp_path / "service")
    system = _register(service, "vendor@eg.example", "EG")
    argv, _ = Workers(service, 1).command(service.start_run(user(service, "vendor@eg.example"), system), tmp_path)
    assert not {"--bind", "--callback-port", "--psrm-port", "--callback-url", "--psrm-url"} & set(argv)
    assert service.systems(user(service, "vendor@eg.example"))[0].ports == []


def test_a_system_registered_before_the_service_advertised_itself_gets_its_pair_at_its_next_run(
    tmp_path: Path,
) -> None:
    system = _register(make_service(tmp_path / "service"), "vendor@eg.example", "EG")
    from harness.service import ServiceConfig

    service = Service(ServiceConfig(data_dir=tmp_path / "service", **ELSEWHERE))  # type: ignore[arg-type]
    run = service.start_run(user(service, "vendor@eg.example"), system)
    assert (run.system.port("callback"), run.system.port("psrm")) == (9100, 9101)


def test_two_runs_of_one_system_are_leased_one_after_the_other(tmp_path: Path) -> None:
    clock = Clock(datetime.now(UTC))
    service = make_service(tmp_path / "service", clock=clock, lease_s=60, **ELSEWHERE)
    vendor = user(service, "vendor@eg.example")
    system = _register(service, "vendor@eg.example", "EG")
    simulated = service.register_system(vendor, name="sim", profile="eg", debtor_url="simulated").id
    first, second = service.start_run(vendor, system).id, service.start_run(vendor, system).id
    sims = [service.start_run(vendor, simulated).id for _ in range(2)]
    assert claim_run(service, "worker-1") == first
    # the second run of the busy system waits; the simulated system's runs do not wait for each other
    assert [claim_run(service, f"worker-{n}") for n in (2, 3, 4)] == [*sims, None]
    assert service.run(vendor, second).status == "queued"
    Workers(service, 1)._record(first, "worker-1", "finished", 1, "NOT_CERTIFIED", "not certified")
    assert claim_run(service, "worker-2") == second  # the system is idle again
    clock.moment += timedelta(seconds=61)  # worker-2 died: its lease lapses, the run is taken over
    assert claim_run(service, "worker-5") == second


class _Looks:
    """The vendor's system, which on the first write the run sends it — the run's counterparts are up by
    then — looks for them at the ports it was configured with: what PSRM and the callback receiver answer."""

    def __init__(self, app: ASGIApp, first: int, reached: dict[str, int]) -> None:
        self.app, self.first, self.reached = app, first, reached

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not self.reached:
            async with httpx.AsyncClient(timeout=10) as client:
                psrm = await client.get(f"http://127.0.0.1:{self.first + 1}/openapi.json")
                callback = await client.post(  # marked as a probe: not a message of the vendor's
                    f"http://127.0.0.1:{self.first}/daekningafskrivning", json={}, headers={PREFLIGHT_HEADER: "1"}
                )
            self.reached.update(psrm=psrm.status_code, callback=callback.status_code)
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, int]]:
    """A service advertising 127.0.0.1 with a pool of one pair, its runs bound to 127.0.0.1, one worker."""
    first = free_ports(2)  # both recorded as handed out: no later free_port() of this worker takes the second
    service = make_service(
        tmp_path_factory.mktemp("service-remote"),
        certify_args=QUICK,
        poll_s=0.2,
        advertise_host="127.0.0.1",
        run_ports=(first, first + 1),
        run_bind="127.0.0.1",
    )
    server = ServerThread(create_app(service, Workers(service, 1)), name="service").start()
    try:
        yield service, first
    finally:
        server.stop()


def test_a_run_of_a_vendor_system_listens_on_its_ports_and_tells_the_vendor_the_advertised_urls(
    elsewhere: tuple[Service, int],
) -> None:
    service, first = elsewhere
    # the vendor configured its system with what the system's page says: callback first, PSRM next
    system = vendor_debtor("eg", callback_port=first, psrm_port=first + 1, callback_token="cb-secret")
    reached: dict[str, int] = {}
    with ServerThread(_Looks(AsARealSystem(system), first, reached), name="vendor-eg", log_level="critical") as debtor:
        vendor = user(service, "vendor@eg.example")
        registered = service.register_system(
            vendor,
            name="EG",
            profile="eg",
            debtor_url=debtor.url,
            debtor_token="oir-dev-token",
            callback_token="cb-secret",
        )
        assert (registered.port("callback"), registered.port("psrm")) == (first, first + 1)
        run = service.start_run(vendor, registered.id).id
        deadline = time.monotonic() + 600
        while service.run(vendor, run).status in ("queued", "running"):
            assert time.monotonic() < deadline, "the run did not end within 600 s"
            time.sleep(0.2)  # polling a condition with a deadline
    ended = service.run(vendor, run)
    log = service.log_file(ended).read_text()
    assert ended.status == "finished", log[-3000:]
    assert f"PSRM URL:            http://127.0.0.1:{first + 1}" in log
    assert f"callback (fagsystem) http://127.0.0.1:{first}" in log
    results = service.results(ended)
    assert results is not None
    assert (ended.verdict, ended.exit_code) == ("CERTIFIED", 0)
    # while the run went on, the vendor's system found PSRM and the callback receiver where it was told
    assert reached == {"psrm": 200, "callback": 401}, reached


def test_serve_reads_where_vendors_systems_reach_the_runs(tmp_path: Path) -> None:
    from harness.service.commands import config, remote

    base = config(tmp_path / "service", None)
    options = remote(base, "[2001:db8::7]", "9100-9199", None)
    assert (options.advertise_host, options.run_ports, options.run_bind) == ("2001:db8::7", (9100, 9199), "0.0.0.0")
    assert options.advertised(9100) == "http://[2001:db8::7]:9100"
    assert remote(base, None, None, None) == base  # as before: loopback, free ports
    reach = ["--advertise-host", "h.example", "--run-ports", "9100-9199"]
    result = CliRunner().invoke(app, ["service", "serve", "--data-dir", str(tmp_path / "s"), *reach, "--port", "9150"])
    assert result.exit_code == 2 and "--port 9150 lies in --run-ports 9100-9199" in result.output


def test_a_system_that_offers_test_control_is_certified_with_it(tmp_path: Path) -> None:
    service = make_service(tmp_path / "service")
    person = user(service, "vendor@eg.example")
    system = service.register_system(
        person, name="EG", profile="eg", debtor_url="https://eg.example", debtor_token="t", test_control=True
    )
    argv, _ = Workers(service, 1).command(service.start_run(person, system.id), tmp_path)
    assert "--test-control" in argv
