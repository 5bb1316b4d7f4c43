"""OpretDebitorkonto requests per second against a running debtor simulator, beside a bare FastAPI
endpoint on the same server setup, measured in the same run and reported as a ratio.

Each target runs as its own uvicorn process on 127.0.0.1 (one worker, the same settings). The load
comes from `wrk` (Debian package `wrk`) with a Lua script that makes every request a new account with
its own transaction id; without wrk a Python client is used instead and the figures are marked
client-bound, since on two cores that client saturates before the servers do. Rounds alternate
between the targets so that a noisy neighbour on a shared machine hits both alike; the median counts.

    python -m bench.debtor_registration [--seconds 5] [--rounds 3] [--concurrency 16] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import time
import uuid
from pathlib import Path

import httpx

from bench.processes import served
from contracts import wire_client

KK_CVR = "64942212"


def _message(index: int) -> tuple[dict[str, str], dict]:
    claim = f"B-{uuid.uuid4().hex[:12]}"
    headers = wire_client.headers("oir-dev-token", session="bench", at=wire_client.FIXED_SENT_AT, cvr=KK_CVR)
    body = {
        "debitorkontoId": f"K-{claim}",
        "haeftelse": {"cpr": f"0101{index % 100:02d}{index % 10000:04d}"},
        "fordringer": [
            {
                "fordringId": claim,
                "produktkode": "BIB-GEBYR",
                "tekst": "Gebyr",
                "stiftelsesdato": "2026-01-05",
                "forfaldsdato": "2026-01-05",
                "delfordringer": [{"delfordringId": f"{claim}-1", "beloebOere": 12000, "tekst": "Gebyr"}],
            }
        ],
    }
    return headers, body


async def _round(url: str, requests: int, concurrency: int) -> float:
    messages = [_message(i) for i in range(requests)]
    queue: asyncio.Queue[tuple[dict[str, str], dict]] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                headers, body = queue.get_nowait()
                response = await client.post("/debitorkonti", json=body, headers=headers)
                if response.status_code != 201:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")

        started = time.perf_counter()  # real time: this is a benchmark
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - started)


def _wrk_round(url: str, seconds: int, concurrency: int) -> float:
    script = Path(__file__).with_name("opret_debitorkonto.lua")
    run = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+)", run.stdout)
    if match is None:
        raise RuntimeError(f"wrk said: {run.stdout[-500:]}")
    done, micros, non_2xx, socket_errors = (int(g) for g in match.groups())
    if non_2xx or socket_errors:
        raise RuntimeError(f"{url}: {non_2xx} non-2xx answers, {socket_errors} socket errors")
    return done / (micros / 1_000_000)


def run(seconds: int, rounds: int, concurrency: int) -> dict[str, object]:
    use_wrk = shutil.which("wrk") is not None
    requests = 1000

    def measure(url: str) -> float:
        if use_wrk:
            return _wrk_round(url, seconds, concurrency)
        return asyncio.run(_round(url, requests, concurrency))

    rates: dict[str, list[float]] = {"bare": [], "debtor": []}
    with served("bare") as bare_url, served("debtor") as debtor_url:
        asyncio.run(_round(bare_url, 200, concurrency))  # warm-up
        asyncio.run(_round(debtor_url, 200, concurrency))
        for _ in range(rounds):
            rates["bare"].append(measure(bare_url))
            rates["debtor"].append(measure(debtor_url))
    bare, debtor = statistics.median(rates["bare"]), statistics.median(rates["debtor"])
    return {
        "benchmark": "debtor_registration",
        "load": "wrk" if use_wrk else "python client (client-bound)",
        "seconds_per_round": seconds if use_wrk else None,
        "rounds": rounds,
        "concurrency": concurrency,
        "bare_fastapi_rps": round(bare, 1),
        "opret_debitorkonto_rps": round(debtor, 1),
        "ratio_debtor_to_bare": round(debtor / bare, 3),
        "rounds_rps": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args.seconds, args.rounds, args.concurrency)
    print(f"load generator            {result['load']}")
    print(f"bare FastAPI endpoint     {result['bare_fastapi_rps']:>9} requests/s")
    print(f"OpretDebitorkonto (debtor) {result['opret_debitorkonto_rps']:>8} requests/s")
    print(f"ratio debtor / bare       {result['ratio_debtor_to_bare']:>9}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
