"""Engine on PostgreSQL: two workers on two cores against one worker, measured in the same run.

Each worker is its own process running the engine's cycle (read FBS's feed, deliver what is due) until
the feed is drained and nothing is pending, as `oir engine serve` workers sharing one database do
(the feed position is locked while read, and a worker that finds it locked delivers instead of
waiting; outbox rows are leased with FOR UPDATE SKIP LOCKED). Both
runs drain the same claims, loaded into one FBS simulator beforehand (setup, not measured), each from
fresh debtor simulators and a fresh database on one throwaway PostgreSQL cluster, and each ends by
proving from the debtors' journals that every claim was registered exactly once at its own vendor.
The baseline is the one-worker run; the figure is the two-worker rate over it.

    python -m bench.engine_workers [--claims 20000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from sqlalchemy import make_url

from bench.cpu import postgres_cpu, process_cpu
from bench.engine_throughput import SESSION, TOKEN, BenchmarkFailed, _debtors, _seed, _verify
from bench.processes import PIDS, served
from bench.table import Goal, Row, skipped
from contracts import wire_client
from harness.postgres import PostgresUnavailable, throwaway_postgres

GOAL = Goal(">=", 1.6, "×")
MEASURE = "engine, PostgreSQL, 2 workers / 1 worker"


def _worker(index: int, settings: dict[str, Any], claims: int, ready: Queue[int], go: Event, done: Queue[Any]) -> None:
    """One engine process: cycle until the feed is drained (all `claims` events in the inbox: a cycle
    that found another worker reading the feed read nothing, yet the feed is not drained) and no message
    is pending."""
    from integration import Engine, EngineSettings
    from integration.store import InboxEvent, OutboxMessage

    engine = Engine(EngineSettings(**settings, worker=f"bench-{index}"))
    try:
        ready.put(index)
        go.wait()
        cpu = time.process_time()  # this worker's CPU seconds (all its threads) from the start signal
        read = delivered = 0
        while True:
            report = engine.cycle()
            read += report.events_read
            delivered += report.delivered
            if report.rejected:
                raise BenchmarkFailed(f"worker {index}: {report}")
            if not report.events_read and not report.delivered:
                with engine.session() as session:
                    pending = session.query(OutboxMessage).filter(OutboxMessage.status == "PENDING").count()
                    taken_in = session.query(InboxEvent).count()
                if not pending and taken_in >= claims:
                    break
                time.sleep(0.05)  # another worker holds the rest or reads the feed, or a retry waits its backoff
        done.put((index, read, delivered, None, time.process_time() - cpu))
    except Exception as error:  # reported to the parent, which fails the run
        done.put((index, 0, 0, repr(error), 0.0))
    finally:
        engine.close()


def _drain(
    workers: int, database_url: str, fbs_url: str, debtors: dict[str, str], args: argparse.Namespace
) -> tuple[float, dict[str, float | None]]:
    """Seconds for `workers` engine processes to drain the feed into the debtors, and the CPU seconds
    the drain took of the workers, the simulators (FBS and the debtors) and PostgreSQL."""
    from integration.store import open_store

    open_store(database_url).kw["bind"].dispose()  # the schema (Alembic) once, before any worker: setup
    settings = {
        "fbs_url": fbs_url,
        "debtor_urls": debtors,
        "database_url": database_url,
        "token": TOKEN,
        "extra_headers": {wire_client.SESSION: SESSION},
        "concurrency": args.concurrency,
        "page_size": 1000,
    }
    context = multiprocessing.get_context("spawn")
    ready: Queue[int] = context.Queue()
    done: Queue[Any] = context.Queue()
    go = context.Event()
    processes = [
        context.Process(target=_worker, args=(i, settings, args.claims, ready, go, done), daemon=True)
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=120)
        before = _cpu(database_url, fbs_url, debtors)
        started = time.perf_counter()  # real time: this is a benchmark
        go.set()
        results = [done.get(timeout=max(600.0, args.claims / 20)) for _ in processes]
        seconds = time.perf_counter() - started
        after = _cpu(database_url, fbs_url, debtors)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    errors = [error for *_, error, _ in results if error]
    if errors:
        raise BenchmarkFailed("; ".join(errors))
    if sum(r[1] for r in results) != args.claims or sum(r[2] for r in results) != args.claims:
        raise BenchmarkFailed(f"{workers} workers read/delivered {results}, not {args.claims} each")
    cpu: dict[str, float | None] = {"engine": sum(r[4] for r in results)}
    for name, at_end in after.items():
        at_start = before[name]
        cpu[name] = None if at_end is None or at_start is None else at_end - at_start
    return seconds, cpu


def _cpu(database_url: str, fbs_url: str, debtors: dict[str, str]) -> dict[str, float | None]:
    """CPU seconds so far of the simulators' processes and of the PostgreSQL cluster (None: unknown)."""
    times = [process_cpu(PIDS[url]) for url in (fbs_url, *debtors.values()) if url in PIDS]
    simulators = None if not times or None in times else sum(t or 0.0 for t in times)
    return {"simulators": simulators, "postgres": postgres_cpu(make_url(database_url).port or 5432)}


def _per_thousand(cpu: dict[str, float | None], claims: int) -> str:
    return ", ".join(f"{name} {'?' if s is None else f'{1000 * s / claims:.2f}'}" for name, s in cpu.items())


def _ceiling(cpu: dict[str, float | None], claims: int, cores: int) -> float | None:
    """Claims/s the machine's cores allow at these CPU costs per claim (None: a cost unknown)."""
    if None in cpu.values():
        return None
    return cores * claims / sum(s or 0.0 for s in cpu.values())


def run(args: argparse.Namespace) -> list[Row]:
    try:
        with throwaway_postgres() as cluster, served("fbs") as fbs_url:
            claims = _seed(fbs_url, args.claims)
            rates, cpus = {}, {}
            for workers in (1, 2):
                with _debtors() as debtors:
                    _reset(cluster)
                    seconds, cpus[workers] = _drain(workers, cluster, fbs_url, debtors, args)
                    _verify(debtors, claims)
                rates[workers] = args.claims / seconds
                print(
                    f"  {workers} worker(s): {rates[workers]:.0f} claims/s ({seconds:.1f} s); CPU s per 1,000 claims: "
                    f"{_per_thousand(cpus[workers], args.claims)}",
                    flush=True,
                )
    except PostgresUnavailable as reason:
        return [skipped(MEASURE, GOAL, f"no PostgreSQL: {reason}")]
    ratio = rates[2] / rates[1]
    cores = os.cpu_count() or 2
    ceiling = _ceiling(cpus[2], args.claims, cores)
    bound = (
        f"; at the 2-worker run's CPU per 1,000 claims ({_per_thousand(cpus[2], args.claims)} s) {cores} cores "
        f"allow {ceiling:.0f} claims/s, ×{ceiling / rates[1]:.2f} of 1 worker"
        if ceiling
        else ""
    )
    return [
        Row(
            MEASURE,
            GOAL,
            ratio,
            figure=f"×{ratio:.2f} ({rates[2]:.0f} claims/s)",
            baseline=f"1 worker {rates[1]:.0f} claims/s",
            note=f"{args.claims} claims; the simulators and PostgreSQL share the cores{bound}",
        )
    ]


def _reset(database_url: str) -> None:
    """An empty database for the next run: the previous run's schema dropped."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    from bench.table import render

    print(render(run(args)))


if __name__ == "__main__":
    main()
