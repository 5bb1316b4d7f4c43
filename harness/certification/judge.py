"""The verdict: what each check came to, what each requirement comes to, and what that makes the
debtor system.

A check ends PASSED, FAILED, ACCEPTED DEVIATION, NOT RUN (this target could not carry it out) or NOT
APPLICABLE (it concerns a capability the profile declares absent, e.g. a B_03 scenario for EG).

Every requirement a check cites, and every catalogue requirement the profile's capabilities rule out,
ends in exactly one outcome:
- VERIFIED, and how (against a vendor's system: in real time; against the harness's own simulator:
  on its virtual clock) — a check that ran and held cites it, and no check failed it;
- FAILED — a failed check blames it (a failed check blames all it cites unless it says which: a
  scenario blames what its failing step asserted, see scenarios.py);
- ACCEPTED DEVIATION — failed, but every requirement the failure blames is covered by a deviation of
  the profile that has not expired on the day of the run; never a pass;
- NOT APPLICABLE — the catalogue says it binds only systems with a capability (`requires:`) the profile
  does not declare; a check that cites it does not cite it for this profile, so it is never passed;
- NOT VERIFIED, with the reason — only checks that did not run, or a failed scenario that stopped
  before it got to it, cite it.
One failure without a deviation's cover makes the system NOT_CERTIFIED; accepted deviations alone make
it CERTIFIED_WITH_DEVIATIONS; nothing not run, not applicable or not verified ever counts as passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from contracts.profile import Deviation

Status = Literal["passed", "failed", "accepted-deviation", "not-run", "not-applicable"]
Outcome = Literal["verified", "failed", "accepted-deviation", "not-applicable", "not-verified"]
CERTIFIED = "CERTIFIED"
CERTIFIED_WITH_DEVIATIONS = "CERTIFIED_WITH_DEVIATIONS"
NOT_CERTIFIED = "NOT_CERTIFIED"
REAL_TIME = "real time"  # verified against a vendor's system as time really passes
SIMULATOR_TIME = "simulator's virtual time"  # verified against the harness's own simulator of the profile
TEST_CLOCK = "vendor's test clock"  # verified against a vendor's system whose test control moved its business date


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    requirements: tuple[str, ...]  # every requirement the check cites
    passed: bool
    ran: bool = True
    applicable: bool = True  # False: the check concerns a capability the profile declares absent
    reason: str = ""  # why it did not run, or does not apply
    # a failed check: the requirements its failure is evidence against (None: all it cites) …
    blamed: tuple[str, ...] | None = None
    # … and those it stopped before judging (neither verified nor failed by it)
    unproven: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        """What the check came to, before deviations are taken into account."""
        if not self.applicable:
            return "not-applicable"
        if not self.ran:
            return "not-run"
        return "passed" if self.passed else "failed"


@dataclass(frozen=True)
class RequirementOutcome:
    id: str
    outcome: Outcome
    checks: tuple[str, ...] = ()  # the checks that decided it
    how: str = ""  # verified: how (REAL_TIME, SIMULATOR_TIME)
    reason: str = ""  # not applicable / not verified: why

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "outcome": self.outcome, "checks": list(self.checks)}
        if self.how:
            data["how"] = self.how
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass
class Judgement:
    verdict: str
    statuses: dict[str, Status]
    passed: list[str]  # verified
    failed: list[str]
    accepted: list[Deviation]
    expired: list[Deviation] = field(default_factory=list)  # would have covered a failure, but expired
    not_verified: list[str] = field(default_factory=list)  # cited only by checks that were not run (or got that far)
    not_applicable: list[str] = field(default_factory=list)  # the profile declares the capability absent
    outcomes: dict[str, RequirementOutcome] = field(default_factory=dict)  # every requirement, by ID
    how: str = REAL_TIME

    def outcome(self, requirement: str) -> RequirementOutcome | None:
        return self.outcomes.get(requirement)

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
            "requirements": {
                "passed": self.passed,  # verified (`outcomes` says how)
                "failed": self.failed,
                "notApplicable": self.not_applicable,
                "notVerified": self.not_verified,
                "outcomes": [o.as_json() for _, o in sorted(self.outcomes.items())],
            },
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


def judge(
    checks: list[CheckOutcome],
    deviations: tuple[Deviation, ...],
    today: date,
    *,
    not_applicable: Mapping[str, str] | None = None,
    how: str = REAL_TIME,
) -> Judgement:
    """Judge the checks of one run. `not_applicable` maps each requirement the profile's capabilities
    rule out to the reason (`contracts.requirements.not_applicable`); `how` is how a requirement a check
    verified was verified."""
    absent = dict(not_applicable or {})
    active = {d.requirement: d for d in deviations if d.active_on(today)}
    lapsed = {d.requirement: d for d in deviations if not d.active_on(today) and d.requirement not in active}
    statuses: dict[str, Status] = {}
    verified: dict[str, list[str]] = {}
    failed: dict[str, list[str]] = {}
    accepted: dict[str, list[str]] = {}
    unverified: dict[str, list[str]] = {}
    expired: set[str] = set()
    for check in checks:
        cited = tuple(r for r in check.requirements if r not in absent)  # never cited where it cannot apply
        status = check.status
        if status == "not-applicable" or (check.requirements and not cited):
            statuses[check.name] = "not-applicable"
            continue
        if status == "not-run":
            statuses[check.name] = "not-run"
            for rid in cited:
                unverified.setdefault(rid, []).append(f"{check.name}: {check.reason or 'not run'}")
            continue
        if status == "passed":
            statuses[check.name] = "passed"
            for rid in cited:
                verified.setdefault(rid, []).append(check.name)
            continue
        blamed = tuple(r for r in (cited if check.blamed is None else check.blamed) if r in cited)
        unproven = tuple(r for r in check.unproven if r in cited and r not in blamed)
        if blamed and all(rid in active for rid in blamed):
            statuses[check.name] = "accepted-deviation"
            for rid in blamed:
                accepted.setdefault(rid, []).append(check.name)
        else:
            statuses[check.name] = "failed"
            for rid in blamed:
                failed.setdefault(rid, []).append(check.name)
            expired.update(rid for rid in blamed if rid in lapsed)
        for rid in unproven:
            reason = check.reason or "it stopped before it got to this requirement"
            unverified.setdefault(rid, []).append(f"{check.name}: {reason}")
        for rid in cited:
            if rid not in blamed and rid not in unproven:
                verified.setdefault(rid, []).append(check.name)

    outcomes: dict[str, RequirementOutcome] = {}
    for rid in set(verified) | set(failed) | set(accepted) | set(unverified):
        if rid in failed:
            outcomes[rid] = RequirementOutcome(rid, "failed", tuple(failed[rid]))
        elif rid in accepted:
            outcomes[rid] = RequirementOutcome(rid, "accepted-deviation", tuple(accepted[rid]))
        elif rid in verified:
            outcomes[rid] = RequirementOutcome(rid, "verified", tuple(verified[rid]), how=how)
        else:
            outcomes[rid] = RequirementOutcome(rid, "not-verified", reason="; ".join(unverified[rid]))
    for rid, reason in absent.items():
        outcomes[rid] = RequirementOutcome(rid, "not-applicable", reason=reason)

    def having(outcome: Outcome) -> list[str]:
        return sorted(rid for rid, o in outcomes.items() if o.outcome == outcome)

    if having("failed") or "failed" in statuses.values():  # a failure citing nothing still fails
        verdict = NOT_CERTIFIED
    elif having("accepted-deviation"):
        verdict = CERTIFIED_WITH_DEVIATIONS
    else:
        verdict = CERTIFIED
    return Judgement(
        verdict=verdict,
        statuses=statuses,
        passed=having("verified"),
        failed=having("failed"),
        accepted=[active[rid] for rid in having("accepted-deviation")],
        expired=[lapsed[rid] for rid in sorted(expired)],
        not_verified=having("not-verified"),
        not_applicable=having("not-applicable"),
        outcomes=outcomes,
        how=how,
    )
