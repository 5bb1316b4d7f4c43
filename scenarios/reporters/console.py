"""Rich console output: one line a scenario, and the failing step with what was seen."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape

from contracts.identity import mask_cpr_in_text

from ..events import Event, ScenarioFinished, ScenarioStarted, StepFinished

_MARK = {
    "passed": "[green]✓ passed[/green]",
    "failed": "[red]✗ failed[/red]",
    "error": "[red]! error[/red]",
    "skipped": "[yellow]- skipped[/yellow]",
}


class ConsoleReporter:
    def __init__(self, console: Console | None = None, *, verbose: bool = False) -> None:
        self.console = console or Console()
        self.verbose = verbose
        self.counts: dict[str, int] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, ScenarioStarted) and self.verbose:
            self.console.print(
                f"[bold]▶ {escape(event.scenario)}[/bold] {escape(f'[{event.profile}]')} {escape(event.title)}"
            )
        elif isinstance(event, StepFinished):
            if self.verbose or not event.passed:
                mark = "[green]✓[/green]" if event.passed else "[red]✗[/red]"
                self.console.print(
                    f"    {mark} line {event.line}: {escape(event.action)}  {escape(event.message)}", highlight=False
                )
            if not event.passed and event.observed is not None:
                seen = mask_cpr_in_text(json.dumps(event.observed, ensure_ascii=False, default=str))
                self.console.print(f"      saw: {escape(seen[:600])}", highlight=False)
        elif isinstance(event, ScenarioFinished):
            self.counts[event.outcome] = self.counts.get(event.outcome, 0) + 1
            blame = ""
            if event.blamed:
                blame = f"\n    fails {', '.join(event.blamed)}"
                if event.unproven:
                    blame += f"; stopped before judging {', '.join(event.unproven)}"
            self.console.print(
                f"{_MARK[event.outcome]}  {escape(f'{event.scenario} [{event.profile}]')}  {event.seconds:.2f} s"
                + (f"\n    {escape(event.message)}" if event.message else "")
                + escape(blame),
                highlight=False,
            )

    def summary(self) -> str:
        return ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.counts.items())) or "no scenarios"
