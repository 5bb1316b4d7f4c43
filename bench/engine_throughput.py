"""Engine throughput: claims per second from FBS's feed to registered at the debtor systems, beside
the raw ceiling of the same debtor simulators, measured in the same run and reported as a ratio.

FBS and the five debtor simulators run as separate uvicorn processes on 127.0.0.1 (so the engine and
the simulators never share one GIL); the engine runs in this process, on SQLite and on PostgreSQL (a
throwaway cluster). Loading the claims into FBS is setup and not measured. The raw ceiling is the
same registrations (OpretDebitorkonto, the very bodies the engine sends) POSTed straight at fresh
debtor simulators through the same kind of client (one shared httpx.Client, a pool of threads of the
engine's concurrency): what the engine's own work (reading, storing, leasing, recording) costs is
the gap between the two. Each engine run starts from fresh debtor simulators and a fresh database,
and ends by proving from the debtors' journals that every claim was registered exactly once, at its
own municipality's vendor; a run that loses or duplicates a claim fails loudly.

    python -m bench.engine_throughput [--claims 100000] [--backend sqlite|postgres|both]
                                      [--concurrency 16] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.cpu import process_cpu
from bench.processes import PIDS, served
from contracts import wire_client
from contracts.municipalities import load_municipalities
from contracts.profile import PROFILE_NAMES
from contracts.synthetic import SyntheticData
from harness.postgres import PostgresUnavailable, throwaway_postgres
from integration import CycleReport, Engine, EngineSettings, RoutingTable
from integration.store import OutboxMessage
from integration.translate import to_messages

SESSION = "bench"
TOKEN = "oir-dev-token"
CLAIMS_PER_BORROWER = 2
SEED_CONCURRENCY = 16


class BenchmarkFailed(RuntimeError):
    """A run lost or duplicated a claim, or did not finish: its figures are worthless."""


def _headers(cvr: str | None = None) -> dict[str, str]:
    return wire_client.headers(TOKEN, session=SESSION, at=wire_client.FIXED_SENT_AT, cvr=cvr)


# ---- setup: claims in FBS ----------------------------------------------------------------------
def _seed(fbs_url: str, claims: int) -> list[dict[str, Any]]:
    """Borrowers (synthetic people) over all 98 municipalities, each with a few fee claims."""
    people = SyntheticData(seed=2026)
    municipalities = load_municipalities()
    borrowers = -(-claims // CLAIMS_PER_BORROWER)
    jobs = [
        (index, people.person(), min(CLAIMS_PER_BORROWER, claims - index * CLAIMS_PER_BORROWER))
        for index in range(borrowers)
    ]
    limits = httpx.Limits(max_connections=SEED_CONCURRENCY, max_keepalive_connections=SEED_CONCURRENCY)
    with httpx.Client(base_url=fbs_url, limits=limits, timeout=60) as client:

        def borrower_with_claims(job: tuple[int, Any, int]) -> list[dict[str, Any]]:
            index, person, count = job
            municipality = municipalities[index % len(municipalities)]
            answer = client.post(
                "/laanere", json={"cpr": person.cpr, "navn": person.name}, headers=_headers(municipality.cvr)
            )
            if answer.status_code not in (200, 201):
                raise BenchmarkFailed(f"opretLaaner: {answer.status_code} {answer.text[:300]}")
            borrower = answer.json()["laanerId"]
            made = []
            for n in range(count):
                body = {"laanerId": borrower, "type": "GEBYR", "beloebOere": 2000 + 100 * n, "tekst": "Gebyr"}
                answer = client.post("/fordringer", json=body, headers=_headers(municipality.cvr))
                if answer.status_code != 201:
                    raise BenchmarkFailed(f"opretFordring: {answer.status_code} {answer.text[:300]}")
                made.append(answer.json())
            return made

        with ThreadPoolExecutor(SEED_CONCURRENCY) as pool:
            return [claim for made in pool.map(borrower_with_claims, jobs) for claim in made]


def _feed(fbs_url: str) -> list[dict[str, Any]]:
    """Every event of FBS's feed, read the way the engine reads it."""
    events: list[dict[str, Any]] = []
    cursor: str | None = None
    with httpx.Client(base_url=fbs_url, timeout=120) as client:
        while True:
            params: dict[str, Any] = {"antal": 1000, **({"efter": cursor} if cursor else {})}
            page = client.get("/haendelser", params=params, headers=_headers()).raise_for_status().json()
            if not page["haendelser"]:
                return events
            events += page["haendelser"]
            cursor = page["naesteCursor"]


# ---- the debtor systems ---------------------------------------------------------------------------
@contextmanager
def _debtors() -> Iterator[dict[str, str]]:
    """Fresh debtor simulators of all five profiles, one process each."""
    with ExitStack() as stack:
        yield {p: stack.enter_context(served("debtor_profile", {"OIR_BENCH_PROFILE": p})) for p in PROFILE_NAMES}


def _verify(debtors: dict[str, str], claims: list[dict[str, Any]]) -> None:
    """Every claim registered exactly once, at its own municipality's vendor (from the journals)."""
    vendor = {m.cvr: m.vendor for m in load_municipalities()}
    municipality_of = {c["fordringId"]: c["kommuneCvr"] for c in claims}
    created: Counter[str] = Counter()
    misplaced = 0
    for profile, url in debtors.items():
        journal = wire_client.control(
            url, "GET", "/journal", token=TOKEN, session=SESSION, params={"operation": "OpretDebitorkonto"}, timeout=600
        )
        for entry in journal.raise_for_status().json()["entries"]:
            if entry["status"] in (200, 201):
                claim_id = entry["requestBody"]["fordringer"][0]["fordringId"]
                created[claim_id] += 1
                misplaced += vendor[municipality_of[claim_id]] != profile
    missing = len(set(municipality_of) - set(created))
    twice = sum(1 for n in created.values() if n > 1)
    if missing or twice or misplaced or len(created) != len(claims):
        raise BenchmarkFailed(f"{missing} claims not registered, {twice} registered twice, {misplaced} misplaced")


# ---- the raw ceiling ------------------------------------------------------------------------------
def _raw(debtors: dict[str, str], events: list[dict[str, Any]], concurrency: int) -> tuple[float, float]:
    """The engine's registrations POSTed straight at the debtors; seconds taken, and the CPU seconds of
    this process (the client) meanwhile."""
    routes = RoutingTable.from_vendor_urls(debtors, token=TOKEN)
    calls = []
    for event in events:
        for spec in to_messages(event, routes):
            url = str(routes.route_for(event["kommuneCvr"]).debtor_url) + spec.path
            calls.append((url, spec.body, event["kommuneCvr"]))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=60, limits=limits) as client, ThreadPoolExecutor(concurrency) as pool:

        def send(call: tuple[str, dict[str, Any], str]) -> None:
            url, body, cvr = call
            answer = client.post(url, json=body, headers=_headers(cvr))
            if answer.status_code not in (200, 201):
                raise BenchmarkFailed(f"OpretDebitorkonto: {answer.status_code} {answer.text[:300]}")

        started, cpu = time.perf_counter(), time.process_time()  # real time: this is a benchmark
        list(pool.map(send, calls))
        return time.perf_counter() - started, time.process_time() - cpu


# ---- the engine -----------------------------------------------------------------------------------
def _engine(
    database_url: str, fbs_url: str, debtors: dict[str, str], claims: int, args: argparse.Namespace
) -> dict[str, float]:
    """One engine drains the feed into the debtors; seconds for reading, and for the whole run, and the
    CPU seconds of this process (the engine, all its threads) over the whole run."""
    settings = EngineSettings(
        fbs_url=fbs_url,
        debtor_urls=debtors,
        database_url=database_url,
        token=TOKEN,
        extra_headers={wire_client.SESSION: SESSION},
        worker="bench",
        concurrency=args.concurrency,
        lease_batch=args.lease_batch,
        page_size=args.page_size,
    )
    engine = Engine(settings)  # opens the store, the schema with it (Alembic): setup, not measured
    report = CycleReport()
    try:
        started, cpu = time.perf_counter(), time.process_time()  # real time: this is a benchmark
        engine.read_feed(report)
        read = time.perf_counter() - started
        deadline = started + max(600.0, claims / 20)
        while True:
            engine.deliver_due(report)
            with engine.session() as session:
                pending = session.query(OutboxMessage).filter(OutboxMessage.status == "PENDING").count()
            if not pending:
                break
            if time.perf_counter() > deadline:
                raise BenchmarkFailed(f"{pending} messages still pending at the deadline")
            time.sleep(0.2)  # retries wait for their backoff (a benchmark, not a test)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        engine.close()  # and the store it opened
    if report.events_read != claims or report.delivered != claims or report.rejected:
        raise BenchmarkFailed(f"engine: {report}")
    return {"read_s": read, "total_s": total, "cpu_s": cpu, "retries": float(report.retrying)}


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="oir-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'engine.sqlite'}"
    else:
        with throwaway_postgres() as url:
            yield url


def _debtors_cpu(debtors: dict[str, str]) -> float | None:
    """CPU seconds so far of the debtor simulators' processes (None: not known here)."""
    times = [process_cpu(PIDS[url]) if url in PIDS else None for url in debtors.values()]
    return None if None in times else sum(t or 0.0 for t in times)


def _ms_per_claim(after: float | None, before: float | None, claims: int) -> float | None:
    return None if after is None or before is None else round(1000 * (after - before) / claims, 2)


def _line(backend: str, figures: dict[str, Any]) -> str:
    if "skipped" in figures:
        return f"{backend:9} skipped: {figures['skipped']}"
    return (
        f"{backend:9} engine {figures['engine_claims_per_s']:>8} claims/s ({figures['engine_s']} s, "
        f"feed read in {figures['of_which_reading_feed_s']} s)   raw {figures['raw_registrations_per_s']:>8}/s   "
        f"ratio {figures['ratio_engine_to_raw']}   verified: {figures['verified']}\n"
        f"{'':9} CPU ms per claim: engine {figures['engine_cpu_ms_per_claim']}, its debtors "
        f"{figures['debtors_cpu_ms_per_claim']}; raw client {figures['raw_client_cpu_ms_per_claim']}, its debtors "
        f"{figures['raw_debtors_cpu_ms_per_claim']}"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Seed FBS once; then per backend: the raw ceiling and the engine, each on fresh debtors."""
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    result: dict[str, Any] = {
        "benchmark": "engine_throughput",
        "claims": args.claims,
        "municipalities": len(load_municipalities()),
        "concurrency": args.concurrency,
        "lease_batch": args.lease_batch,
        "page_size": args.page_size,
        "backends": {},
    }
    wall = time.perf_counter()  # real time: this is a benchmark
    with served("fbs") as fbs_url:
        started = time.perf_counter()
        claims = _seed(fbs_url, args.claims)
        result["seed_s"] = round(time.perf_counter() - started, 1)
        print(f"FBS seeded with {args.claims} claims in {result['seed_s']} s (setup, not measured)", flush=True)
        events = _feed(fbs_url)
        if len(events) != args.claims:
            raise BenchmarkFailed(f"FBS's feed holds {len(events)} events, not {args.claims}")
        for backend in backends:
            try:
                with _debtors() as debtors:
                    raw_debtors_before = _debtors_cpu(debtors)
                    raw, raw_cpu = _raw(debtors, events, args.concurrency)
                    raw_debtors_after = _debtors_cpu(debtors)
                    _verify(debtors, claims)
                with _debtors() as debtors, _database(backend) as url:
                    debtors_before = _debtors_cpu(debtors)
                    figures = _engine(url, fbs_url, debtors, args.claims, args)
                    debtors_after = _debtors_cpu(debtors)
                    _verify(debtors, claims)
            except PostgresUnavailable as reason:
                result["backends"][backend] = {"skipped": str(reason)}
                print(_line(backend, result["backends"][backend]), flush=True)
                continue
            engine_rate, raw_rate = args.claims / figures["total_s"], args.claims / raw
            result["backends"][backend] = {
                "engine_claims_per_s": round(engine_rate, 1),
                "raw_registrations_per_s": round(raw_rate, 1),
                "ratio_engine_to_raw": round(engine_rate / raw_rate, 3),
                "engine_s": round(figures["total_s"], 1),
                "of_which_reading_feed_s": round(figures["read_s"], 1),
                "raw_s": round(raw, 1),
                "retries": int(figures["retries"]),
                # CPU milliseconds per claim: what the rates cost on cores the two runs share with others
                "engine_cpu_ms_per_claim": round(1000 * figures["cpu_s"] / args.claims, 2),
                "raw_client_cpu_ms_per_claim": round(1000 * raw_cpu / args.claims, 2),
                "debtors_cpu_ms_per_claim": _ms_per_claim(debtors_after, debtors_before, args.claims),
                "raw_debtors_cpu_ms_per_claim": _ms_per_claim(raw_debtors_after, raw_debtors_before, args.claims),
                "verified": "every claim registered exactly once, at its own vendor",
            }
            print(_line(backend, result["backends"][backend]), flush=True)
    result["wall_s"] = round(time.perf_counter() - wall, 1)
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=16, help="the engine's, and the raw client's")
    parser.add_argument("--lease-batch", type=int, default=EngineSettings.lease_batch)
    parser.add_argument("--page-size", type=int, default=1000, help="events per feed page (FBS allows 1000)")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers and the cluster on the way out
    result = run(args)
    print(
        f"\nclaims {result['claims']} over {result['municipalities']} municipalities, "
        f"concurrency {result['concurrency']}, lease batch {result['lease_batch']}, feed page {result['page_size']}"
    )
    for backend, figures in result["backends"].items():
        print(_line(backend, figures))
    print(f"wall time {result['wall_s']} s (seeding FBS: {result['seed_s']} s)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
