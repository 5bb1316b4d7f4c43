"""The service on PostgreSQL with two instances sharing the work: runs queued at once are executed once
each (leases with FOR UPDATE SKIP LOCKED and a conditional UPDATE), and the audit trail is append-only
there too. The certification process is replaced by a tiny one that records which instance ran which run,
so the test is about the sharing, in seconds; the real process is tests/service/test_service_runs.py's."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from harness.service import Service, Workers
from harness.service.models import Run
from harness.service.runner import claim_run
from tests.support.postgres import throwaway_postgres
from tests.support.service_world import make_service, user


class _Recording(Workers):
    """Workers whose run is one line appended to `ledger`: who ran what."""

    def __init__(self, service: Service, count: int, ledger: Path) -> None:
        super().__init__(service, count)
        self.ledger = ledger

    def command(self, run: Run, out: Path) -> tuple[list[str], dict[str, str]]:
        script = f"open({str(self.ledger)!r}, 'a').write('{run.id} {self.name}\\n'); print('eg [1/1] recorded (0 s)')"
        return [sys.executable, "-c", script], {}


def test_two_instances_on_postgresql_execute_each_run_once(tmp_path: Path) -> None:
    with throwaway_postgres() as url:
        first = make_service(tmp_path / "one", database_url=url, poll_s=0.05)
        from harness.service import ServiceConfig

        second = Service(ServiceConfig(data_dir=tmp_path / "two", database_url=url, poll_s=0.05))
        vendor = user(first, "vendor@eg.example")
        system = first.register_system(vendor, name="EG", profile="eg", debtor_url="simulated")
        ledger = tmp_path / "ledger.txt"
        instances = [_Recording(first, 2, ledger), _Recording(second, 2, ledger)]
        for workers in instances:
            workers.start()
        try:
            runs = [first.start_run(vendor, system.id).id for _ in range(8)]
            second.queued.set()
            deadline = time.monotonic() + 120
            while any(first.run(vendor, r).status in ("queued", "running") for r in runs):
                assert time.monotonic() < deadline, "runs still waiting after 120 s"
                time.sleep(0.05)  # polling a condition with a deadline
        finally:
            for workers in instances:
                workers.stop()
        lines = ledger.read_text().split("\n")[:-1]
        executed = sorted(int(line.split()[0]) for line in lines)
        assert executed == sorted(runs)  # each run once, none twice, none left out
        assert all(first.run(vendor, r).attempts == 1 for r in runs)
        assert {line.split()[1] for line in lines} <= {w.name for w in instances}
        with pytest.raises(DBAPIError, match="append-only"), second.store.begin() as db:
            db.execute(text("DELETE FROM svc_audit"))
        with first.store() as db:
            assert db.scalar(select(Run.status).where(Run.id == runs[0])) == "failed"  # no results.json: failed


def test_two_instances_on_postgresql_lease_one_run_of_a_vendor_system_at_a_time(tmp_path: Path) -> None:
    """Six workers of two instances leasing at the same moment, six runs of one vendor's system queued:
    one worker gets one of them — the system's row, locked while a run of it is leased, keeps the others from
    taking a second (each would see the system idle in its own snapshot otherwise)."""
    with throwaway_postgres() as url:
        first = make_service(tmp_path / "one", database_url=url)
        from harness.service import ServiceConfig

        second = Service(ServiceConfig(data_dir=tmp_path / "two", database_url=url))
        vendor = user(first, "vendor@eg.example")
        system = first.register_system(
            vendor, name="EG", profile="eg", debtor_url="https://eg.example/oir", debtor_token="t"
        )
        runs = [first.start_run(vendor, system.id).id for _ in range(6)]
        start = threading.Barrier(6)
        won: list[int | None] = []

        def lease(service: Service, name: str) -> None:
            start.wait()
            won.append(claim_run(service, name))

        threads = [
            threading.Thread(target=lease, args=(service, f"{n}-{service is first}"))
            for n, service in enumerate([first, second] * 3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        leased = [r for r in won if r is not None]
        assert len(leased) == 1 and won.count(None) == 5  # one run leased; the others wait their turn
        assert sorted(first.run(vendor, r).status for r in runs) == ["queued"] * 5 + ["running"]
        assert claim_run(second, "later") is None  # still leased: the other instance does not take a second


def test_two_instances_registering_at_once_never_give_two_systems_one_port(tmp_path: Path) -> None:
    pool = {"advertise_host": "cert.kombit.example", "run_ports": (9100, 9111)}  # six pairs for six systems
    with throwaway_postgres() as url:
        first = make_service(tmp_path / "one", database_url=url, **pool)
        from harness.service import ServiceConfig

        second = Service(ServiceConfig(data_dir=tmp_path / "two", database_url=url, **pool))  # type: ignore[arg-type]
        vendor = user(first, "vendor@eg.example")
        start = threading.Barrier(6)

        def register(service: Service, name: str) -> None:
            start.wait()
            service.register_system(
                vendor, name=name, profile="eg", debtor_url="https://eg.example", debtor_token="t", callback_token="c"
            )

        threads = [
            threading.Thread(target=register, args=(service, f"EG {n}"))
            for n, service in enumerate([first, second] * 3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        systems = first.systems(vendor)
        ports = [p.port for s in systems for p in s.ports]
        assert len(systems) == 6 and sorted(ports) == list(range(9100, 9112))  # each port once, every pair used
        assert all(s.port("psrm") == s.port("callback") + 1 for s in systems)  # type: ignore[operator]
