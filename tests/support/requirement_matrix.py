"""The requirement × misbehaviour matrix: for every requirement a certification against a vendor's
system can report as passed, a debtor system that breaks it (and as little else as possible), and the
check that catches it.

Which requirements need a row is derived, not listed: every requirement a check of a vendor-mode
certification cites (`harness.certification.selection.planned_checks`), less those the profile rules
out, those the catalogue marks `vendor_unverified` (reported not verified, with the reason), and those
cited only by checks that cannot run against a real system today (`NOT_RUN_AGAINST_A_VENDOR`: reported
not verified too). A requirement that spans several operations has a row per operation it governs.

`tests/vendor_mode/test_requirement_matrix.py` certifies each misbehaving system in vendor mode, limited
to the catching check (`only=`), and asserts NOT_CERTIFIED with the requirement failed.
`python -m tests.support.requirement_matrix` writes `docs/requirement-matrix.md`; a fast test in the
default suite fails when that document is out of date.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from contracts.municipalities import for_vendor
from contracts.profile import PROFILE_NAMES, profile_capabilities
from contracts.requirements import load_requirements, not_applicable, vendor_unverified
from harness.certification.probes import TEST_CONTROL_PROBE
from harness.certification.selection import planned_checks
from harness.certification.target import DEV_TOKEN
from harness.servers import ServerThread
from harness.topology import scoped_tokens
from simulators.debtor.misbehaviour import MISBEHAVIOURS, TEST_CONTROL_MISBEHAVIOURS
from tests.support.misbehaving import AsARealSystem, vendor_debtor
from tests.support.vendor_bugs import B01_B02, TEST_CONTROL_OPERATIONS, Bug, BuggyDebtor

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "requirement-matrix.md"
# the credential the vendor issued to its other municipalities, given to certification as --foreign-token
VENDOR_FOREIGN_TOKEN = "vendor-token-of-another-municipality"

# Checks that cite requirements but cannot run against a vendor's real system today, with why (a
# conforming vendor-mode certification shows them not run; the matrix test checks that).
NOT_RUN_AGAINST_A_VENDOR: dict[str, str] = {
    "payment-callback": "a payment must be made the day after registration (B_03) or arrive inside the vendor's "
    "own system (a bank transfer); a real system lives in real time",
    "pact betalingsloesning: ForetagIndbetaling of a payable sub-claim": "its provider state needs a day to pass",
    "pact betalingsloesning: SoegDelfordringTilIndbetaling for a citizen": "its provider state needs a day to pass",
}


@dataclass(frozen=True)
class Case:
    """One misbehaving debtor system: `bug` (a wrapper around the simulator) or `switch` (a simulator
    misbehaviour), the requirement it breaks, and the check that must catch it."""

    requirement: str
    check: str
    bug: Bug | None = None
    switch: str | None = None
    profile: str = "kmd-opus"
    test_control: bool = False  # the vendor declares test control (`oir certify --test-control`)

    @property
    def id(self) -> str:
        what = f"{self.bug.kind}{'@' + self.bug.operation if self.bug.operation else ''}" if self.bug else self.switch
        return f"{self.requirement}/{what}" + ("" if self.profile == "kmd-opus" else f"/{self.profile}")

    @property
    def misbehaviour(self) -> str:
        known = {**MISBEHAVIOURS, **TEST_CONTROL_MISBEHAVIOURS}
        return self.bug.describe() if self.bug else f"{known[self.switch or '']} (switch `{self.switch}`)"


def _every(requirement: str, kind: str, check: str, operations: tuple[str, ...] | None = None) -> list[Case]:
    """One row per operation the requirement governs: the bug in that operation only."""
    from tests.support.vendor_bugs import OPERATIONS

    return [Case(requirement, check, Bug(kind, operation)) for operation in operations or tuple(OPERATIONS)]


CASES: list[Case] = [
    # the header block, the municipality, problem+json, credentials: every operation
    *_every("MSG-HEADER-BLOCK", "header-optional", "header-block"),
    Case("MSG-MUNICIPALITY-CVR", "municipality-cvr", Bug("cvr-optional", "OpretDebitorkonto")),
    Case("MSG-MUNICIPALITY-CVR", "municipality-cvr", Bug("cvr-optional", "HentDebitorkonto")),
    *_every("MSG-PROBLEM-JSON", "500-on-bad-input", "problem-json"),
    *_every("MSG-CREDENTIALS", "no-token", "credentials"),
    Case("MSG-CREDENTIALS", "credentials", Bug("any-token")),
    *_every("ROUTE-CREDENTIALS", "foreign-token", "foreign-credentials"),
    # retries: every write operation a vendor-mode certification can carry out
    *_every("MSG-RETRY-HARMLESS", "retry-reprocessed", "retry-harmless", ("OpretDebitorkonto", "RetFordringTilstand")),
    # a liability change is the same however often it is applied: its bug is refusing the retry
    Case("MSG-RETRY-HARMLESS", "retry-harmless", Bug("retry-refused", "AendrHaeftelse")),
    # own municipality: every operation on an existing account
    *_every(
        "B01-OWN-ACCOUNTS-ONLY",
        "ignores-municipality",
        "own-accounts-only",
        tuple(o for o in B01_B02 if o != "OpretDebitorkonto"),
    ),
    Case("B01-CREATE-ACCOUNT", "registration", Bug("create-not-stored")),
    Case("B02-LIST", "registration", Bug("list-empty")),
    Case("B02-LOOKUP", "registration", Bug("balance-in-kroner")),
    Case(
        "MSG-CONTRACT-ANSWERS",
        "schemathesis response_schema_conformance",
        Bug("answer-off-contract", "HentDebitorkonto"),
    ),
    Case("MSG-CONTRACT-REQUESTS", "schemathesis negative_data_rejection", Bug("accepts-invalid", "OpretDebitorkonto")),
    Case("MSG-MONEY-OERE", "bad-input", Bug("accepts-zero-amount", "OpretDebitorkonto")),
    Case("ID-CPR-FORMAT", "bad-input", Bug("cpr-date-unchecked", "OpretDebitorkonto")),
    Case("ID-CPR-NO-MOD11", "cpr-without-modulus-11", Bug("modulus-11-enforced", "OpretDebitorkonto")),
    Case("B01-SORTIMENT", "unknown-product", Bug("sortiment-unchecked", "OpretDebitorkonto")),
    Case("B01-ADD-CLAIMS", "further-claims", Bug("further-claims-ignored", "OpretDebitorkonto")),
    Case("ID-CVR-MOD11", "cvr-modulus-11", Bug("cvr-check-digit-unchecked", "OpretDebitorkonto")),
    Case("B01-CLAIM-ONCE", "retry-harmless", Bug("claim-registered-twice", "OpretDebitorkonto")),
    Case("B01-WRITE-DOWN", "write-down-annul", switch="ignore_write_down"),
    Case("B01-ANNUL", "write-down-annul", switch="ignore_annulment"),
    Case("B01-CHANGE-LIABLE", "scenario cpr-change", switch="ignore_liability_change"),
    Case("B01R-ACCOUNT-CLOSED", "scenario annulment-closes-the-account", switch="drop_callbacks"),
    Case("PROFILE-B03-CAPABILITY", "payment-capability", Bug("b03-missing")),
    Case("B03-SEARCH", "payment-capability", Bug("search-malformed", "SoegDelfordringTilIndbetaling")),
    Case("B03-ABSENT-NO-PAY-BUTTON", "payment-capability", Bug("b03-offered"), profile="eg"),
]


# A vendor that declares test control (oir-testkontrol-v1) is judged on it too: the `test-control` probe,
# which runs only then, cites the TC-* requirements and blames the one its failing assertion checks. Each
# misbehaving test control is certified in vendor mode with `--test-control`, limited to that probe.
TEST_CONTROL_CHECK = TEST_CONTROL_PROBE


def _tc(requirement: str, bug: Bug | None = None, switch: str | None = None) -> Case:
    return Case(requirement, TEST_CONTROL_CHECK, bug, switch, test_control=True)


TEST_CONTROL_CASES: list[Case] = [
    *(_tc("TC-AUTH", Bug("no-token", operation)) for operation in TEST_CONTROL_OPERATIONS),
    _tc("TC-BUSINESS-DATE", Bug("date-backwards", "FremrykForretningsdato")),
    _tc("TC-ADVANCE-RUNS-JOBS", switch="advance_in_one_jump"),
    _tc("TC-BANK-TRANSFER", Bug("transfer-not-booked", "BogfoerBankindbetaling")),
    _tc("TC-SENT-MESSAGES", Bug("sent-listed-twice", "HentAfsendteMeddelelser")),
    _tc("TC-SENT-MESSAGES", Bug("sent-cpr-unmasked", "HentAfsendteMeddelelser")),
]


def requirements_of_test_control() -> list[str]:
    """What a vendor that declares test control can have reported passed besides the rest: the TC-*
    requirements the `test-control` probe cites."""
    from harness.certification.probes import PROBES

    return next(list(requirements) for name, requirements, _ in PROBES if name == TEST_CONTROL_CHECK)


def vendor_verifiable(profile: str) -> dict[str, list[str]]:
    """Each requirement a vendor-mode certification of `profile` can report as passed, with the checks
    that cite it there (derived from the checks' citations)."""
    unverifiable = vendor_unverified()
    found: dict[str, list[str]] = {}
    for check in planned_checks(profile, vendor=True):
        if check.name in NOT_RUN_AGAINST_A_VENDOR:
            continue
        for requirement in check.requirements:
            if requirement not in unverifiable:
                found.setdefault(requirement, []).append(check.name)
    return found


def not_verified(profile: str) -> dict[str, str]:
    """What a vendor-mode certification of `profile` cites but never reports passed, with why."""
    verifiable = vendor_verifiable(profile)
    absent = not_applicable(profile_capabilities(profile))
    reasons: dict[str, str] = {}
    for check in planned_checks(profile, vendor=True):
        for requirement in check.requirements:
            if requirement in verifiable or requirement in absent:
                continue
            if requirement in vendor_unverified():
                reasons[requirement] = vendor_unverified()[requirement]
            elif check.name in NOT_RUN_AGAINST_A_VENDOR:
                reasons.setdefault(
                    requirement,
                    f"only checks not run against a vendor cite it "
                    f"({check.name}: {NOT_RUN_AGAINST_A_VENDOR[check.name]})",
                )
    return reasons


@contextmanager
def misbehaving_system(
    case: Case | None, profile: str, *, psrm_port: int, callback_port: int
) -> Iterator[ServerThread]:
    """The debtor system of `case` (None: a conforming one) as a vendor's real test system: its own
    server, configured for a certification run's PSRM and callback ports, with the harness's token
    (acting for every municipality of the vendor) and another municipality's token."""
    municipalities = for_vendor(profile)
    tokens = scoped_tokens({VENDOR_FOREIGN_TOKEN: tuple(m.cvr for m in municipalities[1:])})
    settings = {"misbehaviour": case.switch} if case and case.switch else {}
    app = vendor_debtor(profile, psrm_port=psrm_port, callback_port=callback_port, tokens=tokens, **settings)
    if case and case.bug:
        app = BuggyDebtor(
            app, case.bug, owner_cvr=municipalities[0].cvr, token=DEV_TOKEN, foreign_token=VENDOR_FOREIGN_TOKEN
        )
    with ServerThread(
        AsARealSystem(app), name=f"vendor-{case.id if case else 'conforming'}", log_level="critical"
    ) as server:
        yield server


# Requirements judged on what the whole run observed rather than by one check the matrix can limit a run
# to: each is failed by a misbehaving vendor in its own vendor-mode test, named here.
PROVEN_ELSEWHERE: dict[str, tuple[str, str]] = {
    "PROFILE-ANSWER-TIME": (
        "answers slower than the profile's limit (KMD Opus with its limit set to 4 s; one answer 5 s late)",
        "tests/vendor_mode/test_answer_time_and_sent_messages.py::"
        "test_an_answer_beyond_the_limit_fails_only_the_answer_time_requirement",
    ),
    "B01R-EXACTLY-ONCE": (
        "sends a callback no check awaited twice, under a new message id (the same money)",
        "tests/vendor_mode/test_answer_time_and_sent_messages.py::"
        "test_a_duplicate_callback_no_check_awaited_fails_exactly_once",
    ),
}


def document() -> str:
    """The matrix as Markdown (docs/requirement-matrix.md)."""
    catalogue = load_requirements()
    lines = [
        "# Requirement × misbehaviour matrix",
        "",
        "Generated by `python -m tests.support.requirement_matrix` from `tests/support/requirement_matrix.py`;",
        "`tests/unit/test_requirement_matrix_document.py` fails when this file is out of date, and",
        "`tests/vendor_mode/test_requirement_matrix.py` certifies each misbehaving system below **in vendor mode**",
        "(the simulator wrapped as a vendor's real system, limited to the catching check) and asserts",
        "NOT_CERTIFIED with the requirement among the failed ones.",
        "",
    ]
    verifiable = {p: vendor_verifiable(p) for p in PROFILE_NAMES}
    requirements = sorted({r for found in verifiable.values() for r in found})
    caught = {c.requirement for c in CASES}
    lines += [
        f"Requirements a certification against a vendor can report as passed: **{len(requirements)}**; "
        f"misbehaviours: **{len(CASES)}**; "
        f"requirements with a misbehaviour caught: **{len(caught & set(requirements))}**.",
        "",
        "| requirement | profile | misbehaviour of the debtor system | caught by |",
        "|---|---|---|---|",
    ]
    order = {rid: i for i, rid in enumerate(catalogue)}
    for case in sorted(CASES, key=lambda c: (order.get(c.requirement, 0), c.id)):
        lines.append(f"| {case.requirement} | {case.profile} | {case.misbehaviour} | `{case.check}` |")
    tc_requirements = requirements_of_test_control()
    tc_caught = {c.requirement for c in TEST_CONTROL_CASES}
    lines += [
        "",
        "## A vendor that declares test control",
        "",
        "A vendor whose test system offers test control (`oir certify --test-control`, "
        "`contracts/openapi/oir-testkontrol-v1.yaml`) is judged on it by the `test-control` probe, which blames "
        "the requirement its failing assertion checks. Each misbehaving test control below is certified in "
        "vendor mode with test control declared, limited to that probe.",
        "",
        f"Requirements: **{len(tc_requirements)}**; misbehaviours: **{len(TEST_CONTROL_CASES)}**; "
        f"requirements with a misbehaviour caught: **{len(tc_caught & set(tc_requirements))}**.",
        "",
        "| requirement | profile | misbehaviour of the test control | caught by |",
        "|---|---|---|---|",
    ]
    for case in sorted(TEST_CONTROL_CASES, key=lambda c: (order.get(c.requirement, 0), c.id)):
        lines.append(f"| {case.requirement} | {case.profile} | {case.misbehaviour} | `{case.check}` |")
    lines += [
        "",
        "Judged on what the whole run observed (answer times, every message the vendor sent), so failed in a",
        "vendor-mode test of their own rather than by limiting a run to one check:",
        "",
        "| requirement | misbehaviour of the debtor system | test |",
        "|---|---|---|",
    ]
    for requirement, (misbehaviour, test) in PROVEN_ELSEWHERE.items():
        lines.append(f"| {requirement} | {misbehaviour} | `{test}` |")
    lines += [
        "",
        "## Not verified against a vendor",
        "",
        "Cited by checks of a vendor-mode certification, but never reported passed there: NOT VERIFIED, with the",
        "reason.",
        "",
        "| requirement | profiles | reason |",
        "|---|---|---|",
    ]
    reasons: dict[str, tuple[list[str], str]] = {}
    for profile in PROFILE_NAMES:
        for requirement, reason in not_verified(profile).items():
            reasons.setdefault(requirement, ([], reason))[0].append(profile)
    for requirement in sorted(reasons, key=lambda r: order.get(r, 0)):
        profiles, reason = reasons[requirement]
        shown = "all" if len(profiles) == len(PROFILE_NAMES) else ", ".join(profiles)
        lines.append(f"| {requirement} | {shown} | {reason} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = document()
    if "--check" in argv:
        current = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
        if current != text:
            print(f"{DOCUMENT} is out of date: run python -m tests.support.requirement_matrix", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
