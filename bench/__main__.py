"""`python -m bench`: every benchmark of issue 16's goals, one table at the end.

Each figure is printed beside its baseline, measured in the same run (the machine is shared, so only
what is measured side by side means anything), with the goal and whether it is met. `--only` picks
benchmarks, `--quick` shrinks their sizes so a run takes a few minutes; the README's test command
takes minutes on its own and so only runs when named (`--only tests`), but it is always listed.

    python -m bench [--only scenarios,certify,debtor,engine,workers,tests] [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.table import Goal, Row, render, skipped

BENCHMARKS = ("scenarios", "certify", "debtor", "engine", "workers", "tests")
DEFAULT = tuple(name for name in BENCHMARKS if name != "tests")  # the test command is opt-in
# what each benchmark's rows measure, for the table's "not run" lines
MEASURES: dict[str, list[tuple[str, Goal]]] = {
    "scenarios": [
        ("bundled scenarios/s, serial", Goal(">=", 10, "scenarios/s")),
        ("bundled scenarios/s, -n 2", Goal(">=", 10, "scenarios/s")),
    ],
    "certify": [("oir certify, 5 simulated profiles, cold", Goal("<=", 60, "s"))],
    "tests": [("README's test command (pytest -n 2)", Goal("<=", 240, "s"))],
    "debtor": [("debtor OpretDebitorkonto / bare FastAPI", Goal(">=", 0.6))],
    "engine": [
        ("engine, SQLite, claims/s / raw POST ceiling", Goal(">=", 0.85)),
        ("engine, SQLite, seconds per 100,000 claims", Goal("<=", 120, "s")),
    ],
    "workers": [("engine, PostgreSQL, 2 workers / 1 worker", Goal(">=", 1.6, "×"))],
}


def _chosen(text: str | None) -> list[str]:
    if text is None:
        return list(DEFAULT)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {', '.join(unknown) or '(none)'}; known: {', '.join(BENCHMARKS)}"
        )
    return names


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--only",
        type=_chosen,
        default=list(DEFAULT),
        metavar="NAMES",
        help=f"comma-separated, of: {', '.join(BENCHMARKS)} (default: all but tests)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes, figures marked as such")
    parser.add_argument("--claims", type=int, default=None, help="the engine benchmarks' claims (default 100000/20000)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    return parser.parse_args(argv)


def _debtor(args: argparse.Namespace) -> list[Row]:
    from bench import debtor_registration

    seconds, rounds = (2, 1) if args.quick else (5, 3)
    result = debtor_registration.run(seconds, rounds, 16)
    ratio = float(result["ratio_debtor_to_bare"])  # type: ignore[arg-type]
    return [
        Row(
            "debtor OpretDebitorkonto / bare FastAPI",
            MEASURES["debtor"][0][1],
            ratio,
            figure=f"{ratio:.2f} ({result['opret_debitorkonto_rps']} requests/s)",
            baseline=f"bare {result['bare_fastapi_rps']} requests/s",
            note=f"load: {result['load']}, {rounds} round(s)",
        )
    ]


def _engine(args: argparse.Namespace) -> list[Row]:
    from bench import engine_throughput

    claims = args.claims or (5_000 if args.quick else 100_000)
    options = engine_throughput.parse(["--claims", str(claims), "--backend", "sqlite"])
    figures = engine_throughput.run(options)["backends"]["sqlite"]
    (ratio_measure, ratio_goal), (time_measure, time_goal) = MEASURES["engine"]
    per_100k = figures["engine_s"] * 100_000 / claims
    scaled = f"{claims} claims: scaled to 100,000 (--quick or --claims)" if claims != 100_000 else ""
    return [
        Row(
            ratio_measure,
            ratio_goal,
            figures["ratio_engine_to_raw"],
            figure=f"{figures['ratio_engine_to_raw']:.2f} ({figures['engine_claims_per_s']} claims/s)",
            baseline=f"raw {figures['raw_registrations_per_s']}/s",
        ),
        Row(
            time_measure,
            time_goal,
            per_100k,
            figure=f"{per_100k:.0f} s",
            baseline=f"raw {figures['raw_s'] * 100_000 / claims:.0f} s",
            note=scaled,
        ),
    ]


def _workers(args: argparse.Namespace) -> list[Row]:
    from bench import engine_workers

    claims = args.claims or (2_000 if args.quick else 20_000)
    return engine_workers.run(argparse.Namespace(claims=claims, concurrency=16))


def _commands(name: str) -> Callable[[argparse.Namespace], list[Row]]:
    def run(args: argparse.Namespace) -> list[Row]:
        from bench import commands

        if name == "tests":
            return commands.tests()
        return getattr(commands, name)(quick=args.quick)  # type: ignore[no-any-return]

    return run


RUNNERS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "scenarios": _commands("scenarios"),
    "certify": _commands("certify"),
    "tests": _commands("tests"),
    "debtor": _debtor,
    "engine": _engine,
    "workers": _workers,
}


def collect(args: argparse.Namespace, runners: dict[str, Callable[[argparse.Namespace], list[Row]]]) -> list[Row]:
    """Run the chosen benchmarks in the table's order; every measure gets a row, run or not."""
    rows: list[Row] = []
    for name in BENCHMARKS:
        if name not in args.only:
            why = "opt-in: python -m bench --only tests" if name == "tests" else "not chosen (--only)"
            rows += [skipped(measure, goal, why) for measure, goal in MEASURES[name]]
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()  # real time: this is a benchmark
        try:
            rows += runners[name](args)
        except Exception as error:  # one failed benchmark is a row that says so; the others still run
            rows += [skipped(measure, goal, f"failed: {error}".splitlines()[0]) for measure, goal in MEASURES[name]]
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers and the cluster on the way out
    rows = collect(args, RUNNERS)
    print()
    print(render(rows))
    if args.json:
        args.json.write_text(json.dumps([row.as_json() for row in rows], indent=2, ensure_ascii=False))
    return 1 if any(row.note.startswith("failed:") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
