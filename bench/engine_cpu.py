"""The engine's own CPU per claim: FBS's feed and the debtors' answers served in-process, for nothing.

The throughput benchmarks measure rates on cores the engine shares with FBS, five debtor simulators and
(on a shared machine) whatever else runs: their figures move with the load. This one takes the peers
out: the claims are seeded into a real FBS simulator once (setup), its feed is read once, and then the
engine drains that feed on SQLite through an `httpx.MockTransport` that pages the feed and answers every
OpretDebitorkonto with 201 at once. What is left is the engine's own work per claim — reading and
storing the feed, leasing, dispatching to its delivery threads, judging and settling — in CPU
milliseconds (`time.process_time`, every thread of the process), which a loaded machine disturbs far
less than a rate. Not HTTP on the wire: the raw ceiling's client pays that too.

    python -m bench.engine_cpu [--claims 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.engine_throughput import SESSION, TOKEN, BenchmarkFailed, _feed, _seed
from bench.processes import served
from contracts import wire_client
from contracts.profile import PROFILE_NAMES
from integration import CycleReport, Engine, EngineSettings

FBS = "http://fbs.invalid"


def _peers(events: list[dict[str, Any]]) -> httpx.MockTransport:
    """FBS's feed, paged as FBS pages it (the cursor is an offset here), and debtors that accept all."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "fbs.invalid":
            start = int(request.url.params.get("efter", 0))
            page = events[start : start + int(request.url.params.get("antal", 1000))]
            return httpx.Response(200, json={"haendelser": page, "naesteCursor": str(start + len(page))})
        body = json.loads(request.content)
        return httpx.Response(201, json={"debitorkontoId": body.get("debitorkontoId"), "oprettet": True})

    return httpx.MockTransport(answer)


def drain(events: list[dict[str, Any]], concurrency: int = 16) -> dict[str, float]:
    """One engine drains `events` on a fresh SQLite file; its CPU ms per claim, reading and in all."""
    with tempfile.TemporaryDirectory(prefix="oir-bench-") as folder:
        settings = EngineSettings(
            fbs_url=FBS,
            debtor_urls={profile: f"http://{profile}.invalid" for profile in PROFILE_NAMES},
            database_url=f"sqlite:///{Path(folder) / 'engine.sqlite'}",
            token=TOKEN,
            extra_headers={wire_client.SESSION: SESSION},
            worker="bench",
            concurrency=concurrency,
            page_size=1000,
        )
        engine = Engine(settings, http=httpx.Client(transport=_peers(events)))
        report = CycleReport()
        try:
            cpu = time.process_time()
            engine.read_feed(report)
            reading = time.process_time() - cpu
            engine.deliver_due(report)
            total = time.process_time() - cpu
        finally:
            engine.close()
    if report.events_read != len(events) or report.delivered != len(events):
        raise BenchmarkFailed(f"engine: {report}")
    return {"cpu_ms_per_claim": 1000 * total / len(events), "reading_ms_per_claim": 1000 * reading / len(events)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with served("fbs") as fbs_url:
        _seed(fbs_url, args.claims)
        events = _feed(fbs_url)
    for run in range(args.runs):
        figures = drain(events)
        print(
            f"run {run + 1}: engine CPU {figures['cpu_ms_per_claim']:.3f} ms per claim "
            f"(reading the feed {figures['reading_ms_per_claim']:.3f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
