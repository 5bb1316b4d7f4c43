"""The service's workers: each takes a queued run, certifies in its own `oir certify` process, and records
the outcome — with a limit on how many run at once (`--workers N`) and the database as the queue.

Runs are leased the way the engine leases its outbox messages (integration/delivery.py): a worker picks
the oldest queued run — or a running one whose lease lapsed, because the instance running it died — with
`SELECT … FOR UPDATE SKIP LOCKED`, and takes it with a conditional UPDATE (`WHERE id = … AND` still
free) that only one worker can win. On PostgreSQL, SKIP LOCKED lets several instances of the service
lease side by side without waiting on each other's locked rows; on SQLite (which ignores FOR UPDATE)
the conditional UPDATE alone makes the lease atomic. A worker renews its lease while the run goes on and
stops the process if it lost the lease (another worker then owns the run).

A vendor's system is certified by one run at a time: two runs against one system would mix their data (and
one's test control would move the other's business date), and on a service that advertises itself they
would both listen on the system's fixed ports. So the lease query passes over a queued run whose system
has a run under a live lease — in the database, so it holds across instances — and, on PostgreSQL, locks
the system's row (`FOR NO KEY UPDATE`) before it takes a run, so two instances leasing two runs of one
system at the same moment cannot both see it idle; on SQLite the conditional UPDATE, which re-checks that
the system is idle, is one atomic statement. Simulated systems (a simulator per run) run side by side.

The database rather than a
task library (Celery, Dramatiq, procrastinate): the service already has one, SQLite needs no broker,
and the engine's lease approach is proven in this code base.

One process per run: a run starts its own simulators, PSRM and callback receiver — on free loopback ports,
or, on a service that advertises itself (`--advertise-host H --run-ports A-B`), on the system's fixed pair,
bound to `--run-bind` and advertised as http://H:port, so a vendor's system elsewhere reaches them — and a
crash or a hang of one run cannot touch another or the service. The vendor's token reaches the process
through its environment (`OIR_DEBTOR_TOKEN`), never its command line, where `ps` would show it. Each
run's process has its own `OIR_HOME` (the runner's key signs the run's own certificate, which the
service checks before a reviewer can approve it; KOMBIT's key never leaves the service).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import aliased

from .core import Service
from .models import FAILED, FINISHED, PENDING, QUEUED, RUNNING, Run, TestSystem

log = logging.getLogger("oir.service")
PROGRESS = re.compile(r"^\S+ \[(\d+)/(\d+)\] (.+?)(?: \(\d+ s\))?$")
_SECRET_VARIABLES = ("OIR_DEBTOR_TOKEN", "OIR_CALLBACK_TOKEN", "OIR_FOREIGN_TOKEN", "OIR_SIGNING_KEY", "OIR_PUBLIC_KEY")


def claim_run(service: Service, owner: str) -> int | None:
    """Lease the next run for `owner`: its id, or None when nothing waits."""
    now = service.now()
    until = now + timedelta(seconds=service.config.lease_s)
    other = aliased(Run)
    busy = select(other.system_id).where(other.status == RUNNING, other.leased_until >= now)
    simulated = select(TestSystem.id).where(TestSystem.debtor_url.is_(None))
    # queued, or running on a lapsed lease — and its system idle (a simulated one never waits)
    free = or_(Run.status == QUEUED, (Run.status == RUNNING) & (Run.leased_until < now)) & or_(
        Run.system_id.not_in(busy), Run.system_id.in_(simulated)
    )
    with service.store.begin() as db:
        found = db.execute(
            select(Run.id, Run.system_id).where(free).order_by(Run.id).limit(1).with_for_update(skip_locked=True)
        ).first()
        if found is None:
            return None
        candidate, system_id = found
        # one lease of a system's runs at a time, across instances: wait for whoever is leasing one now
        db.execute(select(TestSystem.id).where(TestSystem.id == system_id).with_for_update(key_share=True))
        taken = db.execute(
            update(Run)
            .where(Run.id == candidate, free)
            .values(status=RUNNING, lease_owner=owner, leased_until=until, started=now, attempts=Run.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # another worker won it (or a run of its system) between the SELECT and the UPDATE
            return None
        service.audit(db, owner, "run-leased", f"run {candidate}")
    return candidate


def renew_lease(service: Service, run_id: int, owner: str) -> bool:
    """Extend the lease; False if the run is no longer this worker's."""
    until = service.now() + timedelta(seconds=service.config.lease_s)
    with service.store.begin() as db:
        result = db.execute(
            update(Run)
            .where(Run.id == run_id, Run.lease_owner == owner, Run.status == RUNNING)
            .values(leased_until=until)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


class Workers:
    """`count` threads, each running one certification process at a time."""

    def __init__(self, service: Service, count: int) -> None:
        self.service = service
        self.count = count
        self.name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._processes: dict[int, subprocess.Popen[str]] = {}

    def start(self) -> None:
        for number in range(self.count):
            thread = threading.Thread(target=self._loop, args=(f"{self.name}/{number}",), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.service.queued.set()
        for process in list(self._processes.values()):
            process.terminate()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self, owner: str) -> None:
        while not self._stop.is_set():
            try:
                run_id = claim_run(self.service, owner)
            except Exception:  # a database hiccup must not end the worker
                log.exception("leasing a run failed")
                run_id = None
            if run_id is None:
                # woken at once by a run queued in this instance; polling finds those of other instances
                self.service.queued.wait(self.service.config.poll_s)
                self.service.queued.clear()
                continue
            try:
                self.execute(run_id, owner)
            except Exception as exc:
                log.exception("run %s failed in the service", run_id)
                self._record(run_id, owner, FAILED, None, None, f"the service could not run it: {exc}")

    def command(self, run: Run, out: Path) -> tuple[list[str], dict[str, str]]:
        """The `oir certify` command of a run and its environment (the tokens only there)."""
        system = run.system
        argv = [sys.executable, "-m", "harness.cli", "certify", "--profile", system.profile, "--out", str(out)]
        env = {k: v for k, v in os.environ.items() if k not in _SECRET_VARIABLES}
        env.update(OIR_HOME=str(self.service.runner_home), COLUMNS="200", NO_COLOR="1")
        if not system.simulated:
            credentials = self.service.vault.open(system.credentials)
            argv += ["--debtor-url", str(system.debtor_url), "--no-wait"]
            if system.test_control:
                argv.append("--test-control")
            env["OIR_DEBTOR_TOKEN"] = credentials.get("debtorToken", "")
            if credentials.get("callbackToken"):
                env["OIR_CALLBACK_TOKEN"] = credentials["callbackToken"]
            advertised = self.service.counterparts(system)
            if advertised is not None:  # a system elsewhere: its fixed ports, on the network, advertised
                argv += ["--bind", self.service.config.run_bind]
                argv += ["--callback-port", str(system.port("callback")), "--psrm-port", str(system.port("psrm"))]
                argv += ["--callback-url", advertised["callbackUrl"], "--psrm-url", advertised["psrmUrl"]]
        argv += list(self.service.config.certify_args)
        return argv, env

    def execute(self, run_id: int, owner: str) -> None:
        with self.service.store() as db:
            run = db.get(Run, run_id)
            assert run is not None
        folder = self.service.runs_dir / str(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        argv, env = self.command(run, folder / "report")
        done = threading.Event()
        lost = threading.Event()
        overdue = threading.Event()
        limit = time.monotonic() + self.service.config.run_timeout_s  # real time: a hung process is real
        with (folder / "log.txt").open("w", encoding="utf-8") as log_file:
            log_file.write(f"$ oir certify --profile {run.system.profile} ... (attempt by {owner})\n")
            log_file.flush()
            process = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=folder, bufsize=1
            )
            self._processes[run_id] = process

            def keep_lease() -> None:
                while not done.wait(min(self.service.config.lease_s / 3, 5.0)):
                    if not renew_lease(self.service, run_id, owner):
                        lost.set()
                        process.terminate()
                        return
                    if time.monotonic() > limit:
                        overdue.set()
                        process.terminate()
                        return

            keeper = threading.Thread(target=keep_lease, daemon=True)
            keeper.start()
            assert process.stdout is not None
            for line in process.stdout:
                log_file.write(line)
                log_file.flush()
                match = PROGRESS.match(line.strip())
                if match:
                    self._progress(run_id, owner, f"{match[1]}/{match[2]} {match[3]}")
            code = process.wait()
            done.set()
            self._processes.pop(run_id, None)
        if lost.is_set():
            return  # another worker owns the run now
        results = folder / "report" / run.system.profile / "results.json"
        verdict = None
        try:
            verdict = str(json.loads(results.read_text(encoding="utf-8")).get("verdict"))
        except (OSError, ValueError):
            pass
        status = FINISHED if code in (0, 1) and verdict and not overdue.is_set() else FAILED
        note = {0: "certified", 1: "not certified"}.get(code, f"oir certify ended with exit code {code}")
        if overdue.is_set():
            note = f"stopped after {self.service.config.run_timeout_s:.0f} s (the service's limit for a run)"
            with (folder / "log.txt").open("a", encoding="utf-8") as log_file:
                log_file.write(f"\n{note}\n")
        self._record(run_id, owner, status, code, verdict, note)

    def _progress(self, run_id: int, owner: str, text: str) -> None:
        with self.service.store.begin() as db:
            db.execute(
                update(Run)
                .where(Run.id == run_id, Run.lease_owner == owner)
                .values(progress=text[:300])
                .execution_options(synchronize_session=False)
            )

    def _record(self, run_id: int, owner: str, status: str, code: int | None, verdict: str | None, note: str) -> None:
        now: datetime = self.service.now()
        with self.service.store.begin() as db:
            run = db.get(Run, run_id)
            if run is None or run.lease_owner != owner:
                return
            run.status = status
            run.exit_code = code
            run.verdict = verdict
            run.finished = now
            run.leased_until = None
            run.progress = None
            # a run that produced a certificate of its own goes to KOMBIT's review queue
            has_certificate = (self.service.report_folder(run) / "certificate.json").is_file()
            run.review = PENDING if status == FINISHED and has_certificate else None
            self.service.audit(db, "service", f"run-{status}", f"run {run_id}", f"{verdict or '-'}; {note}")
