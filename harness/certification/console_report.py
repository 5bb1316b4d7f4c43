"""What `oir certify` prints: progress as it runs, then per profile what failed and what each
requirement came to — readable in a terminal and in a CI log alike.

In a CI log (stdout not a terminal) a progress bar prints nothing until the end, so a run was silent
for 35–55 s per profile; there each step is one line as it starts. A rich table squeezed to 80 columns
split requirement IDs and paths mid-word; lists of IDs and paths are now whole lines (soft-wrapped: a
terminal may wrap them, nothing cuts them), and the table a terminal gets holds only short cells.
Statuses, outcomes and verdicts are judge.py's words.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .failures import failures
from .judge import CERTIFIED, CERTIFIED_WITH_DEVIATIONS, NOT_CERTIFIED, OUTCOME_LABELS, STATUS_LABELS, WAITING
from .run import STEPS, CertificationResult

STYLE = {CERTIFIED: "green", CERTIFIED_WITH_DEVIATIONS: "yellow", NOT_CERTIFIED: "red", WAITING: "yellow"}
_STATUS_STYLE = {"failed": "red", "error": "magenta"}
_MORE_LINES = 3  # of a failure's message, under its first


@contextmanager
def certify_progress(console: Console, profile: str) -> Iterator[Callable[[str], None]]:
    """A step function for `certify_profile`: a progress bar on a terminal, else one line per step."""
    if not console.is_terminal:
        started = time.monotonic()  # real time: how long the run has taken so far
        count = 0

        def line(description: str) -> None:
            nonlocal count
            count += 1
            elapsed = time.monotonic() - started
            console.print(
                f"{profile} [{min(count, STEPS)}/{STEPS}] {description} ({elapsed:.0f} s)",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )
            console.file.flush()

        yield line
        return
    with _progress_bars(console) as bar:
        task = bar.add_task("starting", total=STEPS, profile=profile)

        def step(description: str) -> None:
            if bar.tasks[0].description != "starting":
                bar.advance(task)
            bar.update(task, description=description)

        yield step


def _progress_bars(console: Console) -> Progress:
    """The bars of a terminal: one per profile, its name, progress, current step and time."""
    return Progress(
        TextColumn("[bold]{task.fields[profile]}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def concurrent_progress(console: Console, profiles: list[str]) -> Iterator[Callable[[str, str], None]]:
    """`certify_progress` for profiles certified side by side: one bar each on a terminal (in the
    profiles' order), else one line per step, each naming its profile."""
    if not console.is_terminal:
        steps = {profile: certify_progress(console, profile).__enter__() for profile in profiles}
        yield lambda profile, description: steps[profile](description)
        return
    with _progress_bars(console) as bar:
        tasks = {profile: bar.add_task("waiting", total=STEPS, profile=profile, start=False) for profile in profiles}

        started: set[str] = set()

        def step(profile: str, description: str) -> None:
            task = tasks[profile]
            if profile in started:
                bar.advance(task)
            else:
                started.add(profile)
                bar.start_task(task)
            bar.update(task, description=description)

        yield step


def print_result(
    console: Console,
    result: CertificationResult,
    folder: Path,
    certificate: Path | None,
    partial: list[str] | None = None,
) -> None:
    """One profile's outcome as whole lines: the verdict, each failed or erring check (first), and
    every requirement outcome with the IDs, then where the report is."""
    style = STYLE[result.verdict]
    console.print(
        f"{escape(result.profile)}: [{style}]{result.verdict}[/{style}] ({result.seconds} s)",
        soft_wrap=True,
        highlight=False,
    )

    def line(text: str, markup: str = "") -> None:
        shown = escape(text)
        console.print(f"  [{markup}]{shown}[/{markup}]" if markup else f"  {shown}", soft_wrap=True, highlight=False)

    for failure in failures(result):
        first, *more = failure.message.splitlines() or [""]
        cites = f" [{', '.join(failure.requirements)}]" if failure.requirements else ""
        line(f"{STATUS_LABELS[failure.status]}: {failure.check}{cites}: {first}", _STATUS_STYLE[failure.status])
        for said in more[:_MORE_LINES]:  # e.g. "no callback reached http://…" under a scenario's failure
            line(f"  {said}")
    judgement = result.judgement
    accepted = [d.requirement for d in judgement.accepted]
    line(
        f"requirements: {len(judgement.passed)} {OUTCOME_LABELS['verified']} ({judgement.how}), "
        f"{len(judgement.failed)} {OUTCOME_LABELS['failed']}, {len(accepted)} {OUTCOME_LABELS['accepted-deviation']}, "
        f"{len(judgement.not_applicable)} {OUTCOME_LABELS['not-applicable']}, "
        f"{len(judgement.not_verified)} {OUTCOME_LABELS['not-verified']}"
        + (f", {len(judgement.waiting)} {OUTCOME_LABELS['waiting']}" if judgement.waiting else "")
    )
    listed: tuple[tuple[str, list[str]], ...] = (
        ("failed", judgement.failed),
        ("accepted-deviation", accepted),
        ("not-verified", judgement.not_verified),
        ("not-applicable", judgement.not_applicable),
        ("waiting", judgement.waiting),
    )
    for outcome, ids in listed:
        if ids:
            line(f"{OUTCOME_LABELS[outcome]}: {', '.join(ids)}")
    line(f"report: {folder / 'index.html'}")
    if partial is not None:
        line(f"partial run (--only {', '.join(partial)}): the other checks not run; no certificate", "bold")
    elif certificate is None:
        line("certificate: none while a check of the session waits")
    if certificate is not None:
        line(f"certificate: {certificate}")


def print_table(console: Console, results: list[CertificationResult]) -> None:
    """On a terminal, one row per profile with short cells only (the lists are printed above, whole)."""
    if not console.is_terminal or not results:
        return
    table = Table(title="ØiR certification")
    table.add_column("profile", no_wrap=True, min_width=max(len(r.profile) for r in results))
    table.add_column("verdict", no_wrap=True, min_width=max(len(r.verdict) for r in results))
    table.add_column("checks")
    for result in results:
        statuses = list(result.judgement.statuses.values())
        counts = ", ".join(f"{statuses.count(s)} {label}" for s, label in STATUS_LABELS.items() if s in statuses)
        style = STYLE[result.verdict]
        table.add_row(result.profile, f"[{style}]{result.verdict}[/{style}]", counts)
    console.print(table)
