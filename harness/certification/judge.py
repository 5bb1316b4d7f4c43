"""The verdict: which checks passed, failed, or failed under an accepted deviation, and what that makes
the debtor system.

A check that could not be carried out against this target is NOT RUN: it neither passes nor fails,
and the requirements only it cites are listed as not verified.
A failed check is an ACCEPTED DEVIATION only when every requirement it cites is covered by a deviation
of the profile that has not expired on the day of the run; it never counts as a pass. One failure
without that cover makes the system NOT_CERTIFIED; accepted deviations alone make it
CERTIFIED_WITH_DEVIATIONS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from simulators.debtor.profile import Deviation

Status = Literal["passed", "failed", "accepted-deviation", "not-run"]
CERTIFIED = "CERTIFIED"
CERTIFIED_WITH_DEVIATIONS = "CERTIFIED_WITH_DEVIATIONS"
NOT_CERTIFIED = "NOT_CERTIFIED"


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    requirements: tuple[str, ...]
    passed: bool
    ran: bool = True


@dataclass
class Judgement:
    verdict: str
    statuses: dict[str, Status]
    passed: list[str]
    failed: list[str]
    accepted: list[Deviation]
    expired: list[Deviation] = field(default_factory=list)  # would have covered a failure, but expired
    not_verified: list[str] = field(default_factory=list)  # cited only by checks that were not run

    def deviation_note(self, requirements: tuple[str, ...] | list[str]) -> str:
        """What a report says next to a check about the deviations that concern it."""
        notes = [
            f"accepted deviation {d.requirement} (owner {d.owner}, until {d.expires}): {d.reason}"
            for d in self.accepted
            if d.requirement in requirements
        ] + [
            f"deviation {d.requirement} EXPIRED on {d.expires} (owner {d.owner}): fails again"
            for d in self.expired
            if d.requirement in requirements
        ]
        return "; ".join(notes)

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "requirements": {"passed": self.passed, "failed": self.failed, "notVerified": self.not_verified},
            "acceptedDeviations": [deviation_json(d) for d in self.accepted],
            "expiredDeviations": [deviation_json(d) for d in self.expired],
        }


def deviation_json(deviation: Deviation) -> dict[str, str]:
    return {
        "requirement": deviation.requirement,
        "owner": deviation.owner,
        "reason": deviation.reason,
        "expires": deviation.expires.isoformat(),
    }


def judge(checks: list[CheckOutcome], deviations: tuple[Deviation, ...], today: date) -> Judgement:
    active = {d.requirement: d for d in deviations if d.active_on(today)}
    lapsed = {d.requirement: d for d in deviations if not d.active_on(today) and d.requirement not in active}
    statuses: dict[str, Status] = {}
    failed: set[str] = set()
    accepted: set[str] = set()
    expired: set[str] = set()
    cited: set[str] = set()
    unrun: set[str] = set()
    for check in checks:
        if not check.ran:
            statuses[check.name] = "not-run"
            unrun.update(check.requirements)
            continue
        cited.update(check.requirements)
        if check.passed:
            statuses[check.name] = "passed"
        elif check.requirements and all(rid in active for rid in check.requirements):
            statuses[check.name] = "accepted-deviation"
            accepted.update(check.requirements)
        else:
            statuses[check.name] = "failed"
            failed.update(check.requirements)
            expired.update(rid for rid in check.requirements if rid in lapsed)
    accepted -= failed
    if failed:
        verdict = NOT_CERTIFIED
    elif accepted:
        verdict = CERTIFIED_WITH_DEVIATIONS
    else:
        verdict = CERTIFIED
    return Judgement(
        verdict=verdict,
        statuses=statuses,
        passed=sorted(cited - failed - accepted),
        failed=sorted(failed),
        accepted=[active[rid] for rid in sorted(accepted)],
        expired=[lapsed[rid] for rid in sorted(expired)],
        not_verified=sorted(unrun - cited),
    )
