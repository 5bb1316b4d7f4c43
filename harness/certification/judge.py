"""The verdict: what each check came to, what each requirement comes to, and what that makes the
debtor system.

This module is the one vocabulary of every output (results.json, index.html, junit.xml, the console,
the certificate): the status names and their labels (`STATUS_LABELS`), the requirement outcomes and
theirs (`OUTCOME_LABELS`), and the verdicts, each spelt one way everywhere (`VERDICTS`).

A check ends PASSED, FAILED, ERROR (the harness's own code broke while running it, or the check ran but
could not exercise its target — fuzzing whose every request was refused with 401: either way no verdict
on the vendor's system; it is never a pass, and never blamed on the vendor), ACCEPTED
DEVIATION, NOT RUN (this target could not carry it out), NOT APPLICABLE (it concerns a capability the
profile declares absent, e.g. a B_03 scenario for EG) or WAITING (it did its part today and resumes on
the next bank day, in a certification session: sessions.py).

Every requirement a check cites, and every catalogue requirement the profile's capabilities rule out,
ends in exactly one outcome:
- VERIFIED, and how (against a vendor's system: in real time; against the harness's own simulator:
  on its virtual clock) — a check that ran and held cites it, and no check failed it;
- FAILED — a failed check blames it (a failed check blames all it cites unless it says which: a
  scenario blames what its failing step asserted, see scenarios.py; a probe the rule its failing
  assertion checks, where it names one, see probes.py);
- ACCEPTED DEVIATION — failed, but every requirement the failure blames is covered by a deviation of
  the profile that has not expired on the day of the run; never a pass;
- NOT APPLICABLE — the catalogue says it binds only systems with a capability (`requires:`) the profile
  does not declare; a check that cites it does not cite it for this profile, so it is never passed;
- WAITING, with when it resumes — a waiting check cites it and no check failed it; a waiting check may
  still fail it, so it is never verified meanwhile, even if another check held;
- NOT VERIFIED, with the reason — only checks that did not run, that ended in a harness ERROR, or a
  failed scenario that stopped before it got to it, cite it; or no check of the run cites it at all
  (`uncited`: every catalogue requirement that applies to the profile gets an outcome, so doing less —
  `--no-scenarios` — never makes a report look cleaner); or no behaviour of the system judged can break
  it (`unverifiable`: against a vendor's system, what the catalogue marks `vendor_unverified`), so a
  check that held proves nothing about it — a failure still fails it.
One failure without a deviation's cover makes the system NOT_CERTIFIED; so does a harness ERROR (what
the check was to show was not shown); otherwise a waiting check makes the run WAITING (no certificate
until the session is resumed and complete); accepted deviations alone make it CERTIFIED_WITH_DEVIATIONS;
nothing not run, not applicable, waiting or not verified ever counts as passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from contracts.profile import Deviation

Status = Literal["passed", "failed", "error", "accepted-deviation", "not-run", "not-applicable", "waiting"]
Outcome = Literal["verified", "failed", "accepted-deviation", "not-applicable", "not-verified", "waiting"]
CERTIFIED = "CERTIFIED"
CERTIFIED_WITH_DEVIATIONS = "CERTIFIED_WITH_DEVIATIONS"
NOT_CERTIFIED = "NOT_CERTIFIED"
WAITING = "WAITING"  # nothing failed, but a check waits for the next bank day: no certificate yet
VERDICTS = (CERTIFIED, CERTIFIED_WITH_DEVIATIONS, NOT_CERTIFIED, WAITING)  # spelt so in every output
# what a person reads for each status and outcome, in every output (the console, index.html, junit.xml)
STATUS_LABELS: dict[str, str] = {
    "passed": "PASSED",
    "failed": "FAILED",
    "error": "ERROR",
    "accepted-deviation": "ACCEPTED DEVIATION",
    "not-run": "NOT RUN",
    "not-applicable": "NOT APPLICABLE",
    "waiting": "WAITING",
}
OUTCOME_LABELS: dict[str, str] = {
    "verified": "VERIFIED",
    "failed": "FAILED",
    "accepted-deviation": "ACCEPTED DEVIATION",
    "not-applicable": "NOT APPLICABLE",
    "not-verified": "NOT VERIFIED",
    "waiting": "WAITING",
}
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
    reason: str = ""  # why it did not run, or does not apply, or (an error) what broke
    error: bool = False  # the harness's own code broke while running it: no verdict on the system
    # a failed check: the requirements its failure is evidence against (None: all it cites) …
    blamed: tuple[str, ...] | None = None
    # … and those it stopped before judging, or (passed or failed) never exercised: neither verified
    # nor failed by it
    unproven: tuple[str, ...] = ()
    waiting_until: str = ""  # it did its part and resumes then (RFC 3339): a session waits for it

    @property
    def status(self) -> Status:
        """What the check came to, before deviations are taken into account."""
        if not self.applicable:
            return "not-applicable"
        if self.waiting_until:
            return "waiting"
        if not self.ran:
            return "not-run"
        if self.error:
            return "error"
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
    waiting: list[str] = field(default_factory=list)  # cited by a check that waits for the next bank day
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
                "waiting": self.waiting,
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
    uncited: Mapping[str, str] | None = None,
    unverifiable: Mapping[str, str] | None = None,
) -> Judgement:
    """Judge the checks of one run. `not_applicable` maps each requirement the profile's capabilities
    rule out to the reason (`contracts.requirements.not_applicable`); `how` is how a requirement a check
    verified was verified; `uncited` maps every other catalogue requirement of the profile to why it
    is not verified should no check of the run decide it (coverage.py); `unverifiable` maps each
    requirement no behaviour of the system judged can break to the reason: a check that held does not
    verify it (`contracts.requirements.vendor_unverified`)."""
    cannot = dict(unverifiable or {})
    absent = dict(not_applicable or {})
    active = {d.requirement: d for d in deviations if d.active_on(today)}
    lapsed = {d.requirement: d for d in deviations if not d.active_on(today) and d.requirement not in active}
    statuses: dict[str, Status] = {}
    verified: dict[str, list[str]] = {}
    failed: dict[str, list[str]] = {}
    accepted: dict[str, list[str]] = {}
    unverified: dict[str, list[str]] = {}
    waiting: dict[str, list[tuple[str, str]]] = {}  # requirement → (check, when it resumes)
    expired: set[str] = set()
    for check in checks:
        cited = tuple(r for r in check.requirements if r not in absent)  # never cited where it cannot apply
        status = check.status
        if status == "not-applicable" or (check.requirements and not cited):
            statuses[check.name] = "not-applicable"
            continue
        if status == "waiting":
            statuses[check.name] = "waiting"
            for rid in cited:
                waiting.setdefault(rid, []).append((check.name, check.waiting_until))
            continue
        if status in ("not-run", "error"):
            statuses[check.name] = status
            default = "not run" if status == "not-run" else "harness error"
            for rid in cited:
                unverified.setdefault(rid, []).append(f"{check.name}: {check.reason or default}")
            continue
        if status == "passed":
            statuses[check.name] = "passed"
            for rid in cited:
                if rid in check.unproven:  # it held, but never exercised this one
                    reason = check.reason or "it did not exercise this requirement"
                    unverified.setdefault(rid, []).append(f"{check.name}: {reason}")
                else:
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
    for rid in set(verified) | set(failed) | set(accepted) | set(unverified) | set(waiting):
        if rid in failed:
            outcomes[rid] = RequirementOutcome(rid, "failed", tuple(failed[rid]))
        elif rid in accepted:
            outcomes[rid] = RequirementOutcome(rid, "accepted-deviation", tuple(accepted[rid]))
        elif rid in waiting:  # a waiting check may still fail it: never verified meanwhile
            reason = "; ".join(f"{name}: waiting, resumes {when}" for name, when in waiting[rid])
            outcomes[rid] = RequirementOutcome(rid, "waiting", tuple(n for n, _ in waiting[rid]), reason=reason)
        elif rid in verified and rid in cannot:
            outcomes[rid] = RequirementOutcome(rid, "not-verified", tuple(verified[rid]), reason=cannot[rid])
        elif rid in verified:
            outcomes[rid] = RequirementOutcome(rid, "verified", tuple(verified[rid]), how=how)
        else:
            outcomes[rid] = RequirementOutcome(rid, "not-verified", reason="; ".join(unverified[rid]))
    for rid, reason in (uncited or {}).items():
        if rid not in outcomes and rid not in absent:
            outcomes[rid] = RequirementOutcome(rid, "not-verified", reason=reason)
    for rid, reason in absent.items():
        outcomes[rid] = RequirementOutcome(rid, "not-applicable", reason=reason)

    def having(outcome: Outcome) -> list[str]:
        return sorted(rid for rid, o in outcomes.items() if o.outcome == outcome)

    if having("failed") or {"failed", "error"} & set(statuses.values()):  # a failure citing nothing still fails
        verdict = NOT_CERTIFIED
    elif "waiting" in statuses.values():  # nothing failed yet, but the session is not complete
        verdict = WAITING
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
        waiting=having("waiting"),
        how=how,
    )
